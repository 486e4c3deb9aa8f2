import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/util/clock.js';
import { md5Ascii } from '../../../../src/sip/auth/md5-ascii.js';
import { digestHash } from '../../../../src/sip/auth/digest-hash.js';
import {
  DigestClient,
  DigestServer,
  NonceManager,
  computeDigestResponse,
  parseAuthHeader,
} from '../../../../src/sip/auth/index.js';

describe('digest response computation', () => {
  it('matches the RFC 2617 §3.5 MD5 example', () => {
    expect(
      computeDigestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('matches the RFC 7616 §3.9.1 SHA-256 and MD5 examples', () => {
    const base = {
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      password: 'Circle of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      qop: 'auth' as const,
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    };
    expect(computeDigestResponse({ ...base, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
    expect(computeDigestResponse({ ...base, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });
});

describe('auth header parsing', () => {
  it('parses quoted strings with commas and escapes, bare tokens', () => {
    const p = parseAuthHeader('Digest username="a\\"b", realm="x, y",nc=00000001 ,qop=auth');
    expect(p?.scheme).toBe('Digest');
    expect(p?.params.get('username')).toBe('a"b');
    expect(p?.params.get('realm')).toBe('x, y');
    expect(p?.params.get('nc')).toBe('00000001');
    expect(p?.params.get('qop')).toBe('auth');
  });
  it('rejects garbage', () => {
    expect(parseAuthHeader('Digest')).toBeUndefined();
    expect(parseAuthHeader('Digest realm="unterminated')).toBeUndefined();
    expect(parseAuthHeader('Digest =x')).toBeUndefined();
  });
  it('agrees with the RFC 3261 §25.1 grammar written as a regular expression, on random headers', () => {
    // The grammar as one sticky regular expression (the parser's former implementation): the oracle.
    const oracle = (value: string): { scheme: string; params: Array<[string, string]> } | undefined => {
      const m = /^\s*([A-Za-z][A-Za-z0-9._-]*)\s+/.exec(value);
      if (!m) return undefined;
      const params = new Map<string, string>();
      const re = /([A-Za-z0-9._-]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\[^])*)"|([^\s,"]+))[ \t]*(?:,[ \t]*|$)/y;
      re.lastIndex = m[0].length;
      for (let n = 0; n < 64; n++) {
        if (re.lastIndex >= value.length) return { scheme: m[1], params: [...params] };
        const start = re.lastIndex;
        const pm = re.exec(value);
        if (!pm || re.lastIndex === start) return undefined;
        let val = pm[2] ?? pm[3];
        if (pm[2] !== undefined && val.includes('\\')) val = val.replace(/\\([^])/g, '$1');
        if (!params.has(pm[1].toLowerCase())) params.set(pm[1].toLowerCase(), val);
      }
      return undefined;
    };
    const piece = fc.constantFrom(
      'Digest',
      ' ',
      '\t',
      'realm',
      'nonce',
      'Qop',
      '=',
      ',',
      '"',
      '\\',
      'a',
      'x y',
      '0',
      '-',
      '\u00e9',
      ';',
      ':',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
        const v = parts.join('');
        const got = parseAuthHeader(v);
        const want = oracle(v);
        expect(got === undefined ? undefined : { scheme: got.scheme, params: [...got.params] }).toEqual(want);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('DigestServer + DigestClient', () => {
  const realm = '127.0.0.1';
  const lookup = (u: string) => (u === '8888' ? { password: '8888-secret' } : undefined);

  it('challenges with SHA-256 first, then MD5, qop=auth', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const ch = server.challenge(realm);
    expect(ch).toHaveLength(2);
    expect(ch[0]).toMatch(/^Digest realm="127\.0\.0\.1", nonce="[0-9a-f]{29}", algorithm=SHA-256, qop="auth"$/);
    expect(ch[1]).toMatch(/algorithm=MD5, qop="auth"$/);
  });

  it('compares the response digest case-insensitively and every character of it', () => {
    const server = new DigestServer({ clock: new FakeClock(1000), algorithms: ['MD5'] });
    const answer = (): string =>
      new DigestClient({ username: '8888', password: '8888-secret' }).answer({
        method: 'REGISTER',
        uri: 'sip:127.0.0.1',
        challenges: server.challenge(realm),
      })!;
    const upper = answer().replace(/response="([0-9a-f]+)"/, (_m, r: string) => `response="${r.toUpperCase()}"`);
    expect(server.verify({ method: 'REGISTER', credentials: [upper] }, realm, lookup).outcome).toBe('ok');
    for (const at of [0, 17, 31]) {
      const bad = answer().replace(
        /response="([0-9a-f]+)"/,
        (_m, r: string) => `response="${r.slice(0, at)}${r[at] === '0' ? '1' : '0'}${r.slice(at + 1)}"`,
      );
      expect(server.verify({ method: 'REGISTER', credentials: [bad] }, realm, lookup)).toMatchObject({
        outcome: 'challenge',
        reason: 'bad-credentials',
      });
    }
    const short = answer().replace(/response="([0-9a-f]+)"/, (_m, r: string) => `response="${r.slice(1)}"`);
    expect(server.verify({ method: 'REGISTER', credentials: [short] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      reason: 'bad-credentials',
    });
  });

  it('accepts a correct answer with either algorithm and rejects its replay', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const ch = server.challenge(realm);
    for (const only of [[ch[0]], [ch[1]]]) {
      const server2 = new DigestServer({ clock: new FakeClock(1000) });
      const c2 = server2.challenge(realm);
      const pick = only[0] === ch[0] ? [c2[0]] : [c2[1]];
      const auth = new DigestClient({ username: '8888', password: '8888-secret' }).answer({
        method: 'REGISTER',
        uri: 'sip:127.0.0.1',
        challenges: pick,
      })!;
      const v = server2.verify({ method: 'REGISTER', credentials: [auth] }, realm, lookup);
      expect(v.outcome).toBe('ok');
      // Same message again: nonce-count not increasing → stale re-challenge, never ok.
      const again = server2.verify({ method: 'REGISTER', credentials: [auth] }, realm, lookup);
      expect(again).toMatchObject({ outcome: 'challenge', stale: true });
    }
  });

  it('client prefers SHA-256 when both are offered, and increments nc', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const client = new DigestClient({ username: '8888', password: '8888-secret' });
    const ch = server.challenge(realm);
    const a1 = client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1', challenges: [ch[1], ch[0]] })!;
    expect(a1).toContain('algorithm=SHA-256');
    expect(a1).toContain('nc=00000001');
    expect(server.verify({ method: 'REGISTER', credentials: [a1] }, realm, lookup).outcome).toBe('ok');
    const a2 = client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1', challenges: ch })!;
    expect(a2).toContain('nc=00000002');
    expect(server.verify({ method: 'REGISTER', credentials: [a2] }, realm, lookup).outcome).toBe('ok');
  });

  it('wrong password: re-challenge first, 403 verdict on the retry nonce', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const bad = new DigestClient({ username: '8888', password: 'nope' });
    const ch = server.challenge(realm);
    const a1 = bad.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1', challenges: ch })!;
    const v1 = server.verify({ method: 'REGISTER', credentials: [a1] }, realm, lookup);
    expect(v1).toEqual({
      outcome: 'challenge',
      reason: 'bad-credentials',
      stale: false,
      retry: true,
      username: '8888',
    });
    const ch2 = server.challenge(realm, { retry: true });
    const a2 = bad.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1', challenges: ch2 })!;
    expect(server.verify({ method: 'REGISTER', credentials: [a2] }, realm, lookup).outcome).toBe('forbidden');
  });

  it('expired nonce with the right digest → stale=true; wrong digest is never stale', () => {
    const clock = new FakeClock(1000);
    const server = new DigestServer({ clock, nonceLifetimeMs: 30_000 });
    const ch = server.challenge(realm);
    clock.advance(30_001);
    const good = new DigestClient({ username: '8888', password: '8888-secret' }).answer({
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      challenges: ch,
    })!;
    expect(server.verify({ method: 'REGISTER', credentials: [good] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      stale: true,
    });
    const stale = server.challenge(realm, { stale: true });
    expect(stale[0]).toContain('stale=true');
    const bad = new DigestClient({ username: '8888', password: 'x' }).answer({
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      challenges: ch,
    })!;
    expect(server.verify({ method: 'REGISTER', credentials: [bad] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      reason: 'bad-credentials',
      stale: false,
    });
  });

  it('a nonce of an earlier process (before a restart) and the right digest → stale=true', () => {
    const before = new DigestServer({ clock: new FakeClock(1000) });
    const after = new DigestServer({ clock: new FakeClock(1000) });
    const ch = before.challenge(realm);
    const client = new DigestClient({ username: '8888', password: '8888-secret' });
    const good = client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1', challenges: ch })!;
    expect(after.verify({ method: 'REGISTER', credentials: [good] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      stale: true,
      reason: 'stale',
    });
    const bad = new DigestClient({ username: '8888', password: 'x' }).answer({
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      challenges: ch,
    })!;
    expect(after.verify({ method: 'REGISTER', credentials: [bad] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      stale: false,
      reason: 'unknown-nonce',
    });
  });

  it('a digest server rebuilt on the same nonces (new options) accepts the answers to the old one', () => {
    const clock = new FakeClock(1000);
    const nonces = new NonceManager({ clock });
    const a = new DigestServer({ clock, nonces });
    const b = new DigestServer({ clock, nonces, algorithms: ['MD5'] });
    const auth = new DigestClient({ username: '8888', password: '8888-secret' }).answer({
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      challenges: [a.challenge(realm)[1]],
    })!;
    expect(b.verify({ method: 'REGISTER', credentials: [auth] }, realm, lookup).outcome).toBe('ok');
    // …and the replay table is the same one.
    expect(a.verify({ method: 'REGISTER', credentials: [auth] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      reason: 'replay',
    });
  });

  it('forged nonce, other realm, unknown user, missing fields', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const forged =
      'Digest username="8888", realm="127.0.0.1", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:x", response="00", qop=auth, nc=00000001, cnonce="a"';
    expect(server.verify({ method: 'REGISTER', credentials: [forged] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      reason: 'unknown-nonce',
    });
    const other = forged.replace('realm="127.0.0.1"', 'realm="elsewhere"');
    expect(server.verify({ method: 'REGISTER', credentials: [other] }, realm, lookup)).toMatchObject({
      outcome: 'challenge',
      reason: 'missing',
    });
    const ch = server.challenge(realm);
    const who = new DigestClient({ username: 'ghost', password: 'x' }).answer({
      method: 'REGISTER',
      uri: 'sip:x',
      challenges: ch,
    })!;
    expect(server.verify({ method: 'REGISTER', credentials: [who] }, realm, lookup).outcome).toBe('challenge');
    expect(
      server.verify({ method: 'REGISTER', credentials: ['Digest realm="127.0.0.1"'] }, realm, lookup).outcome,
    ).toBe('malformed');
    expect(
      server.verify(
        {
          method: 'REGISTER',
          credentials: ['Digest username="8888", realm="127.0.0.1", nonce="n", uri="u", response="r", qop=auth'],
        },
        realm,
        lookup,
      ).outcome,
    ).toBe('malformed');
  });

  it('cached H(A1) and H(A2) follow a changed password, the other algorithm and another method on the same URI', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    let password = '8888-secret';
    const byPassword = (u: string) => (u === '8888' ? { password } : undefined);
    const answer = (method: string, pw: string, pick: 0 | 1): string =>
      new DigestClient({ username: '8888', password: pw }).answer({
        method,
        uri: 'sip:127.0.0.1',
        challenges: [server.challenge(realm)[pick]],
      })!;
    expect(
      server.verify({ method: 'REGISTER', credentials: [answer('REGISTER', '8888-secret', 1)] }, realm, byPassword)
        .outcome,
    ).toBe('ok');
    // Same user, same URI, other algorithm (SHA-256) and other method: recomputed, not reused.
    expect(
      server.verify({ method: 'REGISTER', credentials: [answer('REGISTER', '8888-secret', 0)] }, realm, byPassword)
        .outcome,
    ).toBe('ok');
    expect(
      server.verify({ method: 'INVITE', credentials: [answer('INVITE', '8888-secret', 1)] }, realm, byPassword).outcome,
    ).toBe('ok');
    // A REGISTER digest presented for an INVITE must not match through the cache.
    expect(
      server.verify({ method: 'INVITE', credentials: [answer('REGISTER', '8888-secret', 1)] }, realm, byPassword),
    ).toMatchObject({ outcome: 'challenge', reason: 'bad-credentials' });
    // The password changes in the configuration: the old one stops working at once.
    password = 'new-secret';
    expect(
      server.verify({ method: 'REGISTER', credentials: [answer('REGISTER', '8888-secret', 1)] }, realm, byPassword),
    ).toMatchObject({ outcome: 'challenge', reason: 'bad-credentials' });
    expect(
      server.verify({ method: 'REGISTER', credentials: [answer('REGISTER', 'new-secret', 1)] }, realm, byPassword)
        .outcome,
    ).toBe('ok');
  });

  it('accepts a pre-computed HA1 secret', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    const ch = server.challenge(realm);
    const auth = new DigestClient({ username: '8888', password: '8888-secret' }).answer({
      method: 'REGISTER',
      uri: 'sip:a',
      challenges: [ch[1]],
    })!;
    // md5("8888:127.0.0.1:8888-secret")
    const ha1 = createHash('md5').update('8888:127.0.0.1:8888-secret').digest('hex');
    expect(
      server.verify({ method: 'REGISTER', credentials: [auth] }, realm, () => ({ ha1: { MD5: ha1 } })).outcome,
    ).toBe('ok');
  });
});

describe('NonceManager slot ring', () => {
  it('holds a fixed number of slots: a nonce whose slot was reused is invalid, never fresh again', () => {
    const clock = new FakeClock(1000);
    const nm = new NonceManager({ clock, slots: 100 });
    expect(nm.slots).toBe(128);
    const first = nm.issue();
    nm.commit(first, 1);
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      const n = nm.issue();
      expect(nm.check(n, 1)).toEqual({ result: 'ok', retry: false, ts: clock.now() });
      nm.commit(n, 1);
    }
    expect(nm.tracked).toBe(128);
    // `first`'s slot holds another nonce now: a replay of it is not accepted.
    expect(nm.check(first, 1)).toEqual({ result: 'invalid' });
    expect(nm.check(first, 2)).toEqual({ result: 'invalid' });
    // The 128 latest are all still there, each at its own count.
    const last = nm.issue();
    for (let i = 0; i < 127; i++) nm.issue();
    expect(nm.check(last, 1).result).toBe('ok');
    nm.issue();
    expect(nm.check(last, 1).result).toBe('invalid');
  });
  it('a nonce with any character changed (sequence, retry flag, random tag), in upper case, or of another process is invalid', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const nm = new NonceManager({ clock });
    nm.issue();
    const n = nm.issue(false);
    expect(n).toMatch(/^[0-9a-f]{29}$/);
    expect(nm.check(n, 1)).toEqual({ result: 'ok', retry: false, ts: 1_700_000_000_000 });
    const flip = (i: number): string => n.slice(0, i) + (n[i] === '0' ? '1' : '0') + n.slice(i + 1);
    for (const i of [0, 4, 11, 12, 13, 20, 21, 28]) expect(nm.check(flip(i), 1)).toEqual({ result: 'invalid' });
    // Hex letters in upper case are not what we issued (a nonce is echoed verbatim).
    let lettered = n;
    for (let i = 0; i < 100 && !/[a-f]/.test(lettered); i++) lettered = nm.issue();
    expect(
      nm.check(
        lettered.replace(/[a-f]/, (c) => c.toUpperCase()),
        1,
      ),
    ).toEqual({ result: 'invalid' });
    expect(nm.check(n + '0', 1)).toEqual({ result: 'invalid' });
    expect(nm.check(n.slice(1), 1)).toEqual({ result: 'invalid' });
    // Empty slots cannot be guessed: an all-zero nonce (sequence 0, tag 0) is not ours.
    expect(nm.check('0'.repeat(29), 1)).toEqual({ result: 'invalid' });
    expect(nm.check('000000000005' + '0' + '0'.repeat(16), 1)).toEqual({ result: 'invalid' });
    expect(new NonceManager({ clock }).check(n, 1)).toEqual({ result: 'invalid' });
    // The retry flag survives the round trip.
    expect(nm.check(nm.issue(true), 1)).toEqual({ result: 'ok', retry: true, ts: 1_700_000_000_000 });
  });
  it('a nonce lives its lifetime, then is stale (a right digest then gets stale=true)', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const nm = new NonceManager({ clock, lifetimeMs: 300_000 });
    const n = nm.issue(true);
    clock.advance(300_000);
    expect(nm.check(n, 1)).toEqual({ result: 'ok', retry: true, ts: 1_700_000_000_000 });
    clock.advance(1);
    expect(nm.check(n, 1)).toEqual({ result: 'stale', retry: true });
  });
  it('a nonce reused with growing nonce-counts stays one slot; counts must grow', () => {
    const clock = new FakeClock(1_700_000_000_000);
    const nm = new NonceManager({ clock });
    const n = nm.issue();
    for (let nc = 1; nc <= 1000; nc++) {
      expect(nm.check(n, nc).result).toBe('ok');
      nm.commit(n, nc);
      expect(nm.check(n, nc).result).toBe('replay');
      expect(nm.check(n, nc - 1).result).toBe('replay');
    }
    expect(nm.tracked).toBe(1);
    expect(nm.check(n, 0xffffffff).result).toBe('ok');
    clock.advance(300_001);
    expect(nm.check(n, 1001).result).toBe('stale');
  });
  it('without qop a nonce is single-use', () => {
    const nm = new NonceManager({ clock: new FakeClock(5) });
    const n = nm.issue();
    expect(nm.check(n, undefined).result).toBe('ok');
    nm.commit(n, undefined);
    expect(nm.check(n, undefined).result).toBe('replay');
  });
});

describe('digest robustness', () => {
  it('parseAuthHeader and verify never throw on arbitrary header values', () => {
    const server = new DigestServer({ clock: new FakeClock(1000) });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.string().map((s) => `Digest ${s}`),
            fc.constant(
              'Digest username="8888", realm="r", nonce="x", uri="u", response="r", qop=auth, nc=zz, cnonce="c"',
            ),
          ),
          { maxLength: 3 },
        ),
        (values) => {
          for (const v of values) parseAuthHeader(v);
          const out = server.verify({ method: 'REGISTER', credentials: values }, 'r', () => ({ password: 'p' }));
          expect(['ok', 'challenge', 'forbidden', 'malformed']).toContain(out.outcome);
          expect(out.outcome).not.toBe('ok');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('md5Ascii', () => {
  it('agrees with crypto MD5 on every length around the block and padding bounds, and on random ASCII', () => {
    for (let n = 0; n <= 200; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7 + n) % 95))).join('');
      expect(md5Ascii(s)).toBe(createHash('md5').update(s).digest('hex'));
    }
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 600 }),
        (s) => {
          expect(md5Ascii(s)).toBe(createHash('md5').update(s).digest('hex'));
        },
      ),
      { numRuns: 500 },
    );
    // RFC 1321 §A.5 test suite.
    expect(md5Ascii('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Ascii('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(md5Ascii('12345678901234567890123456789012345678901234567890123456789012345678901234567890')).toBe(
      '57edf4a22be3c955ac49da2e2107b67a',
    );
  });
  it('leaves non-ASCII and very long input to crypto (undefined)', () => {
    expect(md5Ascii('é')).toBeUndefined();
    expect(md5Ascii('a'.repeat(70) + '\u0080')).toBeUndefined();
    expect(md5Ascii('a'.repeat(2000))).toBeUndefined();
    expect(digestHash('MD5', 'é')).toBe(createHash('md5').update('é', 'utf8').digest('hex'));
    expect(digestHash('MD5', 'a'.repeat(2000))).toBe(createHash('md5').update('a'.repeat(2000)).digest('hex'));
  });
});
