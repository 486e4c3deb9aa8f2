/**
 * The PostgreSQL log of record and the node cache that follows it (docs/cluster.md,
 * "Configuration store in PostgreSQL"), in this process against a real private PostgreSQL:
 * two writers at the same version (exactly one wins), replication by NOTIFY and catch-up,
 * re-validation after a conflict, seeding, identity checks, and an unreachable store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeSetError, type ChangeRequest, type CommittedChangeSet } from '../../src/config/change-set.js';
import { openStore } from '../../src/config/config-store.js';
import { StoreUnavailableError } from '../../src/config/config-writer.js';
import { LogConflictError, PgConfigLog } from '../../src/config/pg/pg-config-log.js';
import { nodeListEntry } from '../../src/cli/start-store.js';
import { openPgConfigBackend, StoreStartError, type PgConfigBackend } from '../../src/config/pg/pg-config-backend.js';
import { silentLogger } from '../../src/util/logger.js';
import { PrivatePostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

let pgServer: PrivatePostgres;
const pools: pg.Pool[] = [];
const backends: PgConfigBackend[] = [];
const dirs: string[] = [];

/** A database of its own for one test (the log's tables are per database). */
async function freshDb(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(pgServer.url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A pool of the test's own; idle connections broken by a PostgreSQL stop are dropped quietly. */
function testPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sipserver-pgcache-'));
  dirs.push(d);
  return d;
}

async function backend(url: string, dataDir = tempDir()): Promise<PgConfigBackend> {
  const b = await openPgConfigBackend({ url, dataDir, logger: silentLogger, checkIntervalMs: 500 });
  backends.push(b);
  return b;
}

const dn = (number: string, options: Record<string, string> = {}): ChangeRequest => ({
  op: 'put',
  kind: 'dn',
  key: number,
  value: { type: 'extension', options },
});

beforeAll(async () => {
  pgServer = await PrivatePostgres.start();
}, 60_000);

afterAll(async () => {
  for (const b of backends) await b.close().catch(() => undefined);
  for (const p of pools) await p.end().catch(() => undefined);
  await pgServer?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('PgConfigLog', () => {
  it('two writers append at the same version: exactly one wins, the other is told the log moved on', async () => {
    const url = await freshDb('log_conflict');
    const logs = [0, 1].map((i) => {
      const pool = testPool(url, 2);
      return new PgConfigLog(pool, `w${i}`);
    });
    const ids = await Promise.all(logs.map((l) => l.ensureSchema()));
    expect(ids[0]!.logId).toBe(ids[1]!.logId);
    const sets: CommittedChangeSet[] = [0, 1].map((i) => ({
      version: 1,
      time: new Date().toISOString(),
      origin: `writer-${i}`,
      changes: [
        {
          op: 'put',
          kind: 'dn',
          key: `+1555000000${i}`,
          old: null,
          new: { number: `+1555000000${i}`, type: 'extension', options: {} },
        },
      ],
    }));
    const results = await Promise.allSettled(sets.map((cs, i) => logs[i]!.append(cs, JSON.stringify(cs.changes))));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(LogConflictError);
    expect((lost.reason as LogConflictError).logVersion).toBe(1);
    const log = await logs[0]!.readAfter(0, 10);
    expect(log).toEqual([sets[won[0]!]]);
    expect(await logs[1]!.lastVersion()).toBe(1);
  });
});

describe('PgConfigBackend (node caches on one log)', () => {
  it('a change-set on node A reaches node B by NOTIFY with the same version; a conflicting write is re-validated', async () => {
    const url = await freshDb('two_nodes');
    const a = await backend(url);
    const b = await backend(url);
    const r = await a.writer.applyAsync([dn('+15550001000'), dn('+15550001001')], { origin: 'api' });
    expect(r.version).toBe(1);
    const t0 = Date.now();
    await waitFor(() => b.store.version === 1, { what: 'node B at version 1', timeoutMs: 2000, intervalMs: 5 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(b.store.exportModel()).toEqual(a.store.exportModel());
    expect(b.store.changesSince(0)).toEqual(a.store.changesSince(0));

    // B stopped; A deletes a DN; B restarted catches up from the log.
    await b.close();
    backends.splice(backends.indexOf(b), 1);
    await a.writer.applyAsync([{ op: 'delete', kind: 'dn', key: '+15550001001' }]);
    const b2 = await backend(url, b.store.dataDir);
    expect(b2.store.version).toBe(2);
    // Another writer's change-set whose NOTIFY B misses (written straight into the log): B's next
    // write was validated against version 2, conflicts at the append, B catches up and
    // re-validates: the DN it patches is gone, so the change-set is refused and nothing written.
    const pool = testPool(url, 1);
    const gone = a.store.getDn('+15550001000')!;
    await pool.query('INSERT INTO sipserver_config_log (version, time, origin, changes) VALUES (3, $1, $2, $3)', [
      new Date().toISOString(),
      'elsewhere',
      JSON.stringify([{ op: 'delete', kind: 'dn', key: gone.number, old: gone, new: null }]),
    ]);
    const refused = b2.writer.applyAsync([
      { op: 'patch', kind: 'dn', key: '+15550001000', value: { options: { 'oos-check': '5' } } },
    ]);
    await expect(refused).rejects.toBeInstanceOf(ChangeSetError);
    expect(b2.store.version).toBe(3);
    expect(b2.store.getDn('+15550001000')).toBeUndefined();
    const ok = await b2.writer.applyAsync([dn('+15550001002')]);
    expect(ok.version).toBe(4);
    await waitFor(() => a.store.version === 4, { what: 'node A at version 4', timeoutMs: 3000 });
    expect(a.store.exportModel()).toEqual(b2.store.exportModel());
    expect(a.status()).toEqual({ kind: 'postgres', connected: true, logVersion: 4, lagVersions: 0 });
  });

  it('an empty log is seeded from the first node’s store with its own versions; a cache of another log is refused', async () => {
    const url = await freshDb('seeded');
    const dir = tempDir();
    const local = openStore(dir);
    local.apply([dn('+15550002000')], { origin: 'reconcile' });
    local.apply([dn('+15550002001'), { op: 'put', kind: 'agent', key: 'a1', value: { password: 's3cret' } }]);
    const history = local.changesSince(0);
    local.close();
    const a = await backend(url, dir);
    expect(a.store.version).toBe(2);
    const pool = testPool(url, 1);
    expect(await new PgConfigLog(pool).readAfter(0, 10)).toEqual(history); // secrets included
    const b = await backend(url);
    expect(b.store.changesSince(0)).toEqual(history);
    expect(b.store.getAgent('a1')?.password).toBe('s3cret');

    const other = await freshDb('other_log');
    await expect(openPgConfigBackend({ url: other, dataDir: dir, logger: silentLogger })).rejects.toThrow(
      /belongs to another configuration store.*--data of a new, empty directory/,
    );
    const stray = tempDir();
    const s = openStore(stray);
    s.apply([dn('+15550002999')]);
    s.close();
    await expect(openPgConfigBackend({ url, dataDir: stray, logger: silentLogger })).rejects.toThrow(StoreStartError);
  });

  it('a DN removed on node A is restored on node B with its digest password (restoreFrom reads the cache’s copy of the log)', async () => {
    const url = await freshDb('restore_from');
    const a = await backend(url);
    const b = await backend(url);
    await a.writer.applyAsync([dn('7001', { contact: '*', password: 'dn-secret' })]);
    const removed = await a.writer.applyAsync([{ op: 'delete', kind: 'dn', key: '7001' }]);
    await waitFor(() => b.store.version === removed.version, { what: 'node B caught up', timeoutMs: 3000 });
    const refused = b.writer.applyAsync([{ op: 'create', kind: 'dn', key: '7001', restoreFrom: removed.version + 1 }]);
    await expect(refused).rejects.toBeInstanceOf(ChangeSetError);
    const r = await b.writer.applyAsync([{ op: 'create', kind: 'dn', key: '7001', restoreFrom: removed.version }]);
    const restored = { number: '7001', type: 'extension', options: { contact: '*', password: 'dn-secret' } };
    expect(b.store.getDn('7001')).toEqual(restored);
    await waitFor(() => a.store.version === r.version, { what: 'node A caught up', timeoutMs: 3000 });
    expect(a.store.getDn('7001')).toEqual(restored);
    // The log of record holds the restored object whole.
    const [logged] = await new PgConfigLog(testPool(url, 1)).readAfter(removed.version, 1);
    expect(logged!.changes).toEqual([{ op: 'put', kind: 'dn', key: '7001', old: null, new: restored }]);
  });

  it('an unreachable PostgreSQL: an empty cache cannot start; a cache starts, refuses writes with nothing applied', async () => {
    const dead = `postgres://postgres:x@127.0.0.1:${pgServer.port + 1}/none`;
    await expect(openPgConfigBackend({ url: dead, dataDir: tempDir(), logger: silentLogger })).rejects.toThrow(
      /cannot reach the configuration store at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/,
    );
    await expect(openPgConfigBackend({ url: 'mysql://x/y', dataDir: tempDir(), logger: silentLogger })).rejects.toThrow(
      /only postgres:\/\/ URLs/,
    );
    const url = await freshDb('cached');
    const dir = tempDir();
    const a = await backend(url, dir);
    await a.writer.applyAsync([dn('+15550003000')]);
    await a.close();
    backends.splice(backends.indexOf(a), 1);
    // The same cache, its URL pointing nowhere (as PostgreSQL down): starts from the cache.
    const c = await openPgConfigBackend({ url: dead, dataDir: dir, logger: silentLogger, checkIntervalMs: 500 });
    backends.push(c);
    expect(c.store.getDn('+15550003000')).toBeDefined();
    expect(c.status()).toMatchObject({ kind: 'postgres', connected: false, logVersion: 1 });
    const w = c.writer.applyAsync([dn('+15550003001')]);
    await expect(w).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(w).rejects.toThrow(/unreachable.*nothing was applied/);
    expect(c.store.version).toBe(1);
    expect(c.store.getDn('+15550003001')).toBeUndefined();
    // Invalid input is still 422, before PostgreSQL is asked.
    await expect(c.writer.applyAsync([{ op: 'delete', kind: 'dn', key: '+15559999999' }])).rejects.toBeInstanceOf(
      ChangeSetError,
    );
  });
});

describe('PgConfigBackend started while PostgreSQL is down', () => {
  it('checks its cache against the log at the first connection: a cache of another log stops following it', async () => {
    const urlA = await freshDb('late_a');
    const urlB = await freshDb('late_b');
    const dir = tempDir();
    const a = await backend(urlA, dir);
    await a.writer.applyAsync([dn('+15550004000')]);
    await a.close();
    backends.splice(backends.indexOf(a), 1);
    const other = await backend(urlB);
    await other.writer.applyAsync([dn('+15550004999')]);
    await other.writer.applyAsync([dn('+15550004998')]);
    await other.close();
    backends.splice(backends.indexOf(other), 1);

    await pgServer.stop();
    // The cache of log A, started on log B while PostgreSQL is down: it starts from the cache.
    const c = await backend(urlB, dir);
    expect(c.status()).toMatchObject({ connected: false });
    await pgServer.restart();
    const status = await waitFor(() => (c.status().error?.includes('does not follow') ? c.status() : undefined), {
      what: 'the node refusing the other log',
      timeoutMs: 10_000,
    });
    expect(status.error).toMatch(/belongs to another configuration store.*--data of a new, empty directory/);
    expect(c.store.version).toBe(1);
    expect(c.store.getDn('+15550004999')).toBeUndefined();
    await expect(c.writer.applyAsync([dn('+15550004001')])).rejects.toThrow(/does not follow the configuration store/);
    expect(c.store.version).toBe(1);
  }, 30_000);
});

describe('PgConfigBackend after a PostgreSQL outage', () => {
  it('connected again after an outage longer than the LISTEN back-off: a change-set reaches the other node by NOTIFY at once, not at the next check', async () => {
    const url = await freshDb('outage');
    const a = await backend(url);
    const dir = tempDir();
    // A check period long enough to tell a NOTIFY from the safety net.
    const b = await openPgConfigBackend({ url, dataDir: dir, logger: silentLogger, checkIntervalMs: 1000 });
    backends.push(b);
    await a.writer.applyAsync([dn('+15550005000')]);
    await waitFor(() => b.store.version === 1, 'node B at version 1');

    await pgServer.stop();
    await waitFor(() => !b.status().connected, 'node B seeing PostgreSQL down');
    // The LISTEN connection's back-off has grown past the check period (250, 500, 1000, 2000 ms…).
    await new Promise((r) => setTimeout(r, 4000));
    await pgServer.restart();
    await waitFor(() => b.status().connected, { what: 'node B connected again (its check)', intervalMs: 5 });

    for (let i = 1; i <= 3; i++) {
      const t0 = Date.now();
      const r = await a.writer.applyAsync([dn(`+1555000500${i}`)]);
      await waitFor(() => b.store.version === r.version, {
        what: `node B at version ${r.version}`,
        timeoutMs: 3000,
        intervalMs: 5,
      });
      expect(Date.now() - t0, `change-set ${i} on node B`).toBeLessThan(300);
    }
    expect(b.status()).toEqual({ kind: 'postgres', connected: true, logVersion: 4, lagVersions: 0 });
  }, 30_000);
});

describe('the cluster node list (Kamailio dispatcher table sipserver_dispatcher)', () => {
  type Row = {
    setid: number;
    destination: string;
    flags: number;
    priority: number;
    attrs: string;
    description: string;
  };
  const rows = async (pool: pg.Pool): Promise<Row[]> =>
    (
      await pool.query<Row>(
        'SELECT setid, destination, flags, priority, attrs, description FROM sipserver_dispatcher ORDER BY id',
      )
    ).rows;

  it('is created with the log, in Kamailio’s schema and table version 4', async () => {
    const url = await freshDb('nodes_schema');
    await backend(url);
    const pool = testPool(url, 1);
    const cols = await pool.query<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'sipserver_dispatcher' ORDER BY ordinal_position",
    );
    expect(cols.rows.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
      'id integer',
      'setid integer',
      'destination character varying',
      'flags integer',
      'priority integer',
      'attrs character varying',
      'description character varying',
    ]);
    const v = await pool.query('SELECT table_name, table_version FROM sipserver_kamailio_version');
    expect(v.rows).toEqual([{ table_name: 'sipserver_dispatcher', table_version: 4 }]);
    expect(await rows(pool)).toEqual([]);
  });

  it('a node’s row: written at announce, replaced by the same name or address, deleted at withdraw and at close', async () => {
    const url = await freshDb('nodes_rows');
    const pool = testPool(url, 1);
    const a = await backend(url);
    const b = await backend(url);
    await a.announceNode({ destination: 'sip:127.0.0.1:6001', name: 'node-1' });
    await b.announceNode({ destination: 'sip:127.0.0.1:6002', name: 'node-2' });
    expect(await rows(pool)).toEqual([
      { setid: 1, destination: 'sip:127.0.0.1:6001', flags: 0, priority: 0, attrs: '', description: 'node-1' },
      { setid: 1, destination: 'sip:127.0.0.1:6002', flags: 0, priority: 0, attrs: '', description: 'node-2' },
    ]);
    // node-1 again on another port (restarted by hand): one row, the new address.
    await a.announceNode({ destination: 'sip:127.0.0.1:6011', name: 'node-1' });
    // a row left at node-2's address by a node that died there is taken over by its successor.
    await pool.query(
      "INSERT INTO sipserver_dispatcher (setid, destination, description) VALUES (1, 'sip:127.0.0.1:6003', 'dead')",
    );
    const c = await backend(url);
    await c.announceNode({ destination: 'sip:127.0.0.1:6003', name: 'node-3' });
    expect((await rows(pool)).map((r) => `${r.destination} ${r.description}`)).toEqual([
      'sip:127.0.0.1:6002 node-2',
      'sip:127.0.0.1:6011 node-1',
      'sip:127.0.0.1:6003 node-3',
    ]);
    await a.withdrawNode();
    // withdrawn for good: a later retry (a reconnection) does not write it back
    await a.announceNode({ destination: 'sip:127.0.0.1:6011', name: 'node-1' });
    await c.close();
    backends.splice(backends.indexOf(c), 1);
    expect((await rows(pool)).map((r) => r.description)).toEqual(['node-2']);
  });

  it('announced while PostgreSQL is down: written once it is back', async () => {
    const url = await freshDb('nodes_late');
    const pool = testPool(url, 1);
    const a = await backend(url);
    await pgServer.stop();
    await a.announceNode({ destination: 'sip:127.0.0.1:6101', name: 'late' });
    await pgServer.restart();
    const listed = await waitFor(
      async () => {
        const r = await rows(pool).catch(() => []);
        return r.length > 0 ? r : undefined;
      },
      { what: 'the row written after the restart', timeoutMs: 10_000 },
    );
    expect(listed.map((r) => `${r.setid} ${r.destination} ${r.description}`)).toEqual(['1 sip:127.0.0.1:6101 late']);
  }, 30_000);

  it('the row’s address is the first UDP listen address with a host of its own', () => {
    const udp = (host: string, port: number) => ({ transport: 'udp', host, port });
    expect(nodeListEntry([{ transport: 'tcp', host: '127.0.0.1', port: 5070 }, udp('127.0.0.2', 5071)], 'n')).toEqual({
      destination: 'sip:127.0.0.2:5071',
      name: 'n',
    });
    expect(nodeListEntry([udp('::1', 5072)], 'n')?.destination).toBe('sip:[::1]:5072');
    expect(nodeListEntry([udp('0.0.0.0', 5060), udp('::', 5060)], 'n')).toBeUndefined();
    expect(nodeListEntry([{ transport: 'tcp', host: '127.0.0.1', port: 5060 }], 'n')).toBeUndefined();
  });
});
