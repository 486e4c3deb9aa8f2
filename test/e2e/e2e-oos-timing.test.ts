/**
 * OOS detection end to end over the REAL server process with the guide's `oos-check = 10`,
 * `oos-force = 2` (behaviour §5.1): a softswitch (SIPp UAS answering OPTIONS 200) is in
 * service; once SIPp stops it is out of service when the next probe (about 10 s after the last
 * answered one) has gone 2 s without answer; a UAS answering 404 brings it back at the next
 * probe (any final answer counts). Read through `/api/status` (devices state and lastProbe) and
 * `/metrics` (OOS counters).
 *
 * A behavioural check with generous bounds (a loaded machine delays the process's timers and
 * this test's polling): the exact windows, to the millisecond, are checked on a fake clock in
 * test/unit/reachability/oos-prober.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_TOKEN, apiGet, metricValue, metricsText, scenario, writeConfig } from './e2e-support.js';

interface DeviceRow {
  dn: string;
  state: string;
  lastProbe?: string;
  reason?: string;
}

describe('OOS detection over the real process (oos-check = 10, oos-force = 2)', () => {
  const peers: SippPeer[] = [];
  let server: ServerProcess | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    for (const p of peers) await p.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'out of service once the next probe went oos-force without answer, back in service at the next probe answered 404',
    { timeout: 60_000 },
    async () => {
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
      const uas200 = await startSipp({ scenario: scenario('uas-options-200.xml'), localPort: port, calls: 100_000 });
      peers.push(uas200);
      server = await startServerProcess({
        config,
        sipListen: ['udp:127.0.0.1:0'],
        env: { SIPSERVER_TOKEN: E2E_TOKEN },
      });
      const url = server.httpUrl!;
      const device = async (): Promise<DeviceRow> =>
        (await apiGet<{ devices: DeviceRow[] }>(url, '/api/status')).body.devices.find((d) => d.dn === 'Softswitch')!;
      const metric = async (sample: string): Promise<number> => metricValue(await metricsText(url), sample);

      // First probe after a 0–1 s jitter, answered 200.
      await waitFor(async () => (await device()).state === 'in-service', {
        what: 'the Softswitch in service',
        timeoutMs: 5_000,
        detail: () => uas200.stdout.slice(-1500),
      });
      const firstProbe = Date.parse((await device()).lastProbe!);
      expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(1);
      expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(1);

      await uas200.stop();
      await waitFor(async () => (await device()).state === 'out-of-service', {
        what: 'the Softswitch out of service',
        timeoutMs: 20_000,
      });
      const seenOutAt = Date.now();
      const out = await device();
      expect(out.reason).toBe('no final answer to OPTIONS within 2 s');
      const secondProbe = Date.parse(out.lastProbe!);
      // Out of service only once the unanswered probe had oos-force (2 s) behind it.
      expect(seenOutAt - secondProbe).toBeGreaterThanOrEqual(2_000);
      expect(seenOutAt - secondProbe).toBeLessThanOrEqual(2_000 + 5_000);
      // The next probe came after oos-check (10 s), not before.
      expect(secondProbe - firstProbe).toBeGreaterThanOrEqual(9_900);
      expect(secondProbe - firstProbe).toBeLessThanOrEqual(10_000 + 3_000);
      expect(await metric('sipserver_oos_probes_total{result="timeout"}')).toBe(1);
      expect(await metric('sipserver_oos_transitions_total{to="out-of-service"}')).toBe(1);
      expect(await metric('sipserver_oos_devices{state="out-of-service"}')).toBe(1);
      expect((await apiGet(url, '/api/dns/7777/status')).body).toMatchObject({
        mode: 'softswitch',
        via: 'Softswitch',
        inService: false,
      });

      const uas404 = await startSipp({ scenario: scenario('uas-options-404.xml'), localPort: port, calls: 100_000 });
      peers.push(uas404);
      // Back at the next probe: at most oos-check (10 s) away, with room for a loaded machine.
      await waitFor(async () => (await device()).state === 'in-service', {
        what: 'the Softswitch back in service',
        timeoutMs: 10_000 + 5_000,
        detail: () => uas404.stdout.slice(-1500),
      });
      const back = await device();
      expect(back.reason).toBeUndefined();
      expect(Date.parse(back.lastProbe!) - secondProbe).toBeGreaterThanOrEqual(9_900);
      expect(Date.parse(back.lastProbe!) - secondProbe).toBeLessThanOrEqual(10_000 + 3_000);
      expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(2);
      expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(2);
      expect(await metric('sipserver_oos_devices{state="in-service"}')).toBe(1);
      expect((await apiGet(url, '/api/dns/7777/status')).body).toEqual({
        mode: 'softswitch',
        target: `sip:7777@127.0.0.1:${port}`,
        via: 'Softswitch',
        inService: true,
      });
    },
  );
});
