/**
 * Configuration store benchmark (behaviour §13):
 * - a 10,000-DN change-set validated, stored and delivered (target < 1 s);
 * - one-DN change with 100 DNs vs 100,000 DNs configured (ratio target ≤ 2: validation is
 *   incremental, nothing is proportional to the configuration size);
 * - 100,000 DNs loaded at start (target < 5 s) and memory per DN (target < 1 KB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, type ConfigStore } from '../src/config/config-store.js';
import type { ChangeRequest } from '../src/config/change-set.js';
import { gc } from './helpers/gc.js';

const say = (s: string): void => void process.stdout.write(s + '\n');

function baseChanges(): ChangeRequest[] {
  return [
    {
      op: 'put',
      kind: 'dn',
      key: 'Softswitch',
      value: {
        type: 'voip-service',
        options: {
          contact: '127.0.0.1:5071',
          'service-type': 'softswitch',
          prefix: '+1',
          'dual-dialog-enabled': 'false',
          'make-call-rfc3725-flow': '1',
          'oos-check': '10',
          'oos-force': '2',
        },
      },
    },
    {
      op: 'put',
      kind: 'dn',
      key: 'Office',
      value: {
        type: 'voip-service',
        options: { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix: '77' },
      },
    },
    { op: 'put', kind: 'dn', key: '5000', value: { type: 'routing-point', options: { 'agent-group': 'Support' } } },
    { op: 'put', kind: 'agent-group', key: 'Support', value: { agents: [] } },
  ];
}

/** `n` DNs as realistic as the examples: half home numbers without options, some registered phones, some nailed-up. */
function dnChanges(n: number, from = 0): ChangeRequest[] {
  const out: ChangeRequest[] = [];
  for (let i = from; i < from + n; i++) {
    const k = i % 4;
    const key = k === 3 ? `77${String(i).padStart(7, '0')}` : `+1 555 ${String(i).padStart(7, '0')}`;
    const options: Record<string, string> =
      k === 1 ? { 'line-type': '1' } : k === 2 ? { contact: '*', password: `pw-${i}` } : {};
    out.push({ op: 'put', kind: 'dn', key, value: { type: 'extension', options } });
  }
  return out;
}

function withStore<T>(fn: (store: ConfigStore, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'sipserver-bench-'));
  const store = openStore(dir);
  try {
    return fn(store, dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median time of a one-DN patch on a store holding `size` DNs. */
function oneDnChange(size: number, runs: number): number {
  return withStore((store) => {
    store.apply([...baseChanges(), ...dnChanges(size)]);
    let delivered = 0;
    store.subscribe(() => delivered++);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const key = `+1555${String(((r * 7919) % size) - (((r * 7919) % size) % 4)).padStart(7, '0')}`;
      const t0 = performance.now();
      store.apply([
        { op: 'patch', kind: 'dn', key, value: { options: { 'reject-call-notready': r % 2 ? 'true' : 'false' } } },
      ]);
      times.push(performance.now() - t0);
    }
    if (delivered !== runs) throw new Error('a change-set was not delivered');
    return median(times);
  });
}

export default async function (): Promise<void> {
  // 1. 10,000-DN change-set
  withStore((store) => {
    store.apply(baseChanges());
    let got = 0;
    store.subscribe((cs) => (got = cs.changes.length));
    const changes = dnChanges(10_000);
    const t0 = performance.now();
    store.apply(changes);
    const ms = performance.now() - t0;
    if (got !== 10_000) throw new Error('not delivered');
    say(
      `10,000-DN change-set validated+stored+delivered: ${ms.toFixed(0)} ms (target < 1000 ms) ${ms < 1000 ? 'OK' : 'MISSED'}`,
    );
  });

  // 2. one-DN change, 100 vs 100,000 DNs configured
  oneDnChange(100, 50); // warm-up
  const small = oneDnChange(100, 400);
  const large = oneDnChange(100_000, 400);
  const ratio = large / small;
  say(
    `one-DN change (median): ${small.toFixed(3)} ms with 100 DNs, ${large.toFixed(3)} ms with 100,000 DNs; ratio ${ratio.toFixed(2)} (target <= 2) ${ratio <= 2 ? 'OK' : 'MISSED'}`,
  );

  // 3. 100,000 DNs loaded at start, memory per DN
  const dir = mkdtempSync(join(tmpdir(), 'sipserver-bench-'));
  try {
    const s = openStore(dir);
    const t0 = performance.now();
    s.apply([...baseChanges(), ...dnChanges(100_000)]);
    say(`100,000-DN change-set (first load from a file): ${(performance.now() - t0).toFixed(0)} ms`);
    s.close();
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    const reopened = openStore(dir);
    const loadMs = performance.now() - t1;
    gc();
    gc();
    const perDn = (process.memoryUsage().heapUsed - before) / reopened.dnCount;
    say(`100,000 DNs loaded at start: ${loadMs.toFixed(0)} ms (target < 5000 ms) ${loadMs < 5000 ? 'OK' : 'MISSED'}`);
    say(
      `memory per DN in memory (heap, indexes included): ${perDn.toFixed(0)} bytes (target < 1024) ${perDn < 1024 ? 'OK' : 'MISSED'}`,
    );
    const t2 = performance.now();
    let n = 0;
    for (let i = 0; i < 100_000; i++)
      if (reopened.effectiveOption(`+1555${String(i).padStart(7, '0')}`, 'dual-dialog-enabled') === 'false') n++;
    const perLookup = ((performance.now() - t2) * 1000) / 100_000;
    say(`effectiveOption: ${perLookup.toFixed(2)} µs per lookup over 100,000 DNs (${n} resolved through a softswitch)`);
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
