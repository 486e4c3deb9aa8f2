/**
 * Reachability against real peers on loopback: SIPp plays the softswitch answering OPTIONS,
 * the OOS prober of the server marks it OUT when SIPp stops and IN again when it answers (even
 * 404), with the guide's oos-check = 10 / oos-force = 2; longest-prefix selection with failover
 * to the shorter prefix; the example configurations resolve as the guide says.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import type { ServerStatus } from '../../src/api/status.js';
import { loadConfigFile, loadConfigText } from '../../src/config/config-file.js';
import type { ConfigInput } from '../../src/config/config-model.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { wireRegistrarAndReachability, type RegistrarAndReachability } from '../../src/reachability/reachability-module.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';

const TOKEN = 'reachability-test-token';
const SCENARIOS = join(repoRoot, 'test/integration/sipp');

interface Server {
  store: ConfigStore;
  wired: RegistrarAndReachability;
  http: HttpServer;
  url: string;
  events: Array<{ t: number; what: string }>;
  stop(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(model: ConfigInput): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'reach-it-'));
  const store = openStore(dir);
  store.reconcile(model);
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], logger: silentLogger });
  await stack.start();
  const wired = wireRegistrarAndReachability({ stack, store, clock: systemClock, logger: silentLogger });
  const events: Server['events'] = [];
  wired.reachability.addListener({
    outOfService: (dn) => events.push({ t: Date.now(), what: `OUT ${dn}` }),
    stateChanged: (dn, from, to) => {
      if (to === 'in-service') events.push({ t: Date.now(), what: `IN ${dn}` });
    },
  });
  const http = await createHttpServer({ store, token: TOKEN, statusProviders: { dnStatus: wired.dnStatus, status: () => wired.statusSection() as ServerStatus } });
  const { url } = await http.listen('127.0.0.1:0');
  const server: Server = {
    store, wired, http, url, events,
    async stop() {
      await http.close();
      wired.close();
      await stack.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cleanups.push(() => server.stop());
  return server;
}

async function api(s: Server, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** A SIPp UAS answering OPTIONS on `port` until stopped. */
function startDevice(port: number, code: 200 | 404, traceDir?: string): ChildProcess {
  const args = ['-sf', join(SCENARIOS, `uas-options-${code}.xml`), '-i', '127.0.0.1', '-p', String(port), '-m', '100000', '-nostdin'];
  if (traceDir) args.push('-trace_msg', '-message_file', join(traceDir, 'messages.log'));
  const child = spawn('sipp', args, { stdio: 'ignore', cwd: traceDir ?? tmpdir() });
  cleanups.push(() => stopDevice(child));
  return child;
}

async function stopDevice(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

function config(text: string): ConfigInput {
  const r = loadConfigText(text);
  if (!r.model) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

describe('OOS prober against a SIPp device (oos-check = 10, oos-force = 2)', () => {
  it('OUT within 12 s after the device stops, IN within 10 s after it answers again with 404', async () => {
    const port = await freePort();
    const trace = mkdtempSync(join(tmpdir(), 'oos-trace-'));
    cleanups.push(() => rmSync(trace, { recursive: true, force: true }));
    let device = startDevice(port, 200, trace);
    await new Promise((r) => setTimeout(r, 300));
    const server = await startServer(config(`
server: { name: SIP_Server, sip: { listen: ["udp:127.0.0.1:0"] } }
dns:
  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:${port}", service-type: softswitch, prefix: "+1", oos-check: "10", oos-force: "2" }
  - { number: "+1 555 123 1111", type: extension }
`));
    // First probe within 0–10 % of oos-check after start.
    expect(await waitFor(() => server.events.some((e) => e.what === 'IN Softswitch'), 2_000)).toBe(true);
    const devices = (await api(server, '/api/status')).devices as Array<Record<string, unknown>>;
    expect(devices).toEqual([{ dn: 'Softswitch', state: 'in-service', lastProbe: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    const probe = readFileSync(join(trace, 'messages.log'), 'utf8');
    expect(probe).toContain(`OPTIONS sip:127.0.0.1:${port} SIP/2.0`);
    expect(probe).toMatch(/^Max-Forwards: 70\r?$/m);
    expect(probe).toMatch(/^Accept: application\/sdp\r?$/m);
    expect(probe).toContain(`To: <sip:127.0.0.1:${port}>`);

    await stopDevice(device);
    const stoppedAt = Date.now();
    expect(await waitFor(() => server.events.some((e) => e.what === 'OUT Softswitch'), 14_000)).toBe(true);
    const outAt = server.events.find((e) => e.what === 'OUT Softswitch')!.t;
    expect(outAt - stoppedAt).toBeGreaterThanOrEqual(2_000 - 1_000);
    expect(outAt - stoppedAt).toBeLessThanOrEqual(12_000 + 1_000);
    expect(await api(server, '/api/dns/%2B15551231111/status')).toMatchObject({
      mode: 'softswitch', via: 'Softswitch', target: 'sip:+15551231111@127.0.0.1:' + port, inService: false,
    });

    device = startDevice(port, 404);
    const resumedAt = Date.now();
    expect(await waitFor(() => server.events.filter((e) => e.what === 'IN Softswitch').length === 2, 12_000)).toBe(true);
    const inAt = server.events.filter((e) => e.what === 'IN Softswitch')[1].t;
    expect(inAt - resumedAt).toBeLessThanOrEqual(10_000 + 1_000);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({ mode: 'softswitch', inService: true });
    // oos-propagate-to-dns (default true): the DN behind the softswitch gets the OUT too.
    expect(server.events.map((e) => e.what)).toEqual(['IN Softswitch', 'OUT Softswitch', 'OUT +15551231111', 'IN Softswitch']);
  }, 45_000);
});

describe('softswitch selection with real devices', () => {
  it('two softswitches +1 and +1555: +1555… uses the longer, then the shorter once the longer is OUT', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    startDevice(pa, 200);
    const b = startDevice(pb, 200);
    await new Promise((r) => setTimeout(r, 300));
    const server = await startServer(config(`
server: { name: SIP_Server, sip: { listen: ["udp:127.0.0.1:0"] } }
dns:
  - number: SBC
    type: voip-service
    options: { contact: "127.0.0.1:${pa}", service-type: softswitch, prefix: "+1", oos-check: "2", oos-force: "1" }
  - number: SBC1555
    type: voip-service
    options: { contact: "127.0.0.1:${pb}", service-type: softswitch, prefix: "+1555", oos-check: "2", oos-force: "1" }
  - { number: "+1 555 123 1111", type: extension }
  - { number: "+1 666 000 0000", type: extension }
`));
    expect(await waitFor(() => server.events.filter((e) => e.what.startsWith('IN')).length === 2, 3_000)).toBe(true);
    expect(await api(server, '/api/dns/+15551231111/status')).toEqual({ mode: 'softswitch', target: `sip:+15551231111@127.0.0.1:${pb}`, via: 'SBC1555', inService: true });
    expect(await api(server, '/api/dns/+16660000000/status')).toMatchObject({ target: `sip:+16660000000@127.0.0.1:${pa}`, via: 'SBC' });
    await stopDevice(b);
    expect(await waitFor(() => server.events.some((e) => e.what === 'OUT SBC1555'), 5_000)).toBe(true);
    expect(await api(server, '/api/dns/+15551231111/status')).toEqual({ mode: 'softswitch', target: `sip:+15551231111@127.0.0.1:${pa}`, via: 'SBC', inService: true });
    expect(server.wired.reachability.candidates('+15551231111').map((c) => c.via)).toEqual(['SBC']);
  }, 20_000);
});

describe('example configurations', () => {
  it('office.yaml: DN 7777 resolves to sip:7777@127.0.0.1:5081', async () => {
    const server = await startServer(loadConfigFile(join(examplesDir, 'office.yaml')).model!);
    expect(await api(server, '/api/dns/7777/status')).toMatchObject({ mode: 'softswitch', target: 'sip:7777@127.0.0.1:5081', via: 'Softswitch' });
  });

  it('home.yaml: "+1 555 123 1111" resolves to sip:+15551231111@127.0.0.1:5071; a removed contact falls back to the softswitch', async () => {
    const server = await startServer(loadConfigFile(join(examplesDir, 'home.yaml')).model!);
    expect(await api(server, `/api/dns/${encodeURIComponent('+1 555 123 1111')}/status`)).toMatchObject({
      mode: 'softswitch', target: 'sip:+15551231111@127.0.0.1:5071', via: 'Softswitch',
    });
    server.store.apply([{ op: 'patch', kind: 'dn', key: '+15551231111', value: { options: { contact: '127.0.0.1:5999' } } }]);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({ mode: 'static', target: 'sip:+15551231111@127.0.0.1:5999', inService: true });
    server.store.apply([{ op: 'patch', kind: 'dn', key: '+15551231111', value: { options: { contact: null } } }]);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({ mode: 'softswitch', target: 'sip:+15551231111@127.0.0.1:5071' });
  });
});
