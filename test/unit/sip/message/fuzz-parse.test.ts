/**
 * Fuzzing the parser (fast-check): mutated corpus messages and random bytes must only ever give
 * a message or a SipParseError carrying a status; what parses must survive checkRequest, every
 * typed accessor (SipParseError allowed) and a serialise/re-parse. Same for the stream framer.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../helpers/paths.js';
import {
  checkRequest,
  headerKey,
  parseMessage,
  SipParseError,
  SipRequestMessage,
  SipResponseMessage,
  StreamFramer,
  type ParsedMessage,
} from '../../../../src/sip/message/index.js';
import { shape, UAS_CAPS } from './corpus-helpers.js';

const seeds: Buffer[] = readdirSync(join(corpusDir, 'rfc4475/archive'))
  .map((f) => readFileSync(join(corpusDir, 'rfc4475/archive', f)))
  .concat(
    readdirSync(join(corpusDir, 'sip-message-examples')).map((f) =>
      readFileSync(join(corpusDir, 'sip-message-examples', f)),
    ),
  );

/** Interesting bytes to splice in: SIP delimiters and line ends. */
const SPECIAL = [...'\r\n :;,<>"\\@[]?=%/\t'].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0xff, 0xc3]);

const mutation = fc.oneof(
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.nat(),
    byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...SPECIAL)),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; len: number }
  | { op: 'dup'; at: number; len: number };

function mutate(seed: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'flip') {
      if (b.length > 0) b[at] = m.byte;
    } else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at, at + m.len), b.subarray(at + m.len)]);
  }
  return b;
}

/** Everything a layer above may do with a parsed message; only SipParseError may come out. */
function exercise(m: ParsedMessage): void {
  const accessors: Array<() => unknown> = [
    () => m.vias,
    () => m.via,
    () => m.from,
    () => m.to,
    () => m.cseq,
    () => m.callId,
    () => m.contacts,
  ];
  if (m.kind === 'request')
    accessors.push(
      () => m.requestUri,
      () => checkRequest(m, UAS_CAPS),
    );
  for (const a of accessors) {
    try {
      a();
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      expect(err.status).toBeGreaterThanOrEqual(400);
    }
  }
  const again = parseMessage(m.toBuffer());
  expect(shape(again)).toEqual(shape(m));
  // Text serialisation of every line (no original bytes to copy) re-parses equal too.
  const copy =
    m.kind === 'request'
      ? new SipRequestMessage(
          m.method,
          m.uri,
          m.headerFields.map((h) => ({ ...h })),
          m.body,
          m.version,
        )
      : new SipResponseMessage(
          m.status,
          m.reason,
          m.headerFields.map((h) => ({ ...h })),
          m.body,
          m.version,
        );
  expect(shape(parseMessage(copy.toBuffer()))).toEqual(shape(m));
  // A proxy-like edit: untouched lines are copied from the original bytes, the rest written.
  const expected = m.headerFields.filter((h) => headerKey(h.name) !== 'subject').map((h) => ({ ...h }));
  const firstVia = expected.findIndex((h) => headerKey(h.name) === 'via');
  const viaLine = {
    name: firstVia >= 0 ? expected[firstVia].name : 'Via',
    value: 'SIP/2.0/UDP fuzz.example;branch=z9hG4bKfuzz',
  };
  if (firstVia >= 0) expected.splice(firstVia, 0, viaLine);
  else expected.unshift(viaLine);
  m.prependHeader('Via', viaLine.value);
  m.removeHeader('Subject');
  const edited = parseMessage(m.toBuffer());
  const noCl = (hs: readonly { name: string; value: string }[]) =>
    hs.filter((h) => headerKey(h.name) !== 'content-length');
  expect(noCl(edited.headerFields)).toEqual(noCl(expected));
  expect(edited.body.equals(m.body)).toBe(true);
}

function check(bytes: Buffer): void {
  let m: ParsedMessage;
  try {
    m = parseMessage(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    const e = err as SipParseError;
    expect(e.message).not.toMatch(/internal parser error/);
    expect(typeof e.status).toBe('number');
    expect(e.status === 0 || (e.status >= 400 && e.status <= 599)).toBe(true);
    return;
  }
  exercise(m);
}

describe('parser fuzzing', () => {
  it('mutated corpus messages: a message or a SipParseError with a status', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (i, muts) => {
          check(mutate(seeds[i], muts));
        },
      ),
      { numRuns: 4000, seed: Number(process.env.FUZZ_SEED ?? 4475) },
    );
  });

  it('random bytes, and random bytes after a valid start line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, prefix) => {
        const head = prefix ? Buffer.from('INVITE sip:a@b SIP/2.0\r\nVia: ') : Buffer.alloc(0);
        check(Buffer.concat([head, Buffer.from(bytes)]));
      }),
      { numRuns: 3000, seed: Number(process.env.FUZZ_SEED ?? 3261) },
    );
  });

  it('SIP-looking random text built from header fragments', () => {
    const frag = fc.constantFrom(
      'Via: SIP/2.0/UDP ',
      'From: ',
      'To: ',
      '<sip:',
      '>',
      ';tag=',
      'Call-ID: ',
      'CSeq: 1 ',
      'Contact: ',
      '"',
      '\\',
      '\r\n',
      ' ',
      ',',
      ';',
      '@',
      '[::1]',
      ':5060',
      'l: ',
      '9',
      'Content-Length: ',
      'sip:x@y',
      '?a=b',
      '%41',
      '\r\n\r\n',
      '\t',
    );
    fc.assert(
      fc.property(
        fc.constantFrom('OPTIONS sip:a@b SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n', ''),
        fc.array(frag, { maxLength: 60 }),
        (start, parts) => {
          check(Buffer.from(start + parts.join(''), 'latin1'));
        },
      ),
      { numRuns: 3000, seed: Number(process.env.FUZZ_SEED ?? 5118) },
    );
  });

  it('stream framer: mutated concatenations never throw, and stop after a fatal event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: seeds.length - 1 }), { minLength: 1, maxLength: 4 }),
        fc.array(mutation, { maxLength: 4 }),
        fc.integer({ min: 1, max: 700 }),
        (idx, muts, chunk) => {
          const data = mutate(Buffer.concat(idx.map((i) => seeds[i])), muts);
          const f = new StreamFramer({ maxHeaderBytes: 4096 });
          let dead = false;
          for (let p = 0; p < data.length; p += chunk) {
            const events = f.push(data.subarray(p, p + chunk));
            if (dead) expect(events).toEqual([]);
            for (const e of events) {
              if (e.type === 'fatal') dead = true;
              if (e.type === 'message') exercise(e.message);
              if (e.type === 'invalid') expect(e.error).toBeInstanceOf(SipParseError);
            }
          }
          expect(f.closed).toBe(dead);
        },
      ),
      { numRuns: 1500, seed: Number(process.env.FUZZ_SEED ?? 5626) },
    );
  });
});
