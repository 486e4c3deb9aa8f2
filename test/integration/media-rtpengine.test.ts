/**
 * The rtpengine media server against a real rtpengine 10.5 (userspace, on loopback): an endpoint
 * offered to an RTP peer plays ringback (50 packets a second, sequence +1, timestamp +160, from
 * the port of its SDP), an endpoint answering a peer's offer plays music then silence, RTP from
 * the peer latches the stream (symmetric RTP), close deletes the rtpengine call, an rtpengine
 * that does not answer gives a clear error and leaks nothing, and mixing is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { encodeWav } from '../../src/media/builtin/wav.js';
import { MediaNegotiationError, type MediaEndpoint } from '../../src/media/media-server.js';
import { PlayableSources } from '../../src/media/rtpengine/media-files.js';
import {
  createRtpengineMediaServer,
  NgClient,
  NgCommandError,
  NgTimeoutError,
  openRtpengineMediaServer,
  type RtpengineMediaServer,
} from '../../src/media/rtpengine/index.js';
import { parseSdp } from '../../src/media/sdp.js';
import { sine } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';
import { RtpPeer, type ReceivedRtp } from '../helpers/rtp-peer.js';
import { startRtpengine, type RtpengineDaemon } from '../helpers/rtpengine.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const FAST = { retransmitMs: 100, tries: 2 };
let daemon: RtpengineDaemon;
let media: RtpengineMediaServer;
let ng: NgClient;
let dir: string;
const peers: RtpPeer[] = [];
const endpoints: MediaEndpoint[] = [];

async function peer(): Promise<RtpPeer> {
  const p = await RtpPeer.open();
  peers.push(p);
  return p;
}

async function endpoint(): Promise<MediaEndpoint> {
  const e = await media.createEndpoint('test');
  endpoints.push(e);
  return e;
}

/** The packets `p` receives during the next `ms` from now. */
async function nextPackets(p: RtpPeer, ms: number): Promise<ReceivedRtp[]> {
  const start = p.rtp.length;
  const t0 = performance.now();
  await waitFor(() => performance.now() - t0 >= ms, { what: `${ms} ms of RTP`, timeoutMs: ms + 2000 });
  return p.rtp.slice(start).filter((r) => r.at - t0 < ms);
}

function expectOneStream(got: readonly ReceivedRtp[], from: string): void {
  expect(new Set(got.map((r) => r.ssrc)).size).toBe(1);
  expect(got.every((r) => r.from === from && r.payload.length === 160)).toBe(true);
  for (let i = 1; i < got.length; i++) {
    expect(got[i]!.sequence).toBe((got[i - 1]!.sequence + 1) & 0xffff);
    expect(got[i]!.timestamp).toBe((got[i - 1]!.timestamp + 160) >>> 0);
  }
}

beforeAll(async () => {
  daemon = await startRtpengine();
  dir = mkdtempSync(join(tmpdir(), 'rtpengine-media-'));
  writeFileSync(join(dir, 'music.wav'), encodeWav(sine(1000, 0.5)));
  media = await createRtpengineMediaServer({
    servers: [{ host: '127.0.0.1', port: daemon.ngPort }],
    ringbackTone: 'us',
    musicFile: join(dir, 'music.wav'),
  });
  ng = new NgClient({ host: '127.0.0.1', port: daemon.ngPort });
});
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
  for (const p of peers.splice(0)) p.close();
});
afterAll(async () => {
  await media?.close();
  ng?.close();
  await daemon?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rtpengine media endpoint', () => {
  it('offers rtpengine’s port; after the answer plays ringback: 50 packets/s, sequence +1, timestamp +160, from that port', async () => {
    const p = await peer();
    const ep = await endpoint();
    await ep.play({ kind: 'ringback' });
    const offer = parseSdp(await ep.createOffer());
    expect(offer.connection?.ip ?? offer.media[0]!.connection?.ip).toBe('127.0.0.1');
    const port = offer.media[0]!.port;
    expect(port).toBeGreaterThanOrEqual(daemon.portMin);
    expect(port).toBeLessThanOrEqual(daemon.portMax);
    expect(ep.port).toBe(port);
    expect(String(offer.media[0]!.payloads)).toBe('0 8 101');
    await ep.acceptAnswer(p.sdp('0 101'));
    const got = await nextPackets(p, 2000);
    // 100 on average; rtpengine's player sends in bursts up to a quarter second ahead (docs/media.md).
    expect(got.length).toBeGreaterThanOrEqual(90);
    expect(got.length).toBeLessThanOrEqual(115);
    expectOneStream(got, `127.0.0.1:${port}`);
    expect(got.every((r) => r.payloadType === 0)).toBe(true);
    // The US cadence starts with 2 s of 440 + 480 Hz.
    const tone = RtpPeer.decode(got.slice(5, 45));
    expect(goertzelPower(tone, 440)).toBeGreaterThan(1e5);
    expect(goertzelPower(tone, 480)).toBeGreaterThan(1e5);
    expect(goertzelPower(tone, 1000)).toBeLessThan(1e3);
    const s = await ep.stats();
    expect(s.payloadType).toBe(0);
    expect(s.remote).toBe(`127.0.0.1:${p.port}`);
    // An estimate from the time playing (rtpengine does not count what its player sends).
    expect(s.packetsSent).toBeGreaterThanOrEqual(90);
  });

  it('answers an offer with the first G.711 codec, plays the music file, then silence', async () => {
    const p = await peer();
    const ep = await endpoint();
    // No G.711 in the offer: refused before rtpengine is asked.
    await expect(ep.answer(p.sdp('101'))).rejects.toThrow(MediaNegotiationError);
    expect((await ng.request('list'))['calls']).not.toContain(ep.id);
    const answer = parseSdp(await ep.answer(p.sdp('8 0 101')));
    expect(String(answer.media[0]!.payloads)).toBe('8 101');
    expect(answer.media[0]!.direction ?? 'sendrecv').toBe('sendrecv');
    await ep.play({ kind: 'music' });
    await waitFor(() => p.rtp.length >= 10, 'music packets');
    const music = await nextPackets(p, 600);
    expectOneStream(music, `127.0.0.1:${ep.port}`);
    const pcm = RtpPeer.decode(music.slice(2, 22));
    expect(music.every((r) => r.payloadType === 8)).toBe(true);
    expect(goertzelPower(pcm, 1000)).toBeGreaterThan(1e6);
    expect(goertzelPower(pcm, 440)).toBeLessThan(1e4);
    await ep.play({ kind: 'silence' });
    const t0 = performance.now();
    await waitFor(() => p.rtp.some((r) => r.at > t0 && r.payload.every((b) => b === 0xd5)), 'A-law silence');
    const silence = await nextPackets(p, 500);
    expect(silence.length).toBeGreaterThanOrEqual(20);
    expect(silence.every((r) => r.payload.every((b) => b === 0xd5))).toBe(true);
  });

  it('answers a sendonly offer recvonly and sends nothing; a sendrecv re-offer starts the source', async () => {
    const p = await peer();
    const ep = await endpoint();
    const answer = parseSdp(await ep.answer(p.sdp('0', 'sendonly')));
    expect(answer.media[0]!.direction).toBe('recvonly');
    await holdsFor(() => p.rtp.length === 0, { what: 'no RTP to a sendonly peer', forMs: 400 });
    await ep.answer(p.sdp('0'));
    await waitFor(() => p.rtp.length >= 5, 'RTP after the sendrecv re-offer');
  });

  it('latches to where the peer’s RTP comes from (symmetric RTP) and counts it', async () => {
    const announced = await peer();
    const actual = await peer();
    const ep = await endpoint();
    await ep.answer(announced.sdp('0'));
    await waitFor(() => announced.rtp.length >= 3, 'RTP to the SDP address');
    for (let i = 0; i < 5; i++) actual.send(ep.port, 0, i, i * 160, 0x1234, new Uint8Array(160).fill(0xff));
    await waitFor(async () => (await ep.stats()).packetsReceived === 5, 'five packets counted');
    const before = actual.rtp.length;
    await waitFor(() => actual.rtp.length >= before + 10, 'RTP at the source of the peer’s RTP');
    const n = announced.rtp.length;
    const moved = await nextPackets(actual, 300);
    expect(moved.length).toBeGreaterThanOrEqual(10);
    expect(announced.rtp.length).toBe(n);
    expect((await ep.stats()).remote).toBe(`127.0.0.1:${actual.port}`);
  });

  it('close deletes the rtpengine call; the endpoint count follows', async () => {
    const p = await peer();
    const ep = await endpoint();
    await ep.answer(p.sdp('0'));
    const list = async (): Promise<string[]> => (await ng.request('list'))['calls'] as string[];
    expect(await list()).toContain(ep.id);
    expect(media.openEndpoints).toBe(1);
    await ep.close();
    await ep.close();
    expect(media.openEndpoints).toBe(0);
    expect(await list()).not.toContain(ep.id);
    await expect(ng.request('query', { 'call-id': ep.id })).rejects.toThrow(NgCommandError);
    await expect(ep.play({ kind: 'music' })).rejects.toThrow(/closed/);
  });

  it('music of 7.9 s goes inline (one ng datagram of 63 KB), of 10 s by its path: both play', async () => {
    for (const seconds of [7.9, 10]) {
      const file = join(dir, `music-${seconds}.wav`);
      writeFileSync(file, encodeWav(sine(1000, seconds)));
      const args = new PlayableSources('us', file).argsOf({ kind: 'music' });
      expect(Object.keys(args)).toEqual([seconds < 8 ? 'blob' : 'file']);
      const m = await createRtpengineMediaServer({
        servers: [{ host: '127.0.0.1', port: daemon.ngPort }],
        ringbackTone: 'us',
        musicFile: file,
      });
      try {
        const p = await peer();
        const ep = await m.createEndpoint('music');
        await ep.answer(p.sdp('0'));
        await ep.play({ kind: 'music' });
        const t0 = performance.now();
        await waitFor(() => p.rtp.filter((r) => r.at > t0).length >= 20, `${seconds} s music`);
        const pcm = RtpPeer.decode(p.rtp.filter((r) => r.at > t0).slice(-15));
        expect(goertzelPower(pcm, 1000)).toBeGreaterThan(1e6);
      } finally {
        await m.close();
      }
    }
  });

  it('refuses a mixer: a conference needs the built-in media server', async () => {
    await expect(media.createMixer()).rejects.toThrow(/conference needs the built-in media server/);
  });
});

describe('rtpengine not answering', () => {
  it('start fails naming the address; an endpoint rejects with a timeout and leaks nothing', async () => {
    const dead = await freePort();
    await expect(
      createRtpengineMediaServer({
        servers: [{ host: '127.0.0.1', port: dead }],
        ringbackTone: 'us',
        musicFile: undefined,
        timing: FAST,
      }),
    ).rejects.toThrow(`rtpengine at udp:127.0.0.1:${dead} did not answer 'ping' (2 tries`);
    const m = openRtpengineMediaServer({
      servers: [{ host: '127.0.0.1', port: dead }],
      ringbackTone: 'us',
      musicFile: undefined,
      timing: FAST,
    });
    const ep = await m.createEndpoint('dead');
    await expect(ep.createOffer()).rejects.toThrow(NgTimeoutError);
    await ep.close();
    expect(m.openEndpoints).toBe(0);
    await m.close();
  });

  it('with two rtpengines, one down: endpoints go to the one that answers', async () => {
    const dead = await freePort();
    const m = openRtpengineMediaServer({
      servers: [
        { host: '127.0.0.1', port: dead },
        { host: '127.0.0.1', port: daemon.ngPort },
      ],
      ringbackTone: 'us',
      musicFile: undefined,
      timing: FAST,
    });
    try {
      await m.ready();
      const p = await peer();
      const eps = await Promise.all([m.createEndpoint('a'), m.createEndpoint('b')]);
      for (const e of eps) await e.answer(p.sdp('0'));
      const calls = (await ng.request('list'))['calls'] as string[];
      expect(eps.every((e) => calls.includes(e.id))).toBe(true);
    } finally {
      await m.close();
    }
    expect(m.openEndpoints).toBe(0);
  });
});
