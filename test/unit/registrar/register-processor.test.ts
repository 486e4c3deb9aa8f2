import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { DigestClient, DigestServer } from '../../../src/sip/auth/index.js';
import { AuthFailureLimiter } from '../../../src/registrar/auth-failure-limiter.js';
import { BindingTable } from '../../../src/registrar/binding-table.js';
import {
  RegisterProcessor,
  type RegisterInput,
  type RegisterOutcome,
  type RegistrarOptions,
} from '../../../src/registrar/register-processor.js';
import { SqliteBindingPersistence } from '../../../src/registrar/sqlite-binding-persistence.js';
import type { BindingPersistence } from '../../../src/registrar/binding-persistence.js';
import { contact, reg, uri } from './registrar-fixtures.js';

const DNS: Record<string, { dn: string; password?: string }> = {
  '8888': { dn: '8888', password: '8888-secret' },
  '1000': { dn: '1000' },
  '+15551231111': { dn: '+15551231111' },
};
const directory = {
  findRegisteringDn: (user: string) => DNS[user.replace(/[\s().-]/g, '')],
};

function setup(opts: RegistrarOptions = {}, persistence?: BindingPersistence, clock = new FakeClock(1_000_000)) {
  const table = new BindingTable(clock, persistence);
  const events: string[] = [];
  table.addListener({
    registered: (dn, b) => events.push(`registered ${dn} ${b.contact}`),
    unregistered: (dn, r) => events.push(`unregistered ${dn} ${r}`),
  });
  const limiter = new AuthFailureLimiter({ clock, burst: 5, refillPerSecond: 0.5, maxSources: 100 });
  const p = new RegisterProcessor(table, directory, new DigestServer({ clock }), limiter, clock, silentLogger, opts);
  return { clock, table, events, limiter, p };
}

/** The credentials a phone sends for DN 8888 in answer to the 401 `challenged`. */
function answer(challenged: RegisterOutcome, password = '8888-secret'): string {
  const client = new DigestClient({ username: '8888', password });
  return client.answer({
    method: 'REGISTER',
    uri: 'sip:127.0.0.1',
    challenges: challenged.headers.filter(([n]) => n === 'WWW-Authenticate').map(([, v]) => v),
  })!;
}

/** Run the 401 → answer exchange like a phone does. */
function authed(p: RegisterProcessor, input: RegisterInput, password = '8888-secret') {
  const first = p.process({ ...input, credentials: [] });
  expect(first.status).toBe(401);
  return p.process({ ...input, cseq: input.cseq + 1, credentials: [answer(first, password)] });
}

/** A `stale=true` challenge (RFC 7616 §3.3): right credentials, a nonce that can no longer be used. */
function expectStale(outcome: RegisterOutcome): void {
  expect(outcome.status).toBe(401);
  expect(outcome.headers[0][1]).toContain('stale=true');
}

describe('RegisterProcessor', () => {
  it('404 for a number that is not a registering DN, 400 for a non-SIP To', () => {
    const { p } = setup();
    expect(p.process(reg({ toUri: uri('sip:4242@127.0.0.1') })).status).toBe(404);
    expect(p.process(reg({ toUri: uri('isbn:2983792873') })).status).toBe(400);
  });

  it('challenges with SHA-256 then MD5, then binds and lists the contact with expires', () => {
    const { p, table, events } = setup();
    const first = p.process(reg());
    expect(first.status).toBe(401);
    const www = first.headers.filter(([n]) => n === 'WWW-Authenticate').map(([, v]) => v);
    expect(www).toHaveLength(2);
    expect(www[0]).toMatch(/^Digest realm="127\.0\.0\.1", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    expect(www[1]).toMatch(/algorithm=MD5/);
    expect(table.size).toBe(0);
    const ok = authed(p, reg());
    expect(ok.status).toBe(200);
    expect(ok.headers.filter(([n]) => n === 'Contact')).toEqual([
      ['Contact', '<sip:8888@127.0.0.1:5062>;expires=3600'],
    ]);
    expect(events).toEqual(['registered 8888 sip:8888@127.0.0.1:5062']);
    expect(table.get('8888')[0].dest).toEqual({ transport: 'udp', host: '127.0.0.1', port: 5062 });
  });

  it('wrong password: 401 re-challenge, then 403, and no binding', () => {
    const { p, table } = setup();
    const first = authed(p, reg(), 'wrong');
    expect(first.status).toBe(401);
    const second = p.process(reg({ cseq: 3, credentials: [answer(first, 'wrong')] }));
    expect(second.status).toBe(403);
    expect(table.size).toBe(0);
  });

  it('floods of failed authentication from one address get 503 Retry-After, memory bounded', () => {
    const { p, limiter, clock } = setup();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(authed(p, reg(), 'wrong').status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const blocked = p.process(reg());
    expect(blocked.status).toBe(503);
    expect(Number(blocked.headers.find(([n]) => n === 'Retry-After')![1])).toBeGreaterThan(0);
    // Another address is not affected.
    expect(p.process(reg({ source: { transport: 'udp', host: '127.0.0.2', port: 5062 } })).status).toBe(401);
    clock.advance(60_000);
    expect(p.process(reg()).status).toBe(401);
    for (let i = 0; i < 10_000; i++) limiter.fail(`198.51.100.${i % 250}.${i}`);
    expect(limiter.tracked).toBe(100);
  });

  it('needs no credentials when the DN has no password', () => {
    const { p } = setup();
    expect(
      p.process(reg({ toUri: uri('sip:1000@127.0.0.1'), contacts: [contact('sip:1000@127.0.0.1:5070')] })).status,
    ).toBe(200);
  });

  it('423 with Min-Expires below the minimum; absurd values clamped to the maximum', () => {
    const { p, table } = setup({ minExpires: 60, maxExpires: 7200 });
    const to = uri('sip:1000@127.0.0.1');
    const r = p.process(reg({ toUri: to, expires: '30' }));
    expect(r).toMatchObject({ status: 423, headers: [['Min-Expires', '60']] });
    const big = p.process(reg({ toUri: to, expires: '99999999999999999999' }));
    expect(big.headers[0]).toEqual(['Contact', '<sip:8888@127.0.0.1:5062>;expires=7200']);
    const viaParam = p.process(
      reg({ toUri: to, cseq: 2, contacts: [contact('sip:a@127.0.0.1:5063', [['expires', '4294967296']])] }),
    );
    expect(viaParam.headers.filter(([n]) => n === 'Contact')).toContainEqual([
      'Contact',
      '<sip:a@127.0.0.1:5063>;expires=7200',
    ]);
    const malformed = p.process(
      reg({ toUri: to, cseq: 3, expires: '-5', contacts: [contact('sip:b@127.0.0.1:5064')] }),
    );
    expect(malformed.headers).toContainEqual(['Contact', '<sip:b@127.0.0.1:5064>;expires=3600']);
    expect(table.get('1000')).toHaveLength(3);
  });

  it('refresh, several contacts, Expires: 0 removal, Contact: * removal', () => {
    const { p, table, events, clock } = setup();
    const to = uri('sip:1000@127.0.0.1');
    p.process(reg({ toUri: to, contacts: [contact('sip:1000@127.0.0.1:5070'), contact('sip:1000@127.0.0.1:5071')] }));
    expect(table.get('1000')).toHaveLength(2);
    clock.advance(10_000);
    const refresh = p.process(
      reg({ toUri: to, cseq: 2, expires: '120', contacts: [contact('sip:1000@127.0.0.1:5071')] }),
    );
    expect(refresh.headers.filter(([n]) => n === 'Contact').map(([, v]) => v)).toEqual([
      '<sip:1000@127.0.0.1:5071>;expires=120',
      '<sip:1000@127.0.0.1:5070>;expires=3590',
    ]);
    const rm = p.process(reg({ toUri: to, cseq: 3, expires: '0', contacts: [contact('sip:1000@127.0.0.1:5071')] }));
    expect(rm.headers.filter(([n]) => n === 'Contact')).toHaveLength(1);
    const bad = p.process(reg({ toUri: to, cseq: 4, contactStar: true, expires: '10' }));
    expect(bad.status).toBe(400);
    const bad2 = p.process(
      reg({ toUri: to, cseq: 4, contactStar: true, contacts: [contact('sip:x@127.0.0.1')], expires: '0' }),
    );
    expect(bad2.status).toBe(400);
    const all = p.process(reg({ toUri: to, cseq: 5, contactStar: true, contacts: [], expires: '0' }));
    expect(all.status).toBe(200);
    expect(table.get('1000')).toHaveLength(0);
    expect(events).toEqual(['registered 1000 sip:1000@127.0.0.1:5070', 'unregistered 1000 unregistered']);
  });

  it('Call-ID/CSeq ordering: same Call-ID with CSeq not higher is refused, another Call-ID replaces', () => {
    const { p, table, clock } = setup();
    const to = uri('sip:1000@127.0.0.1');
    expect(p.process(reg({ toUri: to, cseq: 5 })).status).toBe(200);
    // The same request within 64·T1 is a retransmission (answers are stateless): the 200 again.
    clock.advance(1_000);
    expect(p.process(reg({ toUri: to, cseq: 5 })).status).toBe(200);
    expect(table.get('1000')[0].updatedAt).toBe(1_000_000);
    clock.advance(32_000);
    expect(p.process(reg({ toUri: to, cseq: 5 })).status).toBe(400);
    expect(p.process(reg({ toUri: to, cseq: 4, expires: '0' })).status).toBe(400);
    expect(table.get('1000')).toHaveLength(1);
    expect(p.process(reg({ toUri: to, callId: 'other', cseq: 1, expires: '0' })).status).toBe(200);
    expect(table.get('1000')).toHaveLength(0);
  });

  it('a retransmitted accepted REGISTER gets the 200 again within 64·T1; later, or changed, a stale challenge', () => {
    const { p, table, clock } = setup();
    const accepted = reg({ cseq: 2, credentials: [answer(p.process(reg()))] });
    expect(p.process(accepted).status).toBe(200);
    clock.advance(4_000);
    // RFC 3261 §8.2.7 / §17.2.2: the same request again (lost 200) → 200 with the bindings, nothing changed.
    const again = p.process(accepted);
    expect(again.status).toBe(200);
    expect(again.headers.filter(([n]) => n === 'Contact')).toEqual([
      ['Contact', '<sip:8888@127.0.0.1:5062>;expires=3596'],
    ]);
    expect(table.get('8888')[0].cseq).toBe(2);
    // Another CSeq with the used nonce-count is a replay: stale challenge.
    expectStale(p.process({ ...accepted, cseq: 3 }));
    // After 64·T1 a server transaction would be gone too: stale challenge.
    clock.advance(29_000);
    expectStale(p.process(accepted));
  });

  it('a retransmitted removal gets the 200 again within 64·T1, without removing what was bound since; later a stale challenge', () => {
    const { p, table, clock } = setup();
    expect(authed(p, reg()).status).toBe(200);
    // De-registration with credentials (Contact: *, Expires: 0), as a phone sends it.
    const removal = reg({ callId: 'call-2', cseq: 1, contactStar: true, contacts: [], expires: '0' });
    const first = p.process(removal);
    expect(first.status).toBe(401);
    const accepted = { ...removal, cseq: 2, credentials: [answer(first)] };
    expect(p.process(accepted).status).toBe(200);
    expect(table.get('8888')).toHaveLength(0);
    // The phone registers again (another Call-ID), then the removal's retransmission arrives
    // (its 200 was lost): RFC 3261 §17.2.2, the same 200 again, and the new binding stays.
    clock.advance(2_000);
    expect(authed(p, reg({ callId: 'call-3', contacts: [contact('sip:8888@127.0.0.1:5064')] })).status).toBe(200);
    const again = p.process(accepted);
    expect(again.status).toBe(200);
    expect(again.headers.filter(([n]) => n === 'Contact')).toEqual([
      ['Contact', '<sip:8888@127.0.0.1:5064>;expires=3600'],
    ]);
    expect(table.get('8888').map((b) => b.contact)).toEqual(['sip:8888@127.0.0.1:5064']);
    // The used nonce-count with another CSeq is a replay, not a retransmission.
    expectStale(p.process({ ...accepted, cseq: 3 }));
    // After 64·T1 a server transaction would be gone too.
    clock.advance(31_000);
    expectStale(p.process(accepted));
    expect(table.get('8888')).toHaveLength(1);
  });

  it('forgets removals past 64·T1 as others come in', () => {
    const { p, clock } = setup();
    const recent = (p as unknown as { recentRemovals: Map<string, unknown> }).recentRemovals;
    expect(
      p.process(reg({ toUri: uri('sip:1000@127.0.0.1'), contactStar: true, contacts: [], expires: '0' })).status,
    ).toBe(200);
    expect([...recent.keys()]).toEqual(['1000']);
    clock.advance(33_000);
    expect(
      p.process(
        reg({
          toUri: uri('sip:+15551231111@127.0.0.1'),
          contacts: [contact('sip:1111@127.0.0.1:5070', [['expires', '0']])],
        }),
      ).status,
    ).toBe(200);
    expect([...recent.keys()]).toEqual(['+15551231111']);
  });

  it('400 for contacts of an unknown scheme, nothing stored', () => {
    const { p, table } = setup();
    const to = uri('sip:1000@127.0.0.1');
    const r = p.process(reg({ toUri: to, contacts: [contact('sip:1000@127.0.0.1:5070'), contact('name:John_Smith')] }));
    expect(r.status).toBe(400);
    expect(table.size).toBe(0);
  });

  it('keeps at most maxContacts per DN, dropping the least recently refreshed', () => {
    const { p, table, clock } = setup({ maxContacts: 2 });
    const to = uri('sip:1000@127.0.0.1');
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      p.process(reg({ toUri: to, callId: `c${i}`, contacts: [contact(`sip:1000@127.0.0.1:${5070 + i}`)] }));
    }
    expect(table.get('1000').map((b) => b.contact)).toEqual(['sip:1000@127.0.0.1:5073', 'sip:1000@127.0.0.1:5072']);
  });

  it('NAT: a private or foreign contact is reached at the source address; stream transports reuse the flow', () => {
    const { p, table, clock } = setup();
    const to = uri('sip:1000@127.0.0.1');
    p.process(
      reg({
        toUri: to,
        contacts: [contact('sip:1000@192.0.2.7:5060')],
        source: { transport: 'udp', host: '127.0.0.1', port: 40000 },
      }),
    );
    expect(table.get('1000')[0]).toMatchObject({
      nat: true,
      dest: { transport: 'udp', host: '127.0.0.1', port: 40000 },
    });
    clock.advance(1);
    p.process(
      reg({
        toUri: to,
        callId: 'tcp',
        contacts: [contact('sip:1000@127.0.0.1:5999;transport=tcp')],
        source: { transport: 'tcp', host: '127.0.0.1', port: 41000 },
      }),
    );
    expect(table.get('1000')[0]).toMatchObject({ dest: { transport: 'tcp', host: '127.0.0.1', port: 41000 } });
  });

  it('through a trusted proxy: the binding keeps the phone as source; a phone behind NAT is reached through the proxy', () => {
    const { p, table, clock } = setup();
    const to = uri('sip:1000@127.0.0.1');
    const proxy = { transport: 'udp' as const, host: '127.0.0.1', port: 5060 };
    p.process(
      reg({
        toUri: to,
        contacts: [contact('sip:1000@127.0.0.5:5062')],
        source: { transport: 'udp', host: '127.0.0.5', port: 5062 },
        proxy,
      }),
    );
    expect(table.get('1000')[0]).toMatchObject({
      nat: false,
      source: { host: '127.0.0.5', port: 5062 },
      dest: { transport: 'udp', host: '127.0.0.5', port: 5062 },
    });
    clock.advance(1);
    p.process(
      reg({
        toUri: to,
        callId: 'natted',
        contacts: [contact('sip:1000@192.0.2.7:5060')],
        source: { transport: 'udp', host: '127.0.0.6', port: 40000 },
        proxy,
      }),
    );
    expect(table.get('1000')[0]).toMatchObject({ nat: true, source: { host: '127.0.0.6' }, dest: proxy });
  });

  it('expires bindings with one timer and emits unregistered(expired)', () => {
    const { p, table, events, clock } = setup();
    for (let i = 0; i < 50; i++) {
      DNS[`2${i}`] = { dn: `2${i}` };
      p.process(
        reg({
          toUri: uri(`sip:2${i}@127.0.0.1`),
          expires: String(60 + i),
          contacts: [contact(`sip:2${i}@127.0.0.1:5070`)],
        }),
      );
    }
    expect(table.size).toBe(50);
    expect(clock.pending).toBe(1);
    clock.advance(60_000);
    expect(table.size).toBe(49);
    expect(events.at(-1)).toBe('unregistered 20 expired');
    clock.advance(49_000);
    expect(table.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

describe('SqliteBindingPersistence', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('bindings survive a restart; expired ones are dropped on reload', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reg-'));
    dirs.push(dir);
    const clock = new FakeClock(1_000_000);
    const a = setup({}, SqliteBindingPersistence.open(dir, clock), clock);
    const to = uri('sip:1000@127.0.0.1');
    a.p.process(reg({ toUri: to, expires: '600', contacts: [contact('sip:1000@127.0.0.1:5070')] }));
    a.p.process(reg({ toUri: to, callId: 'x', expires: '60', contacts: [contact('sip:1000@127.0.0.1:5071')] }));
    a.table.close();
    clock.advance(120_000);
    const b = setup({}, SqliteBindingPersistence.open(dir, clock), clock);
    expect(b.table.restore()).toBe(1);
    expect(b.table.get('1000').map((x) => [x.contact, x.expiresAt])).toEqual([
      ['sip:1000@127.0.0.1:5070', 1_000_000 + 600_000],
    ]);
    b.table.close();
  });
});
