/**
 * The built-in media server's RTCP (sender reports, BYE at close; RFC 3550 §6.4.1, §6.6),
 * RFC 4733 telephone-events, symmetric RTP latching with foreign sources rejected, freed ports,
 * and the worker restart, with real UDP sockets on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindUdp } from '../../src/media/builtin/port-allocator.js';
import { RTCP_BYE, RTCP_SDES, RTCP_SR } from '../../src/media/builtin/rtcp.js';
import { MediaFixture } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

let fx: MediaFixture;
beforeAll(async () => {
  fx = await MediaFixture.start();
});
afterEach(() => fx.cleanup());
afterAll(() => fx?.close());

const SILENCE = new Uint8Array(160).fill(0xff);

async function canBind(port: number): Promise<boolean> {
  const s = await bindUdp(port, '127.0.0.1');
  s?.close();
  return s !== undefined;
}

describe('RTCP', () => {
  it('sends a sender report with NTP time, RTP timestamp and counts to RTP port + 1 within 7 s', async () => {
    const { peer } = await fx.connected('0');
    const [sr, sdes] = await waitFor(() => peer.rtcp[0], { what: 'an RTCP SR', timeoutMs: 7000 });
    expect(sr.packetType).toBe(RTCP_SR);
    expect(sr.count).toBe(0);
    expect(sr.body.length).toBe(28);
    expect(sr.ssrc).toBe(peer.rtp[0].ssrc);
    const ntpSeconds = sr.body.readUInt32BE(8) - 2_208_988_800;
    expect(Math.abs(ntpSeconds - Date.now() / 1000)).toBeLessThan(2);
    const rtpTs = sr.body.readUInt32BE(16);
    const last = peer.rtp[peer.rtp.length - 1];
    // RFC 3550 §6.4.1: the SR's RTP timestamp is the stream's clock at the NTP instant: on the
    // stream's 160-sample grid here, within a few packets of the last one received (RTP may go on
    // arriving after the SR was sent, so the difference can be negative; compare signed 32-bit).
    expect(((rtpTs - peer.rtp[0].timestamp) >>> 0) % 160).toBe(0);
    expect(Math.abs((rtpTs - last.timestamp) | 0)).toBeLessThanOrEqual(480);
    const packets = sr.body.readUInt32BE(20);
    expect(Math.abs(packets - peer.rtp.length)).toBeLessThanOrEqual(2);
    expect(sr.body.readUInt32BE(24)).toBe(packets * 160);
    expect(sdes.packetType).toBe(RTCP_SDES);
  });

  it('sends SR + BYE at close and frees both ports', async () => {
    const { ep, peer } = await fx.connected('0');
    await waitFor(() => peer.rtp.length >= 3, 'RTP');
    const port = ep.port;
    expect(await canBind(port)).toBe(false);
    await ep.close();
    const compound = await waitFor(() => peer.rtcp.find((c) => c.some((p) => p.packetType === RTCP_BYE)), 'RTCP BYE');
    expect(compound[0].packetType).toBe(RTCP_SR);
    expect(compound.find((p) => p.packetType === RTCP_BYE)?.ssrc).toBe(peer.rtp[0].ssrc);
    expect(await canBind(port)).toBe(true);
    expect(await canBind(port + 1)).toBe(true);
    const count = peer.rtp.length;
    await new Promise<void>((r) => setTimeout(r, 100)); // nothing may follow the BYE
    expect(peer.rtp.length).toBe(count);
  });
});

describe('receiving', () => {
  it('counts RFC 4733 telephone-events (never played) and audio packets', async () => {
    const { ep, peer } = await fx.connected('0 101');
    const event = Buffer.from([5, 0x0a, 0x00, 0xa0]); // digit 5, volume 10, duration 160
    for (let i = 0; i < 3; i++) peer.send(ep.port, 101, 100 + i, 8000, 0x1234, event, i === 0);
    for (let i = 0; i < 2; i++) peer.send(ep.port, 0, 103 + i, 8160 + i * 160, 0x1234, SILENCE);
    const stats = await waitFor(async () => {
      const s = await ep.stats();
      return s.packetsReceived === 5 && s;
    }, 'five packets received');
    expect(stats.telephoneEvents).toBe(3);
    expect(stats.packetsRejected).toBe(0);
  });

  it('latches to the source of the first valid packet and rejects other sources without moving the stream', async () => {
    const { ep, peer: sdpPeer } = await fx.connected('0');
    await waitFor(() => sdpPeer.rtp.length >= 2, 'RTP to the SDP address');
    const natted = await fx.peer();
    const intruder = await fx.peer();
    // Not RTP, and RTP with a payload type not negotiated: ignored, no latching.
    intruder.send(ep.port, 18, 1, 0, 0x999, SILENCE);
    intruder.sendRaw(ep.port, Buffer.from('garbage, not RTP'));
    natted.send(ep.port, 0, 1, 0, 0xabc, SILENCE);
    await waitFor(() => natted.rtp.length >= 3, 'RTP latched to where the peer sends from');
    expect((await ep.stats()).remote).toBe(`127.0.0.1:${natted.port}`);
    const sdpCount = sdpPeer.rtp.length;
    for (let i = 0; i < 5; i++) intruder.send(ep.port, 0, 10 + i, 1600 + i * 160, 0x999, SILENCE);
    const stats = await waitFor(async () => {
      const s = await ep.stats();
      return s.packetsRejected === 5 && s;
    }, 'five rejected packets');
    expect(stats.remote).toBe(`127.0.0.1:${natted.port}`);
    expect(stats.packetsReceived).toBe(1);
    const before = natted.rtp.length;
    await waitFor(() => natted.rtp.length >= before + 5, 'RTP still to the latched source');
    expect(intruder.rtp).toHaveLength(0);
    expect(sdpPeer.rtp.length).toBeLessThanOrEqual(sdpCount + 1);
  });

  it('survives random datagrams on its RTP and RTCP ports (no worker restart, the stream goes on)', async () => {
    const { ep, peer } = await fx.connected('0 101');
    peer.send(ep.port, 0, 1, 0, 0x77, SILENCE); // latched to the real peer first
    await waitFor(async () => (await ep.stats()).packetsReceived === 1, 'latched');
    const junk = await fx.peer();
    for (let i = 0; i < 400; i++) {
      const b = Buffer.alloc(Math.floor(Math.random() * 200));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(Math.random() * 256);
      if (b.length > 1 && i % 2 === 0) b[0] = 0x80 | (b[0] & 0x3f); // version 2: reaches the header parser
      junk.sendRaw(ep.port + (i % 4 === 0 ? 1 : 0), b);
    }
    // Well-formed RTP of the negotiated payload type from the wrong source: dropped and counted.
    // Sent until counted: the burst above may have filled the socket's receive buffer, where the
    // kernel drops what does not fit.
    let seq = 100;
    await waitFor(async () => {
      junk.send(ep.port, 0, seq, 160 * (seq - 100), 0x99, SILENCE);
      seq++;
      return (await ep.stats()).packetsRejected > 0;
    }, 'RTP from the wrong source rejected');
    const before = peer.rtp.length;
    await waitFor(() => peer.rtp.length >= before + 10, 'RTP still flowing');
    expect(fx.server.workerRestarts).toBe(0);
    const stats = await ep.stats();
    expect(stats.remote).toBe(`127.0.0.1:${peer.port}`);
    expect(junk.rtp).toHaveLength(0);
  });

  it('unlatches when a new SDP gives another address', async () => {
    const { ep } = await fx.connected('0');
    const natted = await fx.peer();
    natted.send(ep.port, 0, 1, 0, 0xabc, SILENCE);
    await waitFor(() => natted.rtp.length >= 1, 'latched');
    const moved = await fx.peer();
    await ep.answer(moved.sdp('0'));
    await waitFor(() => moved.rtp.length >= 3, 'RTP to the new SDP address');
    expect((await ep.stats()).remote).toBe(`127.0.0.1:${moved.port}`);
  });
});

describe('worker restart', () => {
  it('restarts a dead worker: old endpoints are lost (rejected), new ones work, the server stays up', async () => {
    const other = await MediaFixture.start();
    try {
      const old = await other.connected('0');
      expect(other.server.openEndpoints).toBe(1);
      const inFlight = old.ep.stats();
      await expect(other.server.crashWorkerForTest()).rejects.toThrow(/media worker exited \(code 1\)/);
      await inFlight; // answered before the crash: the worker serves requests in order
      await waitFor(() => other.server.workerRestarts === 1, 'the worker restarted');
      expect(other.server.openEndpoints).toBe(0);
      await expect(old.ep.play({ kind: 'music' })).rejects.toThrow(/lost when the media worker restarted/);
      await old.ep.close();
      const fresh = await other.connected('0');
      await waitFor(() => fresh.peer.rtp.length >= 5, 'RTP from the restarted worker');
      expect((await other.server.diagnostics()).endpoints).toBe(1);
    } finally {
      await other.close();
    }
  });
});
