/**
 * The built-in media server against real UDP sockets on loopback: RTP timing and header fields
 * (RFC 3550 §5.1), sources (ringback cadence, comfort noise, music from a WAV generated here),
 * SDP offer/answer.
 * RTCP, latching, the mixer and the worker restart: media-rtcp-latching.test.ts, media-mixer.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { MediaNegotiationError } from '../../src/media/media-server.js';
import { parseSdp } from '../../src/media/sdp.js';
import { createBuiltinMediaServer } from '../../src/media/builtin/index.js';
import { MediaFixture, randomPortRange } from '../helpers/media.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { waitFor } from '../helpers/wait.js';

let fx: MediaFixture;
const peer = (): Promise<RtpPeer> => fx.peer();
const endpoint = () => fx.endpoint();

beforeAll(async () => {
  fx = await MediaFixture.start();
});
afterEach(() => fx.cleanup());
afterAll(() => fx?.close());

describe('built-in media endpoint', () => {
  it('answers an offer and sends 50 packets a second: consecutive sequence numbers, timestamps +160, marker first, one SSRC', async () => {
    const p = await peer();
    const ep = await endpoint();
    const answer = await ep.answer(p.sdp('8 0 101'));
    const s = parseSdp(answer);
    expect(s.connection?.ip).toBe('127.0.0.1');
    expect(s.media[0].port).toBe(ep.port);
    expect(s.media[0].payloads).toBe('8 101');
    expect(s.media[0].direction).toBe('sendrecv');
    expect(s.media[0].ptime).toBe(20);

    await waitFor(() => p.rtp.length >= 51, { what: '51 RTP packets', timeoutMs: 3000 });
    const t0 = p.rtp[0].at;
    await waitFor(() => p.rtp.length > 0 && performance.now() - t0 >= 2000, { what: '2 s of RTP', timeoutMs: 4000 });
    const window = p.rtp.filter((r) => r.at - t0 < 2000);
    // 100 in 2 s; a loaded machine may stall the worker past the 100 ms resync (ticks skipped).
    expect(window.length).toBeGreaterThanOrEqual(90);
    expect(window.length).toBeLessThanOrEqual(102);
    expect(new Set(p.rtp.map((r) => r.ssrc)).size).toBe(1);
    expect(p.rtp[0].marker).toBe(true);
    expect(p.rtp.slice(1).every((r) => !r.marker)).toBe(true);
    for (let i = 1; i < p.rtp.length; i++) {
      expect(p.rtp[i].sequence).toBe((p.rtp[i - 1].sequence + 1) & 0xffff);
      expect(p.rtp[i].timestamp).toBe((p.rtp[i - 1].timestamp + 160) >>> 0);
    }
    expect(p.rtp.every((r) => r.payloadType === 8 && r.payload.length === 160)).toBe(true);
    // Silence in A-law is 0xD5.
    expect(p.rtp.every((r) => r.payload.every((b) => b === 0xd5))).toBe(true);
    expect(p.rtp[0].from).toBe(`127.0.0.1:${ep.port}`);
  });

  it('plays ringback with the US cadence (440 + 480 Hz for 2 s, then silence) and marks the new talkspurt', async () => {
    const p = await peer();
    const ep = await endpoint();
    await ep.answer(p.sdp('0'));
    await waitFor(() => p.rtp.length >= 3, 'first packets');
    await ep.play({ kind: 'ringback' });
    const start = p.rtp.length;
    await waitFor(() => p.rtp.length >= start + 110, { what: '2.2 s of ringback', timeoutMs: 5000 });
    const after = p.rtp.slice(start);
    const firstTone = after.findIndex((r) => r.marker);
    expect(firstTone).toBeGreaterThanOrEqual(0);
    const on = RtpPeer.decode(after.slice(firstTone, firstTone + 50));
    expect(goertzelPower(on, 440)).toBeGreaterThan(1e5);
    expect(goertzelPower(on, 480)).toBeGreaterThan(1e5);
    expect(goertzelPower(on, 1000)).toBeLessThan(1e3);
    const off = RtpPeer.decode(after.slice(firstTone + 101, firstTone + 110));
    expect(goertzelPower(off, 440)).toBeLessThan(1e3);
  });

  it('plays the music-on-hold WAV (a 1 kHz tone here)', async () => {
    const p = await peer();
    const ep = await endpoint();
    await ep.answer(p.sdp('0 8'));
    await ep.play({ kind: 'music' });
    await waitFor(() => p.rtp.some((r) => r.marker && r !== p.rtp[0]) || p.rtp.length > 60, 'music');
    const from = p.rtp.map((r) => r.marker).lastIndexOf(true);
    await waitFor(() => p.rtp.length >= from + 30, 'music packets');
    const pcm = RtpPeer.decode(p.rtp.slice(from, from + 30));
    expect(goertzelPower(pcm, 1000)).toBeGreaterThan(1e6);
    expect(goertzelPower(pcm, 440)).toBeLessThan(1e4);
  });

  it('plays comfort noise: a new talkspurt (marker), low-level (peak ≤ 48 of 32767) and not silent', async () => {
    const p = await peer();
    const ep = await endpoint();
    await ep.answer(p.sdp('0'));
    await waitFor(() => p.rtp.length >= 3, 'first packets');
    const start = p.rtp.length;
    await ep.play({ kind: 'comfort-noise' });
    await waitFor(() => p.rtp.slice(start).some((r) => r.marker), 'the comfort-noise talkspurt');
    const from = start + p.rtp.slice(start).findIndex((r) => r.marker);
    await waitFor(() => p.rtp.length >= from + 25, 'comfort-noise packets');
    const pcm = RtpPeer.decode(p.rtp.slice(from, from + 25));
    const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(48);
    expect(new Set(pcm).size).toBeGreaterThan(4);
  });

  it('offers PCMU, PCMA and telephone-event on its port; the answer sets codec and destination', async () => {
    const p = await peer();
    const ep = await endpoint();
    const offer1 = parseSdp(await ep.createOffer());
    expect(offer1.media[0].payloads).toBe('0 8 101');
    expect(offer1.media[0].port).toBe(ep.port);
    expect(offer1.media[0].fmtp).toEqual([{ payload: 101, config: '0-16' }]);
    expect(p.rtp).toHaveLength(0);
    await ep.acceptAnswer(p.sdp('8 101'));
    await waitFor(() => p.rtp.length >= 5, 'RTP after the answer');
    expect(p.rtp.every((r) => r.payloadType === 8)).toBe(true);
    const offer2 = parseSdp(await ep.createOffer());
    expect(offer2.origin.sessionId).toBe(offer1.origin.sessionId);
    expect(Number(offer2.origin.sessionVersion)).toBe(Number(offer1.origin.sessionVersion) + 1);
    expect((await ep.stats()).payloadType).toBe(8);
  });

  it('answers a sendonly (hold) offer recvonly and sends nothing; resumes with a marker on sendrecv', async () => {
    const p = await peer();
    const ep = await endpoint();
    const a = parseSdp(await ep.answer(p.sdp('0', 'sendonly')));
    expect(a.media[0].direction).toBe('recvonly');
    const inactive = parseSdp(await ep.answer(p.sdp('0', 'inactive')));
    expect(inactive.media[0].direction).toBe('inactive');
    expect(Number(inactive.origin.sessionVersion)).toBe(Number(a.origin.sessionVersion) + 1);
    const stats = await ep.stats();
    expect(stats.packetsSent).toBe(0);
    expect(p.rtp).toHaveLength(0);
    await ep.answer(p.sdp('0', 'sendrecv'));
    await waitFor(() => p.rtp.length >= 2, 'RTP after resume');
    expect(p.rtp[0].marker).toBe(true);
  });

  it('rejects SDP it cannot negotiate with MediaNegotiationError', async () => {
    const p = await peer();
    const ep = await endpoint();
    await expect(ep.answer('hello')).rejects.toBeInstanceOf(MediaNegotiationError);
    await expect(ep.answer(p.sdp('18'))).rejects.toBeInstanceOf(MediaNegotiationError);
    await expect(ep.acceptAnswer(p.sdp('101'))).rejects.toBeInstanceOf(MediaNegotiationError);
  });

  it('frees its ports at close and counts open endpoints', async () => {
    const before = fx.server.openEndpoints;
    const ep = await fx.server.createEndpoint('x');
    expect(fx.server.openEndpoints).toBe(before + 1);
    await ep.close();
    await ep.close();
    expect(fx.server.openEndpoints).toBe(before);
    await expect(ep.play({ kind: 'silence' })).rejects.toThrow(/closed/);
  });

  it('takes even RTP ports of rtp-port-range and says so clearly when none is free', async () => {
    const { portMin } = randomPortRange();
    const small = await createBuiltinMediaServer({
      bindAddress: '127.0.0.1',
      mediaAddress: '127.0.0.1',
      portMin: portMin + 1,
      portMax: portMin + 4,
      ringbackTone: 'us',
      musicFile: undefined,
    });
    try {
      const a = await small.createEndpoint('a');
      expect(a.port).toBe(portMin + 2);
      await expect(small.createEndpoint('b')).rejects.toThrow(
        `no free RTP port pair in rtp-port-range ${portMin + 2}-${portMin + 3} on 127.0.0.1`,
      );
      await a.close();
      expect((await small.createEndpoint('c')).port).toBe(portMin + 2);
    } finally {
      await small.close();
    }
  });
});
