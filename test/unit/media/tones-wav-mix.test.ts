/** Tones (cadences checked with Goertzel), WAV reading (each rejected format), the N−1 mix. */
import { describe, expect, it } from 'vitest';
import { linearToAlaw, linearToUlaw } from '../../../src/media/builtin/g711.js';
import { mixFrames } from '../../../src/media/builtin/mix.js';
import {
  CADENCES,
  FRAME_SAMPLES,
  goertzelPower,
  renderCadence,
  renderComfortNoise,
} from '../../../src/media/builtin/tones.js';
import { encodeWav, parseWav, readWavFile, WavFormatError } from '../../../src/media/builtin/wav.js';

/** Goertzel power of 20 ms frame number `n`. */
const frame = (pcm: Int16Array, n: number, f: number): number =>
  goertzelPower(pcm.subarray(n * FRAME_SAMPLES, (n + 1) * FRAME_SAMPLES), f);

describe('ringback cadences', () => {
  it('us: 440 + 480 Hz for 2 s, then 4 s of silence', () => {
    const pcm = renderCadence(CADENCES.us);
    expect(pcm.length).toBe(6 * 8000);
    for (const n of [0, 50, 99]) {
      expect(frame(pcm, n, 440)).toBeGreaterThan(1e5);
      expect(frame(pcm, n, 480)).toBeGreaterThan(1e5);
      expect(frame(pcm, n, 1000)).toBeLessThan(frame(pcm, n, 440) / 100);
    }
    // Over one second the frequency resolution is 1 Hz: 440 and 480, not 425 or 400.
    const second = pcm.subarray(0, 8000);
    expect(goertzelPower(second, 440)).toBeGreaterThan(1e6);
    expect(goertzelPower(second, 480)).toBeGreaterThan(1e6);
    expect(goertzelPower(second, 425)).toBeLessThan(goertzelPower(second, 440) / 100);
    expect(goertzelPower(second, 400)).toBeLessThan(goertzelPower(second, 440) / 100);
    for (const n of [100, 200, 299]) expect(frame(pcm, n, 440)).toBe(0);
  });

  it('uk: 400 + 450 Hz 0.4 s on, 0.2 off, 0.4 on, 2.0 off', () => {
    const pcm = renderCadence(CADENCES.uk);
    expect(pcm.length).toBe(3 * 8000);
    const on = (n: number): boolean => frame(pcm, n, 400) > 1e5 && frame(pcm, n, 450) > 1e5;
    expect([0, 19, 20, 29, 30, 49, 50, 149].map(on)).toEqual([true, true, false, false, true, true, false, false]);
  });

  it('eu: 425 Hz for 1 s, then 4 s of silence', () => {
    const pcm = renderCadence(CADENCES.eu);
    expect(pcm.length).toBe(5 * 8000);
    expect(frame(pcm, 10, 425)).toBeGreaterThan(1e5);
    const second = pcm.subarray(0, 8000);
    expect(goertzelPower(second, 480)).toBeLessThan(goertzelPower(second, 425) / 100);
    expect(goertzelPower(second, 440)).toBeLessThan(goertzelPower(second, 425) / 100);
    expect(frame(pcm, 60, 425)).toBe(0);
  });

  it('comfort noise is low-level and not silent', () => {
    const pcm = renderComfortNoise();
    const peak = pcm.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(48);
  });
});

describe('WAV files', () => {
  const pcm = Int16Array.from({ length: 800 }, (_, i) => Math.round(5000 * Math.sin(i / 3)));

  it('reads 16-bit PCM, µ-law and A-law at 8000 Hz mono', () => {
    expect([...parseWav(encodeWav(pcm), 'a.wav')]).toEqual([...pcm]);
    const ulaw = Uint8Array.from(pcm, (s) => linearToUlaw(s));
    const alaw = Uint8Array.from(pcm, (s) => linearToAlaw(s));
    const fromU = parseWav(encodeWav(ulaw, 7), 'u.wav');
    const fromA = parseWav(encodeWav(alaw, 6), 'a.wav');
    expect(fromU.length).toBe(800);
    expect(fromA.length).toBe(800);
    pcm.forEach((s, i) => {
      expect(Math.abs(fromU[i] - s)).toBeLessThanOrEqual(Math.abs(s) / 16 + 8);
      expect(Math.abs(fromA[i] - s)).toBeLessThanOrEqual(Math.abs(s) / 16 + 16);
    });
  });

  it('skips chunks before the audio (LIST) and reads the data chunk', () => {
    const wav = encodeWav(pcm);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0')]);
    const withList = Buffer.concat([wav.subarray(0, 36), list, wav.subarray(36)]);
    expect(parseWav(withList, 'l.wav').length).toBe(800);
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    ['not RIFF', Buffer.from('ID3\x03 this is an mp3 file really'), /not a RIFF WAVE file/],
    ['stereo', encodeWav(pcm, 1, 2), /2 channels; mono \(1 channel\) is required/],
    ['44.1 kHz', encodeWav(pcm, 1, 1, 44100), /sample rate 44100 Hz; 8000 Hz is required/],
    [
      '8-bit PCM',
      (() => {
        const w = encodeWav(pcm);
        w.writeUInt16LE(8, 34);
        return w;
      })(),
      /8-bit PCM; 16-bit PCM is required/,
    ],
    ['float', encodeWav(pcm, 3), /audio format 3; 16-bit PCM \(1\), A-law \(6\) or µ-law \(7\) is required/],
    ['no data', encodeWav(pcm).subarray(0, 36), /no data chunk/],
    ['empty data', encodeWav(new Int16Array(0)), /no audio samples/],
  ];
  for (const [name, bytes, message] of bad) {
    it(`rejects ${name} with an error naming the file and the problem`, () => {
      let error: unknown;
      try {
        parseWav(bytes, '/srv/moh.wav');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WavFormatError);
      expect((error as Error).message).toMatch(/^music-on-hold-file \/srv\/moh\.wav: /);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('names a file that cannot be read', () => {
    expect(() => readWavFile('/nonexistent/moh.wav')).toThrow(
      /music-on-hold-file \/nonexistent\/moh.wav: cannot be read \(ENOENT\)/,
    );
  });
});

describe('mix', () => {
  it('gives each input the clipped sum of the others', () => {
    const a = Int16Array.from([1000, 30000, -30000, 0]);
    const b = Int16Array.from([2000, 30000, -30000, 5]);
    const c = Int16Array.from([-500, 0, 0, 7]);
    const [toA, toB, toC] = mixFrames([a, b, c]);
    expect([...toA]).toEqual([1500, 30000, -30000, 12]);
    expect([...toB]).toEqual([500, 30000, -30000, 7]);
    expect([...toC]).toEqual([3000, 32767, -32768, 5]);
    expect([...mixFrames([a])[0]]).toEqual([0, 0, 0, 0]);
  });
});
