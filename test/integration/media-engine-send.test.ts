/**
 * How the media engine sends (docs/media.md, "The worker thread"), with the engine in the test's
 * thread and real UDP sockets on loopback:
 * - the 20 ms tick in 4 slots 5 ms apart: each session always in the same slot, so its own
 *   packets stay 20 ms apart (on a fake clock, so every slot is checked exactly);
 * - RTP sent from a socket connected to the peer, which follows the latched source and a new SDP
 *   (the kernel's own table, /proc/net/udp), with the RTP stream unbroken across the changes.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MediaEngine, SLOTS } from '../../src/media/builtin/media-engine.js';
import type { Negotiated } from '../../src/media/builtin/media-sdp.js';
import { CADENCES, renderCadence } from '../../src/media/builtin/tones.js';
import { randomPortRange } from '../helpers/media.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { waitFor } from '../helpers/wait.js';

const SILENCE = new Uint8Array(160).fill(0xff);

const logs: string[] = [];
let engine: MediaEngine | undefined;
const peers: RtpPeer[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await engine?.shutdown();
  engine = undefined;
  for (const p of peers.splice(0)) p.close();
  logs.length = 0;
});

function startEngine(): MediaEngine {
  const settings = {
    bindAddress: '127.0.0.1',
    ...randomPortRange(),
    ringback: renderCadence(CADENCES.us),
    music: undefined,
    cname: 'test@127.0.0.1',
  };
  engine = new MediaEngine(settings, (level, msg) => logs.push(`${level}: ${msg}`));
  return engine;
}

async function peer(): Promise<RtpPeer> {
  const p = await RtpPeer.open();
  peers.push(p);
  return p;
}

function toPeer(p: RtpPeer): Negotiated {
  return { remoteIp: '127.0.0.1', remotePort: p.port, payloadType: 0, telephoneEventPt: undefined, sending: true };
}

/** The remote ports of the connected UDP sockets bound to 127.0.0.1:`port`, from /proc/net/udp. */
function connectedTo(port: number): number[] {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === local && f[2] !== '00000000:0000')
    .map((f) => parseInt(f[2].split(':')[1], 16));
}

describe('slots', () => {
  it('sends each session in one of 4 slots 5 ms apart: 2 of 8 sessions per slot, each every 20 ms', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const e = startEngine();
    const p = await peer();
    const ids: string[] = [];
    for (let i = 0; i < 2 * SLOTS; i++) {
      const { endpoint } = await e.open(`s${i}`);
      e.configure(endpoint, toPeer(p));
      ids.push(endpoint);
    }
    const sent = (): number[] => ids.map((id) => e.stats(id).packetsSent);
    const stepsOf = new Map<string, number[]>(ids.map((id) => [id, []]));
    let before = sent();
    vi.advanceTimersByTime(1); // slot 0 is due at once; a timer waits at least 1 ms
    for (let step = 0; step < 6 * SLOTS; step++) {
      if (step > 0) vi.advanceTimersByTime(5);
      const after = sent();
      const moved = ids.filter((_, i) => after[i] !== before[i]);
      expect(moved, `step ${step}`).toHaveLength(2);
      for (const id of moved) {
        expect(after[ids.indexOf(id)] - before[ids.indexOf(id)]).toBe(1);
        stepsOf.get(id)!.push(step);
      }
      before = after;
    }
    for (const steps of stepsOf.values()) {
      expect(steps).toHaveLength(6);
      for (let k = 1; k < steps.length; k++) expect(steps[k] - steps[k - 1]).toBe(SLOTS); // 20 ms
    }
    // What left: per SSRC consecutive sequence numbers and timestamps +160 (RFC 3550 §5.1).
    vi.useRealTimers();
    await waitFor(() => p.rtp.length === 6 * 2 * SLOTS, 'every packet at the peer');
    const bySsrc = new Map<number, typeof p.rtp>();
    for (const r of p.rtp) bySsrc.set(r.ssrc, [...(bySsrc.get(r.ssrc) ?? []), r]);
    expect(bySsrc.size).toBe(2 * SLOTS);
    for (const packets of bySsrc.values()) {
      for (let k = 1; k < packets.length; k++) {
        expect(packets[k].sequence).toBe((packets[k - 1].sequence + 1) & 0xffff);
        expect(packets[k].timestamp).toBe((packets[k - 1].timestamp + 160) >>> 0);
      }
    }
  });
});

describe('packet buffer', () => {
  it('is reused: after ringback and after a codec change the payload is the silence of the codec in use', async () => {
    const e = startEngine();
    const p = await peer();
    const { endpoint } = await e.open('b');
    e.configure(endpoint, toPeer(p));
    await waitFor(() => p.rtp.length >= 2, 'silence');
    e.play(endpoint, { kind: 'ringback' });
    await waitFor(() => p.rtp.some((r) => r.payload.some((c) => c !== 0xff)), 'ringback');
    e.play(endpoint, { kind: 'silence' });
    let from = p.rtp.length;
    await waitFor(() => p.rtp.slice(from).filter((r) => r.marker).length === 1 && p.rtp.length >= from + 4, 'silence');
    const silent = p.rtp.slice(p.rtp.findIndex((r, i) => i >= from && r.marker));
    expect(silent.every((r) => r.payloadType === 0 && r.payload.every((c) => c === 0xff))).toBe(true);
    e.configure(endpoint, { ...toPeer(p), payloadType: 8 });
    from = p.rtp.length;
    await waitFor(() => p.rtp.slice(from).filter((r) => r.payloadType === 8).length >= 3, 'PCMA');
    const pcma = p.rtp.slice(from).filter((r) => r.payloadType === 8);
    expect(pcma.every((r) => r.payload.length === 160 && r.payload.every((c) => c === 0xd5))).toBe(true);
  });
});

describe('connected sending socket', () => {
  it('is connected to the SDP address, then to the latched source, then to a new SDP address', async () => {
    const e = startEngine();
    const [sdpPeer, natted, moved] = [await peer(), await peer(), await peer()];
    const { endpoint, port } = await e.open('c');
    e.configure(endpoint, toPeer(sdpPeer));
    await waitFor(() => sdpPeer.rtp.length >= 3 && connectedTo(port).join() === `${sdpPeer.port}`, 'connected to SDP');

    natted.send(port, 0, 1, 0, 0xabc, SILENCE);
    await waitFor(() => natted.rtp.length >= 3 && connectedTo(port).join() === `${natted.port}`, 'connected to latch');
    // The SDP address is no longer the connected one: its RTP reaches the listening socket and is
    // rejected there, as from any other source.
    for (let i = 0; i < 2; i++) sdpPeer.send(port, 0, 10 + i, 160 * i, 0x55, SILENCE);
    await waitFor(() => e.stats(endpoint).packetsRejected === 2, 'two rejected packets');
    expect(e.stats(endpoint).packetsReceived).toBe(1);

    e.configure(endpoint, toPeer(moved));
    await waitFor(() => moved.rtp.length >= 3 && connectedTo(port).join() === `${moved.port}`, 'connected to new SDP');

    const all = [...sdpPeer.rtp, ...natted.rtp, ...moved.rtp].sort((a, b) => a.at - b.at);
    expect(new Set(all.map((r) => r.from))).toEqual(new Set([`127.0.0.1:${port}`]));
    expect(new Set(all.map((r) => r.ssrc)).size).toBe(1);
    for (let k = 1; k < all.length; k++) expect(all[k].sequence).toBe((all[k - 1].sequence + 1) & 0xffff);
    expect(logs).toEqual([]);
  });

  it('says nothing of the ICMP port unreachable it gets once the peer has closed its port', async () => {
    const e = startEngine();
    const gone = await peer();
    const { endpoint, port } = await e.open('gone');
    e.configure(endpoint, toPeer(gone));
    await waitFor(() => connectedTo(port).join() === `${gone.port}`, 'connected');
    peers.splice(peers.indexOf(gone), 1);
    gone.close();
    const sent = e.stats(endpoint).packetsSent;
    await waitFor(() => e.stats(endpoint).packetsSent >= sent + 10, 'ten more packets');
    expect(logs).toEqual([]);
  });
});
