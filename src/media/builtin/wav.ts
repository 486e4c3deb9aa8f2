/**
 * Reading the music-on-hold file (option `music-on-hold-file`): RIFF WAVE, 8000 Hz, mono, either
 * 16-bit linear PCM (format 1) or G.711 µ-law (format 7) / A-law (format 6). Anything else is a
 * configuration error that names the file and what is wrong with it.
 */
import { readFileSync } from 'node:fs';
import { alawToLinear, ulawToLinear } from './g711.js';
import { SAMPLE_RATE } from './tones.js';

/** The file cannot be used as music on hold. */
export class WavFormatError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, without the file name. */
    readonly problem: string,
  ) {
    super(`music-on-hold-file ${file}: ${problem}`);
    this.name = 'WavFormatError';
  }
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;

/** Decodes WAV bytes to 8 kHz 16-bit PCM; `file` names it in errors. */
export function parseWav(bytes: Buffer, file: string): Int16Array {
  const fail = (problem: string): never => {
    throw new WavFormatError(file, problem);
  };
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WAVE')
    fail('not a RIFF WAVE file');
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) fail('the fmt chunk is too short');
      format = {
        tag: body.readUInt16LE(0),
        channels: body.readUInt16LE(2),
        rate: body.readUInt32LE(4),
        bits: body.readUInt16LE(14),
      };
      if (format.tag === 0xfffe && body.length >= 26) format.tag = body.readUInt16LE(24); // WAVE_FORMAT_EXTENSIBLE
    } else if (id === 'data') {
      if (!format) return fail('the data chunk comes before a fmt chunk');
      return decode(body, format, fail);
    }
    offset += 8 + size + (size & 1);
  }
  return fail(format ? 'no data chunk' : 'no fmt chunk');
}

function decode(
  data: Buffer,
  f: { tag: number; channels: number; rate: number; bits: number },
  fail: (problem: string) => never,
): Int16Array {
  if (f.channels !== 1) fail(`${f.channels} channels; mono (1 channel) is required`);
  if (f.rate !== SAMPLE_RATE) fail(`sample rate ${f.rate} Hz; 8000 Hz is required`);
  let pcm: Int16Array;
  if (f.tag === WAVE_FORMAT_PCM) {
    if (f.bits !== 16) fail(`${f.bits}-bit PCM; 16-bit PCM is required`);
    pcm = new Int16Array(Math.floor(data.length / 2));
    for (let i = 0; i < pcm.length; i++) pcm[i] = data.readInt16LE(i * 2);
  } else if (f.tag === WAVE_FORMAT_MULAW || f.tag === WAVE_FORMAT_ALAW) {
    if (f.bits !== 8) fail(`${f.bits}-bit G.711; G.711 has 8 bits per sample`);
    const law = f.tag === WAVE_FORMAT_MULAW ? ulawToLinear : alawToLinear;
    pcm = new Int16Array(data.length);
    for (let i = 0; i < pcm.length; i++) pcm[i] = law(data[i]);
  } else {
    return fail(`audio format ${f.tag}; 16-bit PCM (1), A-law (6) or µ-law (7) is required`);
  }
  if (pcm.length === 0) fail('no audio samples');
  return pcm;
}

/** Reads and decodes the file (read errors become {@link WavFormatError} too). */
export function readWavFile(file: string): Int16Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new WavFormatError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseWav(bytes, file);
}

/** A WAV file's bytes for `pcm` (tests and tools): 8 kHz mono, 16-bit PCM or G.711 (tag 6/7). */
export function encodeWav(samples: Int16Array | Uint8Array, tag = WAVE_FORMAT_PCM, channels = 1, rate = 8000): Buffer {
  const bits = tag === WAVE_FORMAT_PCM ? 16 : 8;
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const b = Buffer.alloc(44);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + data.length, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(tag, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE((rate * channels * bits) / 8, 28);
  b.writeUInt16LE((channels * bits) / 8, 32);
  b.writeUInt16LE(bits, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(data.length, 40);
  return Buffer.concat([b, data]);
}
