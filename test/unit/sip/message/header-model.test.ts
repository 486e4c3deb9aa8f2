/**
 * Model test of the header accessors: random sequences of set/add/prepend/remove and direct
 * edits of `headers`, checked after every step against a plain list of lines.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerKey, parseMessage, type HeaderField, type ParsedMessage } from '../../../../src/sip/message/index.js';

const NAMES = ['Via', 'v', 'VIA', 'Contact', 'm', 'Subject', 's', 'X-Custom', 'x-custom', 'Call-ID', 'i', 'Content-Length', 'l'];

type Op =
  | { op: 'set' | 'add' | 'prepend' | 'remove'; name: string; value: string }
  | { op: 'direct-push' | 'direct-rename'; name: string; value: string; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('set' as const, 'add' as const, 'prepend' as const, 'remove' as const), name: fc.constantFrom(...NAMES), value: fc.constantFrom('a', 'b, c', 'd') }),
  fc.record({ op: fc.constantFrom('direct-push' as const, 'direct-rename' as const), name: fc.constantFrom(...NAMES), value: fc.constantFrom('e', 'f'), at: fc.nat() }),
);

function apply(model: HeaderField[], o: Op): void {
  const key = headerKey(o.name);
  const idx = model.map((h, i) => (headerKey(h.name) === key ? i : -1)).filter((i) => i >= 0);
  if (o.op === 'set') {
    if (idx.length === 0) model.push({ name: o.name, value: o.value });
    else {
      model[idx[0]] = { name: model[idx[0]].name, value: o.value };
      for (const i of idx.slice(1).reverse()) model.splice(i, 1);
    }
  } else if (o.op === 'add') {
    if (idx.length === 0) model.push({ name: o.name, value: o.value });
    else model.splice(idx[idx.length - 1] + 1, 0, { name: model[idx[idx.length - 1]].name, value: o.value });
  } else if (o.op === 'prepend') {
    if (idx.length === 0) model.unshift({ name: o.name, value: o.value });
    else model.splice(idx[0], 0, { name: model[idx[0]].name, value: o.value });
  } else if (o.op === 'remove') {
    for (const i of idx.reverse()) model.splice(i, 1);
  }
}

function applyMsg(m: ParsedMessage, o: Op): void {
  if (o.op === 'set') m.setHeader(o.name, o.value);
  else if (o.op === 'add') m.addHeader(o.name, o.value);
  else if (o.op === 'prepend') m.prependHeader(o.name, o.value);
  else if (o.op === 'remove') m.removeHeader(o.name);
  else if (o.op === 'direct-push') m.headers.push({ name: o.name, value: o.value });
  else if (m.headers.length > 0 && o.op === 'direct-rename') {
    const i = o.at % m.headers.length;
    m.headers[i] = { name: o.name, value: m.headers[i].value };
  }
}

describe('header accessors against a model', () => {
  it('agree after any sequence of edits', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const m = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: hi\r\nl: 0\r\n\r\n'));
        const model: HeaderField[] = m.headers.map((h) => ({ ...h }));
        for (const o of ops) {
          if (o.op === 'direct-push') model.push({ name: o.name, value: o.value });
          else if (o.op === 'direct-rename') {
            if (model.length > 0) {
              const i = o.at % model.length;
              model[i] = { name: o.name, value: model[i].value };
            }
          } else apply(model, o);
          applyMsg(m, o);
          expect(m.headerFields).toEqual(model);
          for (const n of ['Via', 'Contact', 'Subject', 'X-Custom', 'Call-ID']) {
            const key = headerKey(n);
            const lines = model.filter((h) => headerKey(h.name) === key).map((h) => h.value);
            expect(m.getHeaderLines(n)).toEqual(lines);
            expect(m.hasHeader(n)).toBe(lines.length > 0);
          }
          const again = parseMessage(m.toBuffer());
          expect(again.headers.filter((h) => headerKey(h.name) !== 'content-length')).toEqual(model.filter((h) => headerKey(h.name) !== 'content-length'));
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });
});

describe('contactWildcard (RFC 3261 §10.2.2)', () => {
  const withContacts = (...lines: string[]): boolean => {
    const m = parseMessage(Buffer.from(`REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n${lines.map((l) => `Contact: ${l}\r\n`).join('')}Content-Length: 0\r\n\r\n`));
    return m.contactWildcard;
  };
  it('is true only for one Contact line holding `*` alone', () => {
    expect(withContacts('*')).toBe(true);
    expect(withContacts(' * ')).toBe(true);
    expect(withContacts()).toBe(false);
    expect(withContacts('<sip:a@h>')).toBe(false);
    expect(withContacts('*, <sip:a@h>')).toBe(false);
    expect(withContacts('*', '<sip:a@h>')).toBe(false);
    expect(withContacts('*', '*')).toBe(false);
  });
});

describe('serialising a parsed message after the Via stamp (replaceFirstLine)', () => {
  const text =
    'REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\n' +
    'Call-ID: c\r\nCSeq: 1 REGISTER\r\nContact: <sip:a@127.0.0.9:5070>\r\nContent-Length: 4\r\n\r\nbody';
  const stamped = 'SIP/2.0/UDP 127.0.0.9:5070;rport=5070;branch=z9hG4bK1;received=127.0.0.1';
  it('writes the new Via line and the other lines as they were', () => {
    const m = parseMessage(Buffer.from(text));
    m.replaceFirstLine('Via', stamped);
    expect(m.toBuffer().toString()).toBe(text.replace('Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1', `Via: ${stamped}`));
    expect(m.getHeader('Via')).toBe(stamped);
  });
  it('keeps both changes when another one follows the stamp (before or after a first serialisation)', () => {
    for (const serialiseBetween of [false, true]) {
      const m = parseMessage(Buffer.from(text));
      m.replaceFirstLine('Via', stamped);
      if (serialiseBetween) m.toBuffer();
      m.setHeader('Contact', '<sip:a@127.0.0.1:9>');
      m.prependHeader('Via', 'SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK2');
      const out = m.toBuffer().toString();
      expect(out).toBe(
        text
          .replace('Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1', `Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK2\r\nVia: ${stamped}`)
          .replace('Contact: <sip:a@127.0.0.9:5070>', 'Contact: <sip:a@127.0.0.1:9>'),
      );
      // And what comes out parses back to the same header lines.
      expect(parseMessage(Buffer.from(out)).headerFields).toEqual(m.headerFields);
    }
  });
  it('a second replaceFirstLine on another header is kept as well', () => {
    const m = parseMessage(Buffer.from(text));
    m.replaceFirstLine('Via', stamped);
    m.replaceFirstLine('To', '<sip:a@h>;tag=x');
    expect(m.toBuffer().toString()).toBe(
      text.replace('Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1', `Via: ${stamped}`).replace('To: <sip:a@h>\r\n', 'To: <sip:a@h>;tag=x\r\n'),
    );
  });
});
