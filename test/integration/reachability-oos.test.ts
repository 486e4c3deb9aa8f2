/**
 * Reachability against real peers on loopback: SIPp plays the softswitch answering OPTIONS,
 * the OOS prober of the server marks it OUT when SIPp stops and IN again when it answers (even
 * 404), with the guide's oos-check = 10 / oos-force = 2; longest-prefix selection with failover
 * to the shorter prefix; the example configurations resolve as the guide says (their own text:
 * 127.0.0.1:5081 and :5071 are only resolved here, never bound or awaited).
 *
 * Timing bounds are generous (wall clock, a loaded machine): the exact OOS windows are checked on
 * a fake clock in test/unit/reachability/oos-prober.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import type { ServerStatus } from '../../src/api/status.js';
import { loadConfigFile, loadConfigText } from '../../src/config/config-file.js';
import type { ConfigInput } from '../../src/config/config-model.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import {
  wireRegistrarAndReachability,
  type RegistrarAndReachability,
} from '../../src/reachability/reachability-module.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

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
    stateChanged: (dn, _from, to) => {
      if (to === 'in-service') events.push({ t: Date.now(), what: `IN ${dn}` });
    },
  });
  const http = await createHttpServer({
    store,
    token: TOKEN,
    statusProviders: { dnStatus: wired.dnStatus, status: () => wired.statusSection() as ServerStatus },
  });
  const { url } = await http.listen('127.0.0.1:0');
  const server: Server = {
    store,
    wired,
    http,
    url,
    events,
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

/** A SIPp UAS answering OPTIONS on `port` until stopped (ready once its port is bound); its messages in {@link SippPeer.messagesLog}. */
async function startDevice(port: number, code: 200 | 404): Promise<SippPeer> {
  const device = await startSipp({
    scenario: join(SCENARIOS, `uas-options-${code}.xml`),
    localPort: port,
    calls: 100_000,
  });
  cleanups.push(() => device.stop());
  return device;
}

/** Kill the device (its messages stay readable until the cleanup). */
async function stopDevice(device: SippPeer): Promise<void> {
  if (device.running) device.child.kill('SIGKILL');
  await device.exited;
}

function config(text: string): ConfigInput {
  const r = loadConfigText(text);
  if (!r.model) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

describe('OOS prober against a SIPp device (oos-check = 10, oos-force = 2)', () => {
  it('OUT within 12 s after the device stops, IN within 10 s after it answers again with 404', async () => {
    const port = await freePort();
    let device = await startDevice(port, 200);
    const server = await startServer(
      config(`
server: { name: SIP_Server, sip: { listen: ["udp:127.0.0.1:0"] } }
dns:
  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:${port}", service-type: softswitch, prefix: "+1", oos-check: "10", oos-force: "2" }
  - { number: "+1 555 123 1111", type: extension }
`),
    );
    // First probe within 0–10 % of oos-check after start.
    await waitFor(() => server.events.some((e) => e.what === 'IN Softswitch'), {
      what: 'the Softswitch in service (first probe)',
      timeoutMs: 5_000,
    });
    const devices = (await api(server, '/api/status')).devices as Array<Record<string, unknown>>;
    expect(devices).toEqual([
      { dn: 'Softswitch', state: 'in-service', lastProbe: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    const probe = device.messagesLog();
    expect(probe).toContain(`OPTIONS sip:127.0.0.1:${port} SIP/2.0`);
    expect(probe).toMatch(/^Max-Forwards: 70\r?$/m);
    expect(probe).toMatch(/^Accept: application\/sdp\r?$/m);
    expect(probe).toContain(`To: <sip:127.0.0.1:${port}>`);

    await stopDevice(device);
    const stoppedAt = Date.now();
    await waitFor(() => server.events.some((e) => e.what === 'OUT Softswitch'), {
      what: 'the Softswitch out of service',
      timeoutMs: 20_000,
    });
    const outAt = server.events.find((e) => e.what === 'OUT Softswitch')!.t;
    // Not before a probe went oos-force (2 s) without answer; within oos-check + oos-force (12 s), plus room for a loaded machine.
    expect(outAt - stoppedAt).toBeGreaterThanOrEqual(2_000 - 1_000);
    expect(outAt - stoppedAt).toBeLessThanOrEqual(12_000 + 5_000);
    expect(await api(server, '/api/dns/%2B15551231111/status')).toMatchObject({
      mode: 'softswitch',
      via: 'Softswitch',
      target: 'sip:+15551231111@127.0.0.1:' + port,
      inService: false,
    });

    device = await startDevice(port, 404);
    const resumedAt = Date.now();
    await waitFor(() => server.events.filter((e) => e.what === 'IN Softswitch').length === 2, {
      what: 'the Softswitch back in service',
      timeoutMs: 20_000,
    });
    const inAt = server.events.filter((e) => e.what === 'IN Softswitch')[1].t;
    // At the next probe: within oos-check (10 s), plus room for a loaded machine.
    expect(inAt - resumedAt).toBeLessThanOrEqual(10_000 + 5_000);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({ mode: 'softswitch', inService: true });
    // oos-propagate-to-dns (default true): the DN behind the softswitch gets the OUT too.
    expect(server.events.map((e) => e.what)).toEqual([
      'IN Softswitch',
      'OUT Softswitch',
      'OUT +15551231111',
      'IN Softswitch',
    ]);
  }, 60_000);
});

describe('softswitch selection with real devices', () => {
  it('two softswitches +1 and +1555: +1555… uses the longer, then the shorter once the longer is OUT', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    await startDevice(pa, 200);
    const b = await startDevice(pb, 200);
    const server = await startServer(
      config(`
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
`),
    );
    await waitFor(() => server.events.filter((e) => e.what.startsWith('IN')).length === 2, {
      what: 'both softswitches in service',
      timeoutMs: 5_000,
    });
    expect(await api(server, '/api/dns/+15551231111/status')).toEqual({
      mode: 'softswitch',
      target: `sip:+15551231111@127.0.0.1:${pb}`,
      via: 'SBC1555',
      inService: true,
    });
    expect(await api(server, '/api/dns/+16660000000/status')).toMatchObject({
      target: `sip:+16660000000@127.0.0.1:${pa}`,
      via: 'SBC',
    });
    await stopDevice(b);
    await waitFor(() => server.events.some((e) => e.what === 'OUT SBC1555'), {
      what: 'SBC1555 out of service',
      timeoutMs: 8_000,
    });
    expect(await api(server, '/api/dns/+15551231111/status')).toEqual({
      mode: 'softswitch',
      target: `sip:+15551231111@127.0.0.1:${pa}`,
      via: 'SBC',
      inService: true,
    });
    expect(server.wired.reachability.candidates('+15551231111').map((c) => c.via)).toEqual(['SBC']);
  }, 30_000);
});

describe('example configurations', () => {
  it('office.yaml: DN 7777 resolves to sip:7777@127.0.0.1:5081', async () => {
    const server = await startServer(loadConfigFile(join(examplesDir, 'office.yaml')).model!);
    expect(await api(server, '/api/dns/7777/status')).toMatchObject({
      mode: 'softswitch',
      target: 'sip:7777@127.0.0.1:5081',
      via: 'Softswitch',
    });
  });

  it('home.yaml: "+1 555 123 1111" resolves to sip:+15551231111@127.0.0.1:5071; a removed contact falls back to the softswitch', async () => {
    const server = await startServer(loadConfigFile(join(examplesDir, 'home.yaml')).model!);
    expect(await api(server, `/api/dns/${encodeURIComponent('+1 555 123 1111')}/status`)).toMatchObject({
      mode: 'softswitch',
      target: 'sip:+15551231111@127.0.0.1:5071',
      via: 'Softswitch',
    });
    server.store.apply([
      { op: 'patch', kind: 'dn', key: '+15551231111', value: { options: { contact: '127.0.0.1:5999' } } },
    ]);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({
      mode: 'static',
      target: 'sip:+15551231111@127.0.0.1:5999',
      inService: true,
    });
    server.store.apply([{ op: 'patch', kind: 'dn', key: '+15551231111', value: { options: { contact: null } } }]);
    expect(await api(server, '/api/dns/+15551231111/status')).toMatchObject({
      mode: 'softswitch',
      target: 'sip:+15551231111@127.0.0.1:5071',
    });
  });
});
