/**
 * Reachability status end to end over the REAL server process: the example configurations
 * resolve as the guide says (`office.yaml` 7777 through the Softswitch, `home.yaml`
 * "+1 555 123 1111" through the SBC — each example with its fixed ports mapped to free ones, so
 * the contact is the free port standing for 127.0.0.1:5081 / :5071), and with two softswitches
 * (`+1`, `+1555`) a `+1555…` number takes the longer prefix, then the shorter once the longer is
 * out of service (a SIPp UAS answers one OPTIONS and stops).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleWithFreePorts } from '../helpers/example-config.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_TOKEN, apiGet, scenario, writeConfig } from './e2e-support.js';

interface DeviceRow {
  dn: string;
  state: string;
  lastProbe?: string;
  reason?: string;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(config: string): Promise<ServerProcess> {
  const s = await startServerProcess({ config, sipListen: ['udp:127.0.0.1:0'], env: { SIPSERVER_TOKEN: E2E_TOKEN } });
  cleanups.push(() => s.stop());
  return s;
}

function peer(p: SippPeer): SippPeer {
  cleanups.push(() => p.stop());
  return p;
}

/** `examples/NAME` with free ports, written to a temporary directory; returns its path and the port map. */
async function example(name: string): Promise<{ path: string; ports: Map<number, number> }> {
  const config = await exampleWithFreePorts(name);
  const dir = mkdtempSync(join(tmpdir(), 'e2e-example-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, config.text);
  return { path, ports: config.ports };
}

describe('reachability status over the real process', () => {
  it('office.yaml: 7777 is reached through the Softswitch at 127.0.0.1:5081', async () => {
    const { path, ports } = await example('office.yaml');
    const s = await start(path);
    const r = await apiGet(s.httpUrl!, '/api/dns/7777/status');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      mode: 'softswitch',
      target: `sip:7777@127.0.0.1:${ports.get(5081)}`,
      via: 'Softswitch',
    });
  });

  it('home.yaml: "+1 555 123 1111" (URL-encoded) is reached through the SBC at 127.0.0.1:5071', async () => {
    const { path, ports } = await example('home.yaml');
    const s = await start(path);
    for (const n of ['+1 555 123 1111', '+15551231111']) {
      const r = await apiGet(s.httpUrl!, `/api/dns/${encodeURIComponent(n)}/status`);
      expect(r.status, n).toBe(200);
      expect(r.body, n).toMatchObject({
        mode: 'softswitch',
        target: `sip:+15551231111@127.0.0.1:${ports.get(5071)}`,
        via: 'Softswitch',
      });
    }
  });

  it('two softswitches +1 and +1555: the longer prefix wins, the shorter takes over once the longer is out of service', async () => {
    const widePort = await freePort();
    const narrowPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'e2e-oos-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = writeConfig(
      dir,
      'two-softswitches.yaml',
      `  - number: Wide
    type: voip-service
    options: { contact: "127.0.0.1:${widePort}", service-type: softswitch, prefix: "+1", oos-check: "2", oos-force: "1" }
  - number: Narrow
    type: voip-service
    options: { contact: "127.0.0.1:${narrowPort}", service-type: softswitch, prefix: "+1555", oos-check: "2", oos-force: "1" }
  - number: "+1 555 123 1111"
    type: extension
`,
    );
    // Wide answers every probe; Narrow answers one (-m 1) and stops.
    const wide = peer(
      await startSipp({ scenario: scenario('uas-options-200.xml'), localPort: widePort, calls: 100_000 }),
    );
    const narrow = peer(
      await startSipp({ scenario: scenario('uas-options-200.xml'), localPort: narrowPort, calls: 1 }),
    );
    const s = await start(config);
    const devices = async (): Promise<Record<string, DeviceRow>> =>
      Object.fromEntries(
        (await apiGet<{ devices: DeviceRow[] }>(s.httpUrl!, '/api/status')).body.devices.map((d) => [d.dn, d]),
      );
    const status = async (): Promise<Record<string, unknown>> =>
      (await apiGet(s.httpUrl!, `/api/dns/${encodeURIComponent('+15551231111')}/status`)).body;

    await waitFor(async () => (await devices()).Narrow?.state === 'in-service', {
      what: 'Narrow in service',
      timeoutMs: 3_000,
      detail: () => narrow.stdout.slice(-1500),
    });
    expect(await status()).toEqual({
      mode: 'softswitch',
      target: `sip:+15551231111@127.0.0.1:${narrowPort}`,
      via: 'Narrow',
      inService: true,
    });

    await waitFor(() => !narrow.running, {
      what: 'the Narrow SIPp to end after answering its one OPTIONS',
      timeoutMs: 3_000,
    });
    await waitFor(async () => (await devices()).Narrow?.state === 'out-of-service', {
      what: 'Narrow out of service',
      timeoutMs: 5_000,
    });
    expect((await devices()).Wide?.state).toBe('in-service');
    expect(await status()).toEqual({
      mode: 'softswitch',
      target: `sip:+15551231111@127.0.0.1:${widePort}`,
      via: 'Wide',
      inService: true,
    });
    expect(wide.running).toBe(true);
  });
});
