/**
 * Tones as 8 kHz 16-bit PCM: the ringback cadences of the `ringback-tone` option and comfort
 * noise. A ringback cadence is rendered once, a whole cycle, and then looped like music.
 */

/** Sample rate of G.711 (RFC 3551 §4.5.14). */
export const SAMPLE_RATE = 8000;
/** Samples per 20 ms packet (RFC 3551 §4.5: ptime 20 at 8 kHz). */
export const FRAME_SAMPLES = 160;

/** National ringback cadences (values of the `ringback-tone` option). */
export const RINGBACK_TONES = ['us', 'uk', 'eu'] as const;
export type RingbackTone = (typeof RINGBACK_TONES)[number];

/** A ringback tone: the frequencies summed, and on/off periods in seconds (on first). */
export interface Cadence {
  readonly frequencies: readonly number[];
  readonly periods: readonly number[];
}

/**
 * The cadences: North America 440 + 480 Hz 2 s on 4 s off (ANSI T1.401); United Kingdom
 * 400 + 450 Hz 0.4 on 0.2 off 0.4 on 2.0 off; Europe (CEPT) 425 Hz 1 s on 4 s off (ETSI TR 101 041).
 */
export const CADENCES: Readonly<Record<RingbackTone, Cadence>> = {
  us: { frequencies: [440, 480], periods: [2, 4] },
  uk: { frequencies: [400, 450], periods: [0.4, 0.2, 0.4, 2.0] },
  eu: { frequencies: [425], periods: [1, 4] },
};

/** Amplitude of each tone component (≈ -16 dBm0 per component for two components). */
const TONE_AMPLITUDE = 4000;

/** One whole cadence cycle as PCM (a multiple of 160 samples). */
export function renderCadence(cadence: Cadence): Int16Array {
  const total = Math.round(cadence.periods.reduce((a, b) => a + b, 0) * SAMPLE_RATE);
  const pcm = new Int16Array(Math.ceil(total / FRAME_SAMPLES) * FRAME_SAMPLES);
  let start = 0;
  cadence.periods.forEach((seconds, i) => {
    const n = Math.round(seconds * SAMPLE_RATE);
    if (i % 2 === 0) {
      for (let k = 0; k < n; k++) {
        let v = 0;
        for (const f of cadence.frequencies) v += Math.sin((2 * Math.PI * f * (start + k)) / SAMPLE_RATE);
        pcm[start + k] = Math.round(v * TONE_AMPLITUDE);
      }
    }
    start += n;
  });
  return pcm;
}

/** A second of low-level white noise (amplitude ±48, about -60 dBov), looped as comfort noise. */
export function renderComfortNoise(seed = 0x2545f491): Int16Array {
  const pcm = new Int16Array(SAMPLE_RATE);
  let x = seed >>> 0;
  for (let i = 0; i < pcm.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    pcm[i] = (x % 97) - 48;
  }
  return pcm;
}

/**
 * The power of `frequency` in `samples` (Goertzel algorithm), normalised by the number of
 * samples squared: a full-scale sine gives about 0.25 × amplitude².
 */
export function goertzelPower(samples: ArrayLike<number>, frequency: number, sampleRate = SAMPLE_RATE): number {
  const k = (2 * Math.cos((2 * Math.PI * frequency) / sampleRate)) as number;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return power / (samples.length * samples.length);
}
