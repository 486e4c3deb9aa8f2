/**
 * The PostgreSQL store of record (docs/cluster.md), against a private PostgreSQL
 * (scripts/postgres-up.sh, fsync off) on this machine, with the embedded SQLite store as the
 * reference measured in the same run:
 * - one-DN change-set written through the log vs the SQLite store alone (ms each);
 * - the time until another node has it (NOTIFY + catch-up), p50 / p99 (target < 1 s);
 * - a 10,000-DN change-set through the log vs SQLite alone (ratio);
 * - catch-up of 5,000 change-sets into an empty cache (change-sets per second).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/config/config-store.js';
import type { ChangeRequest } from '../src/config/change-set.js';
import { openPgConfigBackend, type PgConfigBackend } from '../src/config/pg/pg-config-backend.js';
import { silentLogger } from '../src/util/logger.js';

const say = (s: string): void => void process.stdout.write(s + '\n');
const scripts = resolve(import.meta.dirname, '../scripts');
const dn = (key: string): ChangeRequest => ({ op: 'put', kind: 'dn', key, value: { type: 'extension' } });
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;

export default async function run(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'sipserver-bench-pg-'));
  chmodSync(base, 0o755);
  const pgDir = join(base, 'pg');
  const port = 20000 + Math.floor(Math.random() * 9000);
  const backends: PgConfigBackend[] = [];
  try {
    const url = execFileSync(join(scripts, 'postgres-up.sh'), ['--data', pgDir, '--port', String(port), '--fast'], {
      encoding: 'utf8',
    }).trim();
    const open = async (): Promise<PgConfigBackend> => {
      const b = await openPgConfigBackend({ url, dataDir: mkdtempSync(join(base, 'node-')), logger: silentLogger });
      backends.push(b);
      return b;
    };
    const a = await open();
    const b = await open();
    const N = 300;

    const sqlite = openStore(mkdtempSync(join(base, 'sqlite-')));
    let t = performance.now();
    for (let i = 0; i < N; i++) await sqlite.applyAsync([dn(`1${i}`)]);
    const sqliteMs = (performance.now() - t) / N;

    const seen = new Map<number, number>();
    b.store.subscribe((cs) => seen.set(cs.version, performance.now()));
    const sent = new Map<number, number>();
    t = performance.now();
    for (let i = 0; i < N; i++) {
      const r = await a.writer.applyAsync([dn(`1${i}`)]);
      sent.set(r.version, performance.now());
    }
    const pgMs = (performance.now() - t) / N;
    const last = a.store.version;
    for (let w = 0; w < 200 && b.store.version < last; w++) await new Promise((r) => setTimeout(r, 10));
    const lat = [...sent].map(([v, at]) => (seen.get(v) ?? Infinity) - at);
    say(
      `one-DN change-set: ${pgMs.toFixed(2)} ms through the log vs ${sqliteMs.toFixed(2)} ms SQLite alone (×${(pgMs / sqliteMs).toFixed(1)})`,
    );
    say(
      `visible on the other node: p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms (target < 1000 ms)`,
    );

    const big = Array.from({ length: 10_000 }, (_, i) => dn(`+1555${String(i).padStart(7, '0')}`));
    t = performance.now();
    await sqlite.applyAsync(big);
    const bigSqlite = performance.now() - t;
    t = performance.now();
    await a.writer.applyAsync(big);
    const bigPg = performance.now() - t;
    say(
      `10,000-DN change-set: ${bigPg.toFixed(0)} ms through the log vs ${bigSqlite.toFixed(0)} ms SQLite alone (×${(bigPg / bigSqlite).toFixed(2)})`,
    );
    sqlite.close();

    for (let i = 0; i < 5000 - N - 1; i++) await a.writer.applyAsync([dn(`2${i}`)]);
    t = performance.now();
    const c = await open();
    const catchUpMs = performance.now() - t;
    say(
      `catch-up of ${c.store.version} change-sets into an empty cache: ${catchUpMs.toFixed(0)} ms (${Math.round((c.store.version / catchUpMs) * 1000)} change-sets/s)`,
    );
  } finally {
    for (const b of backends) await b.close().catch(() => undefined);
    execFileSync(join(scripts, 'postgres-down.sh'), ['--data', pgDir]);
    rmSync(base, { recursive: true, force: true });
  }
}
