/**
 * Model test of the header accessors: random sequences of set/add/prepend/remove and direct
 * edits of `headers`, checked after every step against a plain list of lines.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  headerKey,
  isListHeader,
  parseMessage,
  parseNameAddr,
  parseVia,
  SipParseError,
  type HeaderField,
  type ParsedMessage,
} from '../../../../src/sip/message/index.js';

const NAMES = [
  'Via',
  'v',
  'VIA',
  'Contact',
  'm',
  'Subject',
  's',
  'X-Custom',
  'x-custom',
  'Call-ID',
  'i',
  'Content-Length',
  'l',
];

type Op =
  | { op: 'set' | 'add' | 'prepend' | 'remove'; name: string; value: string }
  | { op: 'direct-push' | 'direct-rename'; name: string; value: string; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('set' as const, 'add' as const, 'prepend' as const, 'remove' as const),
    name: fc.constantFrom(...NAMES),
    value: fc.constantFrom('a', 'b, c', 'd'),
  }),
  fc.record({
    op: fc.constantFrom('direct-push' as const, 'direct-rename' as const),
    name: fc.constantFrom(...NAMES),
    value: fc.constantFrom('e', 'f'),
    at: fc.nat(),
  }),
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
        const m = parseMessage(
          Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: hi\r\nl: 0\r\n\r\n'),
        );
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
          expect(again.headers.filter((h) => headerKey(h.name) !== 'content-length')).toEqual(
            model.filter((h) => headerKey(h.name) !== 'content-length'),
          );
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });
});

describe('headerKey (RFC 3261 §7.3.1 case-insensitive names, §7.3.3 compact forms)', () => {
  const usual = [
    'To',
    'Via',
    'From',
    'CSeq',
    'Route',
    'Allow',
    'Call-ID',
    'Contact',
    'Require',
    'Expires',
    'Supported',
    'User-Agent',
    'Max-Forwards',
    'Record-Route',
    'Content-Type',
    'Authorization',
    'Content-Length',
    'WWW-Authenticate',
    'Proxy-Authorization',
  ];
  it('gives the lower-case name for the usual spellings and any other case of them', () => {
    for (const n of usual) {
      expect(headerKey(n)).toBe(n.toLowerCase());
      expect(headerKey(n.toUpperCase())).toBe(n.toLowerCase());
      expect(headerKey(n.toLowerCase())).toBe(n.toLowerCase());
    }
    expect(headerKey('X-Custom-Header')).toBe('x-custom-header');
    expect(headerKey('SUBJECT')).toBe('subject');
  });
  it('expands compact forms in either case', () => {
    for (const [c, long] of [
      ['v', 'via'],
      ['f', 'from'],
      ['t', 'to'],
      ['i', 'call-id'],
      ['m', 'contact'],
      ['l', 'content-length'],
      ['c', 'content-type'],
      ['k', 'supported'],
      ['s', 'subject'],
      ['e', 'content-encoding'],
    ]) {
      expect(headerKey(c)).toBe(long);
      expect(headerKey(c.toUpperCase())).toBe(long);
    }
    expect(headerKey('q')).toBe('q');
  });
});

describe('contactWildcard (RFC 3261 §10.2.2)', () => {
  const withContacts = (...lines: string[]): boolean => {
    const m = parseMessage(
      Buffer.from(
        `REGISTER sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n${lines.map((l) => `Contact: ${l}\r\n`).join('')}Content-Length: 0\r\n\r\n`,
      ),
    );
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
    expect(m.toBuffer().toString()).toBe(
      text.replace('Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1', `Via: ${stamped}`),
    );
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
          .replace(
            'Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1',
            `Via: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK2\r\nVia: ${stamped}`,
          )
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
      text
        .replace('Via: SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bK1', `Via: ${stamped}`)
        .replace('To: <sip:a@h>\r\n', 'To: <sip:a@h>;tag=x\r\n'),
    );
  });
});

describe('typed list headers (RFC 3261 §7.3.1: repeated lines and comma-separated values alike)', () => {
  const VIA = [
    'SIP/2.0/UDP a;branch=z9hG4bK1',
    'SIP/2.0/TCP b:5061;branch=z9hG4bK2;rport',
    'SIP / 2.0 / tls [::1];branch=z9hG4bK3',
  ];
  const ADDR = ['<sip:a@h1;lr>', '"B, b" <sip:b@h2>;x=1', 'sip:c@h3', '<sip:d@h4>;expires=60'];
  const line = (name: string, pool: string[]) =>
    fc.tuple(fc.constantFrom(name), fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }));
  const lines = fc.array(
    fc.oneof(
      line('Via', VIA),
      line('v', VIA),
      line('Contact', ADDR),
      line('Route', ADDR),
      line('Record-Route', ADDR),
      line('Subject', ['x, y']),
    ),
    { maxLength: 8 },
  );

  it('give every value in order, as getHeaders(name) parsed one by one', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        const text = [
          'OPTIONS sip:a@b SIP/2.0',
          ...ls.map(([n, vs]) => `${n}: ${vs.join(' ,  ')}`),
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        const m = parseMessage(Buffer.from(text));
        const vias = m.getHeaders('Via');
        if (vias.length === 0) expect(() => m.vias).toThrow(SipParseError);
        else expect(m.vias).toEqual(vias.map(parseVia));
        expect(m.contacts).toEqual(m.getHeaders('Contact').map(parseNameAddr));
        expect(m.routes).toEqual(m.getHeaders('Route').map(parseNameAddr));
        expect(m.recordRoutes).toEqual(m.getHeaders('Record-Route').map(parseNameAddr));
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('take the lone `Contact: *` as no contact, and `*` among others as a 400 (RFC 3261 §10.2.2)', () => {
    const msg = (...contacts: string[]) =>
      parseMessage(
        Buffer.from(['REGISTER sip:h SIP/2.0', ...contacts.map((c) => `Contact: ${c}`), '', ''].join('\r\n')),
      );
    expect(msg('*').contacts).toEqual([]);
    expect(msg(' * ').contacts).toEqual([]);
    expect(() => msg('*', '<sip:a@h>').contacts).toThrow(/mixed/);
    expect(() => msg('<sip:a@h>, *').contacts).toThrow(/mixed/);
    expect(msg().contacts).toEqual([]);
  });
});

describe('Call-ID (RFC 3261 §20.8: no whitespace)', () => {
  const callId = (v: string) =>
    parseMessage(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nCall-ID: ${v}\r\n\r\n`, 'utf8')).callId;
  it('takes words with and without @', () => {
    expect(callId('a84b4c76e66710@pc33.atlanta.com')).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(callId('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(callId('caf\u00e9')).toBe('caf\u00e9');
  });
  it('refuses blanks inside, ASCII or not', () => {
    for (const bad of ['a b', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'ab\u000b'])
      expect(() => callId(bad), JSON.stringify(bad)).toThrow(SipParseError);
  });
});

describe('isListHeader (RFC 3261 §7.3.1: only #(values) headers combine)', () => {
  it('splits the list headers of RFC 3261 §20 and nothing whose grammar holds commas', () => {
    for (const key of [
      'via',
      'contact',
      'route',
      'record-route',
      'require',
      'supported',
      'allow',
      'proxy-require',
      'x-unknown',
    ])
      expect(isListHeader(key), key).toBe(true);
    for (const key of [
      'from',
      'to',
      'call-id',
      'cseq',
      'max-forwards',
      'expires',
      'authorization',
      'www-authenticate',
      'user-agent',
      'date',
      'content-length',
    ])
      expect(isListHeader(key), key).toBe(false);
  });
});
