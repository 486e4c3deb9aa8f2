/**
 * Registrar end to end over the REAL server process (`sipserver start`) with
 * `examples/office.yaml` (its fixed ports mapped to free ones, the listen addresses overridden,
 * nothing else changed): SIPp 3.6.1 and
 * Debian's baresip register as DN 8888 (digest, `8888-secret`, MD5 challenged first by
 * default); wrong passwords end in 403 with no binding; the binding shows in `/api/status`
 * and `/api/dns/8888/status`, and survives a restart on the same data directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBaresip, type BaresipPeer } from '../helpers/baresip.js';
import { exampleWithFreePorts } from '../helpers/example-config.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { runSipp, sippTraceMessages } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_TOKEN, apiGet, metricValue, metricsText, scenario } from './e2e-support.js';

interface RegistrationRow {
  dn: string;
  contact: string;
  expires: number;
  source: string;
  nat: boolean;
  userAgent?: string;
}

const startLine = (text: string): string => text.split('\n')[0]!.trim();

describe('registrar over the real process (office.yaml)', () => {
  let dir: string;
  let dataDir: string;
  let config: string;
  let server: ServerProcess;
  let phone: BaresipPeer | undefined;
  /** Every phone started, stopped in afterAll even when a test failed midway. */
  const phones: BaresipPeer[] = [];
  const track = (p: BaresipPeer): BaresipPeer => {
    phones.push(p);
    return p;
  };
  let sippPort = 0;

  const start = (): Promise<ServerProcess> =>
    startServerProcess({
      config,
      sipListen: ['udp:127.0.0.1:0'],
      dataDir,
      keepData: true,
      env: { SIPSERVER_TOKEN: E2E_TOKEN },
    });
  const sipTarget = (): string => server.addresses[0]!.replace(/^udp:/, '');
  const registrations = async (): Promise<RegistrationRow[]> =>
    (await apiGet<{ registrations: RegistrationRow[] }>(server.httpUrl!, '/api/status')).body.registrations;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-registrar-'));
    dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    config = join(dir, 'office.yaml');
    writeFileSync(config, (await exampleWithFreePorts('office.yaml')).text);
    server = await start();
  });
  afterAll(async () => {
    for (const p of phones) await p.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIPp with a wrong password: 401, 401 again, then 403, and no binding', async () => {
    const r = await runSipp({
      scenario: scenario('e2e-reg-wrong-password.xml'),
      target: sipTarget(),
      localPort: await freePort(),
      args: ['-s', '8888', '-au', '8888', '-ap', 'not-the-secret'],
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const received = sippTraceMessages(r.messages).filter((m) => m.dir === 'received');
    expect(received.map((m) => startLine(m.text))).toEqual([
      'SIP/2.0 401 Unauthorized',
      'SIP/2.0 401 Unauthorized',
      'SIP/2.0 403 Forbidden',
    ]);
    // MD5 is challenged first by default (auth-algorithms = MD5,SHA-256), so SIPp can answer.
    expect(received[0]!.text).toMatch(
      /^WWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="[^"]+", algorithm=MD5, qop="auth"$/m,
    );
    expect(await registrations()).toEqual([]);
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toEqual({
      mode: 'unreachable',
      inService: false,
      reason: 'not registered',
    });
    const m = await metricsText(server.httpUrl!);
    expect([401, 403, 200].map((c) => metricValue(m, `sipserver_register_responses_total{status="${c}"}`))).toEqual([
      2, 1, 0,
    ]);
  });

  it('SIPp registers as 8888 with digest credentials: /api/status and /api/dns/8888/status show the binding', async () => {
    sippPort = await freePort();
    const r = await runSipp({
      scenario: scenario('e2e-reg-register.xml'),
      target: sipTarget(),
      localPort: sippPort,
      args: ['-s', '8888', '-au', '8888', '-ap', '8888-secret'],
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const received = sippTraceMessages(r.messages).filter((m) => m.dir === 'received');
    expect(received.map((m) => startLine(m.text))).toEqual(['SIP/2.0 401 Unauthorized', 'SIP/2.0 200 OK']);
    const contact = `sip:8888@127.0.0.1:${sippPort}`;
    expect(received[1]!.text).toContain(`Contact: <${contact}>;expires=600`);

    const rows = await registrations();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual({
      dn: '8888',
      contact,
      expires: expect.any(Number),
      source: `udp:127.0.0.1:${sippPort}`,
      nat: false,
      userAgent: 'SIPp',
    });
    expect(rows[0]!.expires).toBeGreaterThanOrEqual(598);
    expect(rows[0]!.expires).toBeLessThanOrEqual(600);
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toEqual({
      mode: 'registered',
      target: contact,
      inService: true,
    });
    const m = await metricsText(server.httpUrl!);
    expect([401, 403, 200].map((c) => metricValue(m, `sipserver_register_responses_total{status="${c}"}`))).toEqual([
      3, 1, 1,
    ]);
  });

  it('baresip also registers as 8888 (second contact, now the target); unregisters when it stops', async () => {
    const port = await freePort();
    phone = track(startBaresip('8888', sipTarget(), port, '8888-secret'));
    await waitFor(async () => (await registrations()).length === 2, {
      what: 'the second binding (baresip)',
      timeoutMs: 10_000,
      detail: () => phone!.output,
    });
    const rows = await registrations();
    const bs = rows.find((r) => r.source === `udp:127.0.0.1:${port}`)!;
    expect(bs).toMatchObject({ dn: '8888', nat: false, userAgent: expect.stringMatching(/^baresip/) });
    expect(bs.contact).toMatch(new RegExp(`^sip:8888-[^@]+@127\\.0\\.0\\.1:${port}$`));
    expect(bs.expires).toBeGreaterThan(500);
    // The most recently refreshed contact is where calls go.
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toEqual({
      mode: 'registered',
      target: bs.contact,
      inService: true,
    });

    await phone.stop('SIGTERM'); // baresip sends REGISTER Expires: 0 on its way out
    await waitFor(async () => (await registrations()).length === 1, {
      what: "baresip's binding removed",
      timeoutMs: 5_000,
    });
    expect((await registrations())[0]!.contact).toBe(`sip:8888@127.0.0.1:${sippPort}`);
  });

  it('baresip with a wrong password gets 403 and adds no binding', async () => {
    const port = await freePort();
    phone = track(startBaresip('8888', sipTarget(), port, 'wrong-secret'));
    await waitFor(() => phone!.output.includes('403 Forbidden'), {
      what: 'baresip to get 403 Forbidden',
      timeoutMs: 10_000,
      detail: () => phone!.output,
    });
    await phone.stop();
    expect((await registrations()).map((r) => r.source)).toEqual([`udp:127.0.0.1:${sippPort}`]);
  });

  it('the binding survives a restart on the same data directory, with a smaller expires', async () => {
    const before = (await registrations())[0]!;
    const stoppedAt = Date.now();
    expect(await server.stop()).toBe(0);
    server = await start();
    // Not a readiness wait: the assertion is about time passing (expires counts whole seconds, so at
    // least a second must have gone by since `before`; a restart usually takes longer than that).
    if (Date.now() - stoppedAt < 1100) await new Promise((r) => setTimeout(r, 1100 - (Date.now() - stoppedAt)));
    const after = await registrations();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ dn: '8888', contact: before.contact, source: before.source, userAgent: 'SIPp' });
    expect(after[0]!.expires).toBeLessThan(before.expires);
    expect(after[0]!.expires).toBeGreaterThan(before.expires - 30);
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toEqual({
      mode: 'registered',
      target: before.contact,
      inService: true,
    });
  });
});
