import { describe, expect, it } from 'vitest';
import { deviceHash, leaseAction, preferredNode } from '../../../src/cluster/device-health.js';

const LEASE = 6000;

describe('device health: which node takes which device lease', () => {
  it('the preferred node is hash(DN) mod the live nodes (sorted), the same on every node', () => {
    expect(deviceHash('')).toBe(0x811c9dc5);
    expect(deviceHash('a')).toBe(0xe40c292c); // FNV-1a test vector
    const live = ['n2', 'n1', 'n3'];
    for (const dn of ['Softswitch', 'SBC', '+1555']) {
      expect(preferredNode(dn, live)).toBe(['n1', 'n2', 'n3'][deviceHash(dn) % 3]);
      expect(preferredNode(dn, [...live].reverse())).toBe(preferredNode(dn, live));
    }
    expect(preferredNode('x', [])).toBeUndefined();
  });

  it('1,000 devices over 3 nodes: each node prefers 280–390 of them', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const n = preferredNode(`softswitch-${i}`, ['a', 'b', 'c'])!;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c']);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThanOrEqual(280);
      expect(c).toBeLessThanOrEqual(390);
    }
  });

  it('a free device is taken at once by its preferred node, by the others once seen free for a renewal; a holder gives back a device preferred elsewhere after a lease', () => {
    const live = ['a', 'b'];
    const dn = [...Array(50).keys()].map((i) => `d${i}`).find((d) => preferredNode(d, live) === 'a')!;
    expect(leaseAction(dn, { freeBefore: false }, 'a', live, 0, LEASE)).toBe('t');
    expect(leaseAction(dn, { freeBefore: false }, 'b', live, 0, LEASE)).toBe('k');
    expect(leaseAction(dn, { freeBefore: true }, 'b', live, 0, LEASE)).toBe('t');
    // b holds it (a was dead for a while): kept for a lease, then given back while a is live.
    expect(leaseAction(dn, { heldSince: 1000, freeBefore: false }, 'b', live, 1000 + LEASE - 1, LEASE)).toBe('t');
    expect(leaseAction(dn, { heldSince: 1000, freeBefore: false }, 'b', live, 1000 + LEASE, LEASE)).toBe('r');
    // a is dead (not live): b prefers it and keeps it.
    expect(leaseAction(dn, { heldSince: 1000, freeBefore: false }, 'b', ['b'], 1e9, LEASE)).toBe('t');
    // A node not seen in the live list yet counts itself.
    expect(leaseAction(dn, { freeBefore: false }, 'b', [], 0, LEASE)).toBe('t');
  });
});
