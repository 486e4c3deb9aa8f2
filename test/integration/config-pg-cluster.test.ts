/**
 * Two server processes on one PostgreSQL store of record (`start --store`, docs/cluster.md),
 * each with its own `--data` cache: a change-set on A is on B within 1 s; B restarted after
 * missing 1,000 change-sets catches up to the same version and export; with PostgreSQL stopped
 * both nodes carry calls (SIPp through the softswitch DN from the log) and refuse writes with
 * 503; PostgreSQL started again, a write works and both converge.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/admin-http.js';
import { freePort } from '../helpers/ports.js';
import { PrivatePostgres } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { runSipp, startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'cluster-test-token';
const env = { SIPSERVER_TOKEN: TOKEN };
const scen = (name: string): string => join(import.meta.dirname, 'sipp', name);

let pgServer: PrivatePostgres;
let dir: string;
let config: string;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
const sipPorts: number[] = [];
let uasPort: number;
let uas: SippPeer | undefined;

const api = (s: ServerProcess, method: string, path: string, body?: unknown) =>
  adminRequest(s.httpUrl!, TOKEN, method, path, body);

async function configText(s: ServerProcess): Promise<string> {
  const r = await fetch(`${s.httpUrl!}/api/config`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return r.text();
}

async function storeStatus(s: ServerProcess): Promise<{ version: number; store: Record<string, unknown> }> {
  return (await api(s, 'GET', '/api/status?sections=config')).json.config;
}

function startNode(name: 'a' | 'b', withConfig: boolean): Promise<ServerProcess> {
  return startServerProcess({
    store: pgServer.url,
    dataDir: join(dir, name),
    keepData: true,
    sipListen: [`udp:127.0.0.1:${sipPorts[name === 'a' ? 0 : 1]!}`],
    ...(withConfig ? { config } : {}),
    env,
  });
}

beforeAll(async () => {
  pgServer = await PrivatePostgres.start();
  dir = mkdtempSync(join(tmpdir(), 'sipserver-cluster-'));
  config = join(dir, 'cluster.yaml');
  writeFileSync(
    config,
    'server:\n  name: Cluster\n  sip:\n    listen: ["udp:127.0.0.1:5060"]\ndns:\n  - number: "1000"\n    type: extension\n',
  );
  sipPorts.push(await freePort(), await freePort());
  uasPort = await freePort();
  a = await startNode('a', true);
  b = await startNode('b', false);
}, 90_000);

afterAll(async () => {
  await uas?.stop?.();
  await a?.stop();
  await b?.stop();
  await pgServer?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('two nodes on one PostgreSQL store', () => {
  it('a change-set posted to node A is in node B’s GET /api/config within 1 s, at the same version', async () => {
    expect((await storeStatus(b!)).version).toBe(1); // A's --config, through the log
    const softswitch = {
      op: 'put',
      kind: 'dn',
      key: 'Softswitch',
      value: {
        type: 'voip-service',
        options: { contact: `127.0.0.1:${uasPort}`, 'service-type': 'softswitch', prefix: '9' },
      },
    };
    const r = await api(a!, 'POST', '/api/config/change-sets', { changes: [softswitch] });
    expect(r.status).toBe(200);
    const t0 = performance.now();
    await waitFor(async () => (await configText(b!)).includes(`127.0.0.1:${uasPort}`), {
      what: 'the softswitch on node B',
      timeoutMs: 5000,
      intervalMs: 5,
    });
    const ms = performance.now() - t0;
    console.log(`change-set on A visible on B after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1000);
    expect(await storeStatus(b!)).toMatchObject({
      version: r.json.version,
      store: { kind: 'postgres', connected: true, logVersion: r.json.version, lagVersions: 0 },
    });
    expect(await configText(b!)).toBe(await configText(a!));
  });

  it('node B restarted after missing 1,000 change-sets catches up to the same version and export', async () => {
    expect(await b!.stop()).toBe(0);
    const before = (await storeStatus(a!)).version;
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < 1000; i = next++) {
        const r = await api(a!, 'PUT', `/api/dns/2${String(i).padStart(4, '0')}`, { type: 'extension' });
        expect(r.status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    console.log(`1,000 PUTs on A through the log in ${(performance.now() - t0).toFixed(0)} ms`);
    const target = (await storeStatus(a!)).version;
    expect(target).toBe(before + 1000);
    const t1 = performance.now();
    b = await startNode('b', false);
    await waitFor(async () => (await storeStatus(b!)).version === target, {
      what: 'node B caught up',
      timeoutMs: 30_000,
    });
    console.log(`node B caught up 1,000 change-sets (start included) in ${(performance.now() - t1).toFixed(0)} ms`);
    expect(await configText(b!)).toBe(await configText(a!));
    const feed = async (s: ServerProcess) => (await api(s, 'GET', `/api/config/changes?since=${before}`)).json;
    expect(await feed(b!)).toEqual(await feed(a!));
  });

  it('PostgreSQL stopped: both nodes carry calls from their cache, writes answer 503; restarted: writes work and nodes converge', async () => {
    await pgServer.stop();
    uas = await startSipp({
      scenario: scen('uas-answer.xml'),
      target: `127.0.0.1:${sipPorts[0]!}`,
      localPort: uasPort,
      calls: 2,
      timeoutMs: 30_000,
    });
    for (const port of sipPorts) {
      const uac = await runSipp({
        scenario: scen('uac-basic-call.xml'),
        target: `127.0.0.1:${port}`,
        calls: 1,
        timeoutMs: 20_000,
        args: ['-s', '9123', '-d', '100'],
      });
      expect(uac.code, uac.errors + uac.stdout.slice(-1500)).toBe(0);
    }
    expect((await uas.result()).code).toBe(0);
    uas = undefined;
    for (const s of [a!, b!]) {
      const w = await api(s, 'PUT', '/api/dns/3000', { type: 'extension' });
      expect(w.status).toBe(503);
      expect(w.json.errors[0].message).toMatch(
        /configuration store of record \(PostgreSQL\) is unreachable.*nothing was applied/,
      );
      expect((await api(s, 'GET', '/api/dns/3000')).status).toBe(404);
      expect((await storeStatus(s)).store).toMatchObject({ kind: 'postgres', connected: false });
    }
    const version = (await storeStatus(a!)).version;

    await pgServer.restart();
    await waitFor(async () => (await storeStatus(a!)).store.connected === true, {
      what: 'node A reconnected',
      timeoutMs: 15_000,
    });
    const w = await api(b!, 'PUT', '/api/dns/3000', { type: 'extension' });
    expect(w.status).toBe(200);
    await waitFor(async () => (await storeStatus(a!)).version === version + 1, {
      what: 'node A at the new version',
      timeoutMs: 10_000,
    });
    expect(await configText(a!)).toBe(await configText(b!));
    expect((await storeStatus(b!)).store).toMatchObject({ connected: true, logVersion: version + 1, lagVersions: 0 });
  });
});

describe('start --store errors', () => {
  it('an unreachable PostgreSQL with an empty cache: exit 1 with a message naming the URL, not the password', async () => {
    const port = await freePort();
    const data = join(dir, 'unreachable');
    await expect(
      startServerProcess({
        store: `postgres://postgres:hunter2@127.0.0.1:${port}/sipserver`,
        dataDir: data,
        sipListen: [`udp:127.0.0.1:${port}`],
        env,
      }),
    ).rejects.toThrow(
      new RegExp(
        `code 1\\): sipserver: cannot reach the configuration store at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/sipserver: .*ECONNREFUSED`,
      ),
    );
  });
});
