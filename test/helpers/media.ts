/**
 * The built-in media server for tests: started on a random loopback port range with a WAV file
 * generated here; endpoints and RTP peers opened through it are closed by {@link MediaFixture.cleanup}.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuiltinMediaServer, type BuiltinMediaServer } from '../../src/media/builtin/index.js';
import type { RingbackTone } from '../../src/media/builtin/tones.js';
import { encodeWav } from '../../src/media/builtin/wav.js';
import type { MediaEndpoint } from '../../src/media/media-server.js';
import { RtpPeer } from './rtp-peer.js';

/** A sine of `freq` Hz, `seconds` long, 8 kHz 16-bit PCM. */
export function sine(freq: number, seconds: number, amplitude = 8000): Int16Array {
  const pcm = new Int16Array(Math.round(seconds * 8000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / 8000));
  return pcm;
}

/**
 * A random range of 2,000 RTP ports in 20000–31999: below the kernel's ephemeral ports and above the
 * ports `freePort` hands out (helpers/ports.ts); allocation skips ports in use anyway.
 */
export function randomPortRange(): { portMin: number; portMax: number } {
  const portMin = 20000 + 2 * Math.floor(Math.random() * 5000);
  return { portMin, portMax: portMin + 1999 };
}

/** A media server, a scratch directory, and what a test opened. */
export class MediaFixture {
  private readonly peers: RtpPeer[] = [];
  private readonly endpoints: MediaEndpoint[] = [];

  private constructor(
    readonly server: BuiltinMediaServer,
    /** Directory holding `music.wav`. */
    readonly dir: string,
  ) {}

  /** Starts a server whose music on hold is `music` (default: a 1 kHz tone, 0.5 s). */
  static async start(music = sine(1000, 0.5), ringbackTone: RingbackTone = 'us'): Promise<MediaFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'media-'));
    writeFileSync(join(dir, 'music.wav'), encodeWav(music));
    const server = await createBuiltinMediaServer({
      bindAddress: '127.0.0.1',
      mediaAddress: '127.0.0.1',
      ...randomPortRange(),
      ringbackTone,
      musicFile: join(dir, 'music.wav'),
    });
    return new MediaFixture(server, dir);
  }

  async peer(): Promise<RtpPeer> {
    const p = await RtpPeer.open();
    this.peers.push(p);
    return p;
  }

  async endpoint(label = 'test'): Promise<MediaEndpoint> {
    const e = await this.server.createEndpoint(label);
    this.endpoints.push(e);
    return e;
  }

  /** An endpoint that answered a fresh peer's offer (`payloads`), with that peer. */
  async connected(payloads = '0 8 101'): Promise<{ ep: MediaEndpoint; peer: RtpPeer }> {
    const peer = await this.peer();
    const ep = await this.endpoint();
    await ep.answer(peer.sdp(payloads));
    return { ep, peer };
  }

  /** Closes the endpoints and peers of the test (after each test). */
  async cleanup(): Promise<void> {
    await Promise.all(this.endpoints.splice(0).map((e) => e.close()));
    for (const p of this.peers.splice(0)) p.close();
  }

  async close(): Promise<void> {
    await this.cleanup();
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
