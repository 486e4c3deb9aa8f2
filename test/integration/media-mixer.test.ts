/**
 * The built-in mixer with real RTP on loopback: a 1 kHz tone sent by A's peer is heard by B and
 * C (each in its own codec) and never echoed to A; a party who leaves hears silence again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PCMA, PCMU } from '../../src/media/builtin/g711.js';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { MediaFixture, sine } from '../helpers/media.js';
import { RtpPeer, type ReceivedRtp } from '../helpers/rtp-peer.js';
import { waitFor } from '../helpers/wait.js';

let fx: MediaFixture;
beforeAll(async () => {
  fx = await MediaFixture.start();
});
afterEach(() => fx.cleanup());
afterAll(() => fx?.close());

/** 1 kHz power of the packets that arrived after `since` (performance.now()). */
function tonePower(packets: readonly ReceivedRtp[], since: number, freq = 1000): number {
  const pcm = RtpPeer.decode(packets.filter((p) => p.at >= since).slice(5, 30));
  return goertzelPower(pcm, freq);
}

describe('mixer', () => {
  it("gives each party the others' audio, never its own", async () => {
    const a = await fx.connected('0');
    const b = await fx.connected('8');
    const c = await fx.connected('0');
    const mixer = await fx.server.createMixer();
    for (const x of [a, b, c]) await mixer.join(x.ep);

    // A's peer talks: 1.2 s of 1 kHz in 20 ms µ-law packets, paced at 20 ms.
    const tone = sine(1000, 1.2);
    const frame = new Uint8Array(160);
    const started = performance.now();
    for (let i = 0; i < 60; i++) {
      PCMU.encode(tone.subarray(i * 160, (i + 1) * 160), frame);
      a.peer.send(a.ep.port, 0, i, i * 160, 0x5151, frame, i === 0);
      await new Promise<void>((r) => setTimeout(r, 20));
    }
    await waitFor(() => b.peer.rtp.filter((p) => p.at >= started).length >= 40, 'mixed RTP at B');
    expect(tonePower(b.peer.rtp, started)).toBeGreaterThan(1e6);
    expect(tonePower(c.peer.rtp, started)).toBeGreaterThan(1e6);
    expect(tonePower(a.peer.rtp, started)).toBeLessThan(1e3);
    // Each in its own codec.
    expect(b.peer.rtp.at(-1)?.payloadType).toBe(PCMA.payloadType);
    expect(c.peer.rtp.at(-1)?.payloadType).toBe(PCMU.payloadType);

    // B leaves: back to its own source (silence) while A still talks.
    await mixer.leave(b.ep);
    const left = performance.now();
    for (let i = 60; i < 90; i++) {
      PCMU.encode(tone.subarray((i - 60) * 160, (i - 59) * 160), frame);
      a.peer.send(a.ep.port, 0, i, i * 160, 0x5151, frame);
      await new Promise<void>((r) => setTimeout(r, 20));
    }
    expect(tonePower(b.peer.rtp, left)).toBeLessThan(1e3);
    expect(tonePower(c.peer.rtp, left)).toBeGreaterThan(1e6);
    await mixer.close();
  });
});
