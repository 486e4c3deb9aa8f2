/**
 * A looped sound, pre-encoded in both G.711 laws so that sending a frame is a copy: ringback
 * cadences, comfort noise and the music-on-hold file.
 */
import { PCMA, PCMU, type G711Codec } from './g711.js';

/** A sound as µ-law and A-law bytes (one byte per sample). */
export class Clip {
  private readonly ulaw: Uint8Array;
  private readonly alaw: Uint8Array;
  constructor(pcm: Int16Array) {
    if (pcm.length === 0) throw new Error('empty clip');
    this.ulaw = new Uint8Array(pcm.length);
    this.alaw = new Uint8Array(pcm.length);
    PCMU.encode(pcm, this.ulaw);
    PCMA.encode(pcm, this.alaw);
  }

  get length(): number {
    return this.ulaw.length;
  }

  /**
   * Copies `count` samples from `position` (looping) into `out` at `offset` in `codec`'s law;
   * returns the next position.
   */
  copy(codec: G711Codec, position: number, out: Uint8Array, offset: number, count: number): number {
    const src = codec === PCMU ? this.ulaw : this.alaw;
    let pos = position % src.length;
    let done = 0;
    while (done < count) {
      const n = Math.min(count - done, src.length - pos);
      out.set(src.subarray(pos, pos + n), offset + done);
      done += n;
      pos = (pos + n) % src.length;
    }
    return pos;
  }
}
