/**
 * OOS detection end to end over the REAL server process with the guide's `oos-check = 10`,
 * `oos-force = 2` (behaviour §5.1): a softswitch (SIPp UAS answering OPTIONS 200) is in
 * service; once SIPp stops it is out of service 12 s (±1 s) later — the next probe 10 s after
 * the last answered one, plus 2 s without answer; a UAS answering 404 brings it back at the
 * next probe (any final answer counts). Read through `/api/status` (devices state and
 * lastProbe) and `/metrics` (OOS counters).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { E2E_TOKEN, apiGet, metricValue, metricsText, scenario, startSipp, waitUntil, type Peer } from './e2e-reg-support.js';
import { writeConfig } from './e2e-support.js';

interface DeviceRow {
  dn: string;
  state: string;
  lastProbe?: string;
  reason?: string;
}

describe('OOS detection over the real process (oos-check = 10, oos-force = 2)', () => {
  const peers: Peer[] = [];
  let server: ServerProcess | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    for (const p of peers) await p.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('out of service 12 s after the softswitch stops, back in service at the next probe answered 404', { timeout: 45_000 }, async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'e2e-oos-timing-'));
    const config = writeConfig(
      dir,
      'softswitch.yaml',
      `  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:${port}", service-type: softswitch, prefix: "77", oos-check: "10", oos-force: "2" }
  - number: "7777"
    type: extension
`,
    );
    const uas200 = startSipp(scenario('uas-options-200.xml'), '127.0.0.1:9', port, ['-m', '100000']);
    peers.push(uas200);
    await new Promise((r) => setTimeout(r, 300));
    server = await startServerProcess({ config, sipListen: ['udp:127.0.0.1:0'], env: { SIPSERVER_TOKEN: E2E_TOKEN } });
    const url = server.httpUrl!;
    const device = async (): Promise<DeviceRow> =>
      (await apiGet<{ devices: DeviceRow[] }>(url, '/api/status')).body.devices.find((d) => d.dn === 'Softswitch')!;
    const metric = async (sample: string): Promise<number> => metricValue(await metricsText(url), sample);

    // First probe after a 0–1 s jitter, answered 200.
    expect(await waitUntil(async () => (await device()).state === 'in-service', 3_000, 50), uas200.output).toBe(true);
    const firstProbe = Date.parse((await device()).lastProbe!);
    expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(1);
    expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(1);

    await uas200.stop();
    const stoppedAt = Date.now();
    expect(await waitUntil(async () => (await device()).state === 'out-of-service', 15_000, 50)).toBe(true);
    const outAfter = Date.now() - stoppedAt;
    expect(outAfter).toBeGreaterThanOrEqual(11_000);
    expect(outAfter).toBeLessThanOrEqual(13_000);
    const out = await device();
    expect(out.reason).toBe('no final answer to OPTIONS within 2 s');
    const secondProbe = Date.parse(out.lastProbe!);
    expect(secondProbe - firstProbe).toBeGreaterThanOrEqual(9_900); // fixed period after the jitter
    expect(secondProbe - firstProbe).toBeLessThanOrEqual(10_300);
    expect(await metric('sipserver_oos_probes_total{result="timeout"}')).toBe(1);
    expect(await metric('sipserver_oos_transitions_total{to="out-of-service"}')).toBe(1);
    expect(await metric('sipserver_oos_devices{state="out-of-service"}')).toBe(1);
    expect((await apiGet(url, '/api/dns/7777/status')).body).toMatchObject({ mode: 'softswitch', via: 'Softswitch', inService: false });

    const uas404 = startSipp(scenario('uas-options-404.xml'), '127.0.0.1:9', port, ['-m', '100000']);
    peers.push(uas404);
    const startedAt = Date.now();
    expect(await waitUntil(async () => (await device()).state === 'in-service', 10_000, 50), uas404.output).toBe(true);
    expect(Date.now() - startedAt).toBeLessThanOrEqual(10_000);
    const back = await device();
    expect(back.reason).toBeUndefined();
    expect(Date.parse(back.lastProbe!) - secondProbe).toBeGreaterThanOrEqual(9_900);
    expect(Date.parse(back.lastProbe!) - secondProbe).toBeLessThanOrEqual(10_300);
    expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(2);
    expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(2);
    expect(await metric('sipserver_oos_devices{state="in-service"}')).toBe(1);
    expect((await apiGet(url, '/api/dns/7777/status')).body).toEqual({ mode: 'softswitch', target: `sip:7777@127.0.0.1:${port}`, via: 'Softswitch', inService: true });
  });
});
