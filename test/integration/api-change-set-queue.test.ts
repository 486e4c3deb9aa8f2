/**
 * The change-set queue of the admin API (behaviour §13, docs/admin-api.md "Change-set queue"):
 * `ifVersion` (409), arrival order, the event-loop lag gate, 503 + Retry-After when full,
 * one notification per subscriber for a big change-set, and the `config` section of
 * `/api/status`. The HTTP server runs in this process, so a busy loop here is lag there.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { StatusReporter } from '../../src/api/status.js';
import { LoadMeter } from '../../src/api/load-meter.js';
import { ConfigDirectoryAdapter } from '../../src/contact-center/agents/config-directory-adapter.js';
import { examplesDir } from '../helpers/paths.js';
import { adminRequest, type AdminAnswer } from '../helpers/admin-http.js';
import { metricsText, metricValue } from '../e2e/e2e-support.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'queue-test-token';
let dir: string;
let store: ConfigStore;
let server: HttpServer;
let load: LoadMeter;
let url: string;
let busy: NodeJS.Timeout | undefined;

/** Starts the API over the office example, with these application options. */
async function start(serverOptions: Record<string, string> = {}): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-queue-'));
  store = openStore(dir);
  store.reconcile(loadConfigText(readFileSync(join(examplesDir, 'office.yaml'), 'utf8')).model!);
  if (Object.keys(serverOptions).length)
    store.apply([{ op: 'patch', kind: 'server', key: 'server', value: { options: serverOptions } }]);
  load = new LoadMeter();
  load.start();
  server = await createHttpServer({ store, token: TOKEN, load });
  const noOne = { registrations: [], devices: [] };
  const reporter = new StatusReporter(
    {
      registrations: () => noOne.registrations,
      devices: () => noOne.devices,
      agents: () => [],
      activeCalls: () => 0,
      waitingCalls: () => 0,
      lostCalls: [],
    },
    load,
  );
  server.setStatusProviders({
    status: (q) => reporter.status(q),
    dnStatus: (dn) => ({ mode: 'static', target: `sip:${dn.number}@203.0.113.5`, inService: true }),
  });
  url = (await server.listen('127.0.0.1:0')).url;
}

afterEach(async () => {
  stopBusy();
  await server?.close();
  load?.stop();
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, path: string, body?: unknown): Promise<AdminAnswer> =>
  adminRequest(url, TOKEN, method, path, body);

/** Keeps this process's event loop busy 25 ms out of every 30 ms, until the meter sees a lag over 3 ms. */
async function startBusy(): Promise<void> {
  busy = setInterval(() => {
    const end = performance.now() + 25;
    while (performance.now() < end) {
      /* spin */
    }
  }, 30);
  await waitFor(() => load.recentLagMs() > 3, { what: 'a lag over 3 ms' });
}
function stopBusy(): void {
  if (busy) clearInterval(busy);
  busy = undefined;
}

const queueDepth = async (): Promise<number> => metricValue(await metricsText(url), 'sipserver_config_queue_depth');

/**
 * Posts a change-set and waits until the queue holds it (so arrival order is the posting order).
 * The answer comes wrapped: an async function returning a bare promise would wait for it.
 */
async function postQueued(body: unknown, depthAfter: number): Promise<{ answer: Promise<AdminAnswer> }> {
  const answer = call('POST', '/api/config/change-sets', body);
  await waitFor(async () => (await queueDepth()) === depthAfter, {
    what: `queue depth ${depthAfter}`,
    timeoutMs: 10_000,
    detail: () => `depth ${server.queue.depth}, version ${store.version}, lag ${load.recentLagMs()} ms`,
  });
  return { answer };
}

const putDn = (number: string) => ({ op: 'put', kind: 'dn', key: number, value: { type: 'extension', options: {} } });

describe('change-set queue (behaviour §13)', () => {
  it('ifVersion: applied at the current version, 409 with the current version and nothing applied otherwise', async () => {
    await start();
    const v = store.version;
    const ok = await call('POST', '/api/config/change-sets', { ifVersion: v, changes: [putDn('6001')] });
    expect(ok.status).toBe(200);
    expect(ok.json.version).toBe(v + 1);
    for (const dryRun of ['', '?dryRun=true']) {
      const stale = await call('POST', `/api/config/change-sets${dryRun}`, { ifVersion: v, changes: [putDn('6002')] });
      expect(stale).toMatchObject({
        status: 409,
        json: { errors: [{ index: -1, message: `configuration is at version ${v + 1}, not ${v}` }], version: v + 1 },
      });
    }
    expect((await call('GET', '/api/dns/6002')).status).toBe(404);
    expect(store.version).toBe(v + 1);
    expect((await call('GET', `/api/config/changes?since=${v}`)).json.changeSets).toHaveLength(1);
    // Without ifVersion: unchanged behaviour.
    expect((await call('POST', '/api/config/change-sets', { changes: [putDn('6002')] })).json.version).toBe(v + 2);
    const bad = await call('POST', '/api/config/change-sets', { ifVersion: 'x', changes: [] });
    expect(bad.status).toBe(422);
  });

  it('change-sets in flight together are applied one at a time in arrival order, after the lag falls', async () => {
    await start({ 'config-apply-max-lag': '3', 'config-apply-max-wait': '60000' });
    const v = store.version;
    await startBusy();
    // Change-set i creates DN 610i and patches 610(i-1): out of order, it would be refused.
    const answers: Promise<AdminAnswer>[] = [];
    for (let i = 0; i < 6; i++) {
      const changes = [putDn(`610${i}`)];
      if (i > 0)
        changes.push({
          op: 'patch',
          kind: 'dn',
          key: `610${i - 1}`,
          value: { options: { 'no-answer-timeout': `${10 + i}` } },
        } as never);
      answers.push((await postQueued({ changes }, i + 1)).answer);
    }
    // A single-object write queues behind them too.
    const put = call('PUT', '/api/dns/6199', { type: 'extension', options: {} });
    await waitFor(async () => (await queueDepth()) === 7, { what: 'queue depth 7', timeoutMs: 10_000 });
    const held = await call('GET', '/api/status');
    expect(held.json.config).toMatchObject({ version: v, queueDepth: 7, applying: true, appliedChangeSets: 0 });
    expect(held.json.load.eventLoopLagMs).toBeGreaterThan(3);
    expect(store.version).toBe(v);
    stopBusy();
    const done = await Promise.all(answers);
    expect(done.map((a) => [a.status, a.json.version])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [200, v + 1 + i]));
    expect((await put).status).toBe(200);
    const feed = (await call('GET', `/api/config/changes?since=${v}`)).json.changeSets as {
      changes: { key: string }[];
    }[];
    expect(feed.map((cs) => cs.changes[0]!.key)).toEqual(['6100', '6101', '6102', '6103', '6104', '6105', '6199']);
    const after = (await call('GET', '/api/status')).json.config;
    expect(after).toMatchObject({ version: v + 7, queueDepth: 0, applying: false, appliedChangeSets: 7 });
    expect(after.lastApplyMs).toBeGreaterThan(0);
    expect(after.lastApplyLongestTurnMs).toBeGreaterThan(0);
    expect(after.lastApplyLongestTurnMs).toBeLessThanOrEqual(after.lastApplyMs);
    expect(metricValue(await metricsText(url), 'sipserver_config_queue_wait_seconds_count')).toBe(7);
  });

  it('a full queue answers 503 with Retry-After: 1 and applies nothing of it', async () => {
    await start({ 'config-apply-max-lag': '3', 'config-apply-max-wait': '60000', 'config-queue-size': '3' });
    const v = store.version;
    await startBusy();
    const answers: Promise<AdminAnswer>[] = [];
    for (let i = 0; i < 3; i++) answers.push((await postQueued({ changes: [putDn(`620${i}`)] }, i + 1)).answer);
    const refused = await call('POST', '/api/config/change-sets', { changes: [putDn('6209')] });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json).toEqual({ errors: [{ index: -1, message: 'configuration queue full' }] });
    const refusedPut = await call('PUT', '/api/dns/6208', { type: 'extension', options: {} });
    expect([refusedPut.status, refusedPut.headers.get('retry-after')]).toEqual([503, '1']);
    expect(metricValue(await metricsText(url), 'sipserver_config_queue_full_total')).toBe(2);
    // Reads never wait behind change-sets: the bulk DN status and the status answer while the queue is full.
    const dn = store.listDns(0, 1).items[0]!.number;
    const read = await call('POST', '/api/dns/status', { numbers: [dn] });
    expect(read.json).toEqual({
      items: [{ number: dn, mode: 'static', target: `sip:${dn}@203.0.113.5`, inService: true }],
    });
    expect((await call('GET', '/api/status?sections=config')).json.config).toMatchObject({ queueDepth: 3 });
    stopBusy();
    expect((await Promise.all(answers)).map((a) => a.json.version)).toEqual([v + 1, v + 2, v + 3]);
    expect(store.getDn('6209')).toBeUndefined();
    expect(store.getDn('6208')).toBeUndefined();
  });

  it('config-apply-max-wait bounds the wait: a change-set held by the lag is applied anyway', async () => {
    await start({ 'config-apply-max-lag': '3', 'config-apply-max-wait': '400' });
    await startBusy();
    const t0 = performance.now();
    const r = await call('POST', '/api/config/change-sets', { changes: [putDn('6301')] });
    const ms = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(5000);
    expect(metricValue(await metricsText(url), 'sipserver_config_queue_wait_seconds_count')).toBe(1);
  });

  it('a 500-change change-set is one notification per subscriber and one entry in the change feed', async () => {
    await start();
    const v = store.version;
    let directoryNotes = 0;
    const unsubscribe = new ConfigDirectoryAdapter(store).subscribe(() => directoryNotes++);
    const changes: unknown[] = [];
    for (let i = 0; i < 250; i++) {
      const n = `+1555700${String(i).padStart(4, '0')}`;
      changes.push(putDn(n), { op: 'put', kind: 'agent', key: `bulk${i}`, value: { password: 'pw-bulk', dn: n } });
    }
    const r = await call('POST', '/api/config/change-sets', { changes });
    expect([r.status, r.json.applied, r.json.version]).toEqual([200, 500, v + 1]);
    unsubscribe();
    expect(directoryNotes).toBe(1);
    const feed = (await call('GET', `/api/config/changes?since=${v}`)).json;
    expect(feed.changeSets).toHaveLength(1);
    expect(feed.changeSets[0].changes).toHaveLength(500);
    const m = await metricsText(url);
    expect(metricValue(m, 'sipserver_config_change_sets_total')).toBe(1);
    expect(metricValue(m, 'sipserver_config_changes_total{kind="agent"}')).toBe(250);
  });

  it('/api/status: the config section, and the load over about the last second whoever polls', async () => {
    await start();
    const idle = (await call('GET', '/api/status')).json;
    expect(idle.config).toEqual({
      version: store.version,
      queueDepth: 0,
      applying: false,
      lastApplyMs: 0,
      lastApplyLongestTurnMs: 0,
      appliedChangeSets: 0,
    });
    expect(Object.keys(idle.load).sort()).toEqual(['cpuCount', 'cpuPercent', 'eventLoopLagMaxMs', 'eventLoopLagMs']);
    await startBusy();
    // Polled every 200 ms, the CPU figure covers ~1 s: busy 25 ms in 30 is well over 40 % of a core.
    await waitFor(
      async () => {
        const s = (await call('GET', '/api/status')).json;
        return s.load.cpuPercent > 40 && s.load.eventLoopLagMaxMs >= 10;
      },
      { what: 'cpuPercent > 40 while busy', timeoutMs: 10_000, intervalMs: 200 },
    );
  });
});
