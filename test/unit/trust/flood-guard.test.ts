import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FloodGuard, type FloodLimits } from '../../../src/trust/flood-guard.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';

function guard(opts: { limits?: FloodLimits; exempt?: Set<string>; tableSize?: number; registry?: Registry } = {}) {
  const clock = new FakeClock(1_000_000);
  let limits = opts.limits ?? { requestsPerSecond: 10, banMs: 60_000 };
  const g = new FloodGuard({
    clock,
    logger: silentLogger,
    limits: () => limits,
    exempt: (ip) => opts.exempt?.has(ip) ?? false,
    tableSize: opts.tableSize,
    registry: opts.registry,
  });
  return { g, clock, setLimits: (l: FloodLimits) => (limits = l) };
}

const burst = (g: FloodGuard, ip: string, n: number): number => {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (g.admit(ip)) admitted++;
  return admitted;
};

describe('FloodGuard (pike-like per-source limit)', () => {
  it('admits up to the limit per one-second window, then bans the source and drops everything it sends', () => {
    const { g, clock } = guard();
    expect(burst(g, '127.0.0.2', 10)).toBe(10);
    expect(g.admit('127.0.0.2')).toBe(false);
    expect(g.isBanned('127.0.0.2')).toBe(true);
    clock.advance(1500);
    expect(g.admit('127.0.0.2')).toBe(false); // still banned in later windows
    expect(g.admit('127.0.0.2', false)).toBe(false); // responses too
    expect(g.bansTotal).toBe(1);
    expect(g.droppedTotal).toBe(3);
    expect(g.admit('127.0.0.3')).toBe(true); // another source is untouched
  });

  it('a steady rate at the limit is never banned (windows restart every second)', () => {
    const { g, clock } = guard();
    for (let s = 0; s < 5; s++) {
      expect(burst(g, '203.0.113.1', 10)).toBe(10);
      clock.advance(1000);
    }
    expect(g.bansTotal).toBe(0);
  });

  it('forgives the source once the ban time is over', () => {
    const { g, clock } = guard({ limits: { requestsPerSecond: 5, banMs: 3000 } });
    burst(g, '192.0.2.9', 6);
    expect(g.isBanned('192.0.2.9')).toBe(true);
    clock.advance(2999);
    expect(g.admit('192.0.2.9')).toBe(false);
    clock.advance(1);
    expect(g.isBanned('192.0.2.9')).toBe(false);
    expect(burst(g, '192.0.2.9', 5)).toBe(5);
    expect(g.admit('192.0.2.9')).toBe(false); // and banned again if it goes on
    expect(g.bansTotal).toBe(2);
  });

  it('legitimate peers (trusted peers, registered phones) are never banned', () => {
    const { g } = guard({ exempt: new Set(['127.0.0.1', '2001:db8::1']) });
    expect(burst(g, '127.0.0.1', 1000)).toBe(1000);
    expect(burst(g, '2001:DB8::1', 1000)).toBe(1000); // lower-cased
    expect(g.bansTotal).toBe(0);
  });

  it('responses are not counted; a limit of 0 turns the guard off', () => {
    const { g, setLimits, clock } = guard();
    for (let i = 0; i < 100; i++)
      expect(
        g.admitDatagram({ transport: 'udp', host: '127.0.0.5', port: 5060 }, Buffer.from('SIP/2.0 200 OK\r\n')),
      ).toBe(true);
    expect(
      g.admitDatagram({ transport: 'udp', host: '127.0.0.5', port: 5060 }, Buffer.from('OPTIONS sip:x SIP/2.0\r\n')),
    ).toBe(true);
    setLimits({ requestsPerSecond: 0, banMs: 60_000 });
    clock.advance(1000);
    expect(burst(g, '127.0.0.6', 10_000)).toBe(10_000);
    expect(g.bansTotal).toBe(0);
  });

  it('memory is bounded: 100,000 distinct sources keep at most tableSize entries; an active banned source is kept', () => {
    const { g, clock } = guard({ tableSize: 1000 });
    burst(g, '127.0.0.2', 11);
    for (let i = 0; i < 100_000; i++) {
      g.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      if (i % 500 === 0) {
        clock.advance(1000);
        g.admit('127.0.0.2'); // the banned flooder keeps sending: dropped, and stays banned
      }
    }
    expect(g.tracked).toBeLessThanOrEqual(1000);
    expect(g.bansTotal).toBe(1);
  });

  it('counts in /metrics: sipserver_flood_dropped_total, sipserver_flood_bans_total, sipserver_flood_banned_sources', async () => {
    const registry = new Registry();
    const { g } = guard({ registry });
    burst(g, '127.0.0.2', 15);
    const text = await registry.metrics();
    expect(text).toMatch(/^sipserver_flood_dropped_total 5$/m);
    expect(text).toMatch(/^sipserver_flood_bans_total 1$/m);
    expect(text).toMatch(/^sipserver_flood_banned_sources 1$/m);
  });
});
