/**
 * What an rtpengine endpoint plays, as `play media` arguments: silence, comfort noise and the
 * ringback cadence are generated here (8 kHz G.711 µ-law WAV, one loop each) and sent inline
 * (`blob`), so a media server on another machine needs no files; the music-on-hold file goes
 * inline too when it fits in one ng datagram, else by its absolute path (`file`), which must then
 * exist on the rtpengine machine.
 */
import { resolve } from 'node:path';
import { linearToUlaw } from '../builtin/g711.js';
import { CADENCES, renderCadence, renderComfortNoise, SAMPLE_RATE, type RingbackTone } from '../builtin/tones.js';
import { encodeWav, readWavFile } from '../builtin/wav.js';
import type { MediaSource } from '../media-server.js';

/** The `play media` arguments of one source: inline WAV bytes, or a file path on the rtpengine machine. */
export type PlayArgs = { readonly blob: Buffer } | { readonly file: string };

/** WAVE_FORMAT_MULAW (RFC 2361). */
const WAVE_FORMAT_MULAW = 7;
/**
 * The largest inline WAV: an ng request is one UDP datagram (at most 65,507 bytes of payload);
 * the rest of the `play media` dictionary takes well under 500 bytes.
 */
export const MAX_BLOB_BYTES = 64_000;

/** PCM as a µ-law WAV file (8 kHz mono, 1 byte a sample). */
export function ulawWav(pcm: Int16Array): Buffer {
  const bytes = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) bytes[i] = linearToUlaw(pcm[i]!);
  return encodeWav(bytes, WAVE_FORMAT_MULAW);
}

/** The four sources of an rtpengine media server, rendered once at start. */
export class PlayableSources {
  private readonly bySource: Readonly<Record<MediaSource['kind'], PlayArgs>>;

  /** Throws `WavFormatError` when `musicFile` cannot be used (docs/media.md "WAV formats"). */
  constructor(ringbackTone: RingbackTone, musicFile: string | undefined) {
    const silence = { blob: ulawWav(new Int16Array(SAMPLE_RATE)) };
    let music: PlayArgs = silence;
    if (musicFile) {
      const wav = ulawWav(readWavFile(musicFile));
      music = wav.length <= MAX_BLOB_BYTES ? { blob: wav } : { file: resolve(musicFile) };
    }
    this.bySource = {
      silence,
      'comfort-noise': { blob: ulawWav(renderComfortNoise()) },
      ringback: { blob: ulawWav(renderCadence(CADENCES[ringbackTone])) },
      music,
    };
  }

  /** The `play media` arguments for `source`. */
  argsOf(source: MediaSource): PlayArgs {
    return this.bySource[source.kind];
  }
}
