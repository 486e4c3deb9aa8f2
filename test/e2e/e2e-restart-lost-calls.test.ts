/**
 * Restart semantics end to end over the REAL server process (issue "A server restart keeps
 * agents' logins (persisted) and says which calls were lost"): agents logged in over CTI are
 * still logged in after a restart, with their state, work mode and agent-phone; a call
 * established through SIPp when the server is SIGKILLed is listed in `/api/status` `lostCalls`
 * after the restart (cause `crash`), logged at warn level ("call lost in restart") and counted
 * in `/metrics`, then forgotten; a call released by an orderly stop is listed with cause
 * `shutdown`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { CtiTestClient } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_TOKEN, apiGet, metricValue, metricsText, scenario, writeConfig } from './e2e-support.js';

interface LostCallRow {
  connId: string;
  parties: string[];
  ani?: string;
  dnis?: string;
  callType: string;
  startedAt: string;
  cause: string;
}

interface StatusBody {
  agents: Array<Record<string, unknown>>;
  calls: { active: number };
  lostCalls: LostCallRow[];
}

describe('restart semantics over the real process', () => {
  let dir: string;
  let dataDir: string;
  let config: string;
  let server: ServerProcess;
  let sbcPort: number;
  const peers: SippPeer[] = [];
  const clients: CtiTestClient[] = [];

  const start = async (): Promise<ServerProcess> =>
    startServerProcess({
      config,
      sipListen: ['udp:127.0.0.1:0'],
      dataDir,
      keepData: true,
      env: { SIPSERVER_TOKEN: E2E_TOKEN },
    });
  const status = async (): Promise<StatusBody> => (await apiGet<StatusBody>(server.httpUrl!, '/api/status')).body;
  const cti = async (): Promise<CtiTestClient> => {
    const c = await CtiTestClient.connect(`${server.httpUrl!.replace(/^http/, 'ws')}/cti`);
    clients.push(c);
    expect(await c.request('RequestOpen', { referenceId: 1, token: E2E_TOKEN })).toMatchObject({
      event: 'EventOpened',
      scope: 'application',
    });
    return c;
  };
  /**
   * Whether the call `connId` is in the journal on disk (`DATA/calls.sqlite`, written behind in
   * batches every 200 ms): what a crash leaves for the next start to report.
   */
  const journaled = (connId: string): boolean => {
    const db = new Database(join(dataDir, 'calls.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT 1 FROM active_calls WHERE conn_id = ?').get(connId) !== undefined;
    } finally {
      db.close();
    }
  };
  /** Customer (SIPp UAC) → 7777 → Softswitch (SIPp UAS), held up for a minute; resolves with the ConnID once it is journaled. */
  const establishCall = async (): Promise<{ connId: string; uac: SippPeer; uas: SippPeer }> => {
    const desk = await cti();
    expect(await desk.request('RequestRegisterAddress', { referenceId: 2, thisDN: '7777' })).toMatchObject({
      event: 'EventRegistered',
    });
    const uasPort = Number(/127\.0\.0\.1:(\d+)/.exec(softswitchContact)![1]);
    const target = server.addresses[0]!.replace(/^udp:/, '');
    const uas = await startSipp({
      scenario: scenario('uas-answer.xml'),
      target,
      localPort: uasPort,
      calls: 1,
      traceMessages: false,
    });
    peers.push(uas);
    const uac = await startSipp({
      scenario: scenario('uac-basic-call.xml'),
      target,
      calls: 1,
      service: '7777',
      pauseMs: 60_000,
      traceMessages: false,
    });
    peers.push(uac);
    const established = await desk.waitFor((m) => m.event === 'EventEstablished' && m.thisDN === '7777', 10_000);
    const connId = established.connId as string;
    await waitFor(async () => (await status()).calls.active === 1, { what: 'one active call', timeoutMs: 2_000 });
    await waitFor(() => journaled(connId), {
      what: `call ${connId} in the journal on disk (write-behind flush)`,
      timeoutMs: 5_000,
    });
    desk.close();
    return { connId, uac, uas };
  };
  let softswitchContact = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-restart-'));
    dataDir = join(dir, 'data');
    sbcPort = await freePort();
    softswitchContact = `127.0.0.1:${await freePort()}`;
    config = writeConfig(
      dir,
      'restart.yaml',
      `  - number: "8888"
    type: extension
    options: { contact: "*", password: "8888-secret" }
  - number: "7777"
    type: extension
  - number: Softswitch
    type: voip-service
    options: { contact: "${softswitchContact}", service-type: softswitch, prefix: "77" }
  - number: SBC
    type: voip-service
    options: { contact: "127.0.0.1:${sbcPort}", service-type: softswitch, prefix: "+1" }
agents:
  - { id: joe, name: Joe, password: "joe-secret", dn: "8888" }
  - { id: jay, name: Jay, password: "jay-secret", dn: "7777" }
`,
    );
    server = await start();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of peers) await p.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agents logged in over CTI stay logged in across a restart, with state, work mode and agent-phone', async () => {
    const c = await cti();
    expect(
      await c.request('RequestAgentLogin', { referenceId: 3, thisDN: '7777', agentId: 'jay', workMode: 'ManualIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    expect(
      await c.request('RequestAgentNotReady', {
        referenceId: 4,
        thisDN: '7777',
        workMode: 'AuxWork',
        reasonCode: 'Lunch',
      }),
    ).toMatchObject({ event: 'EventAgentNotReady' });
    expect(
      await c.request('RequestAgentLogin', {
        referenceId: 5,
        thisDN: '8888',
        agentId: 'joe',
        workMode: 'AutoIn',
        extensions: { 'agent-phone': '+1 555 123 2222' },
      }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    c.close();
    const before = (await status()).agents;
    const jay = { id: 'jay', dn: '7777', state: 'NotReady', workMode: 'AuxWork', reasonCode: 'Lunch' };
    const joe = { id: 'joe', dn: '8888', state: 'Ready', workMode: 'AutoIn', agentPhone: '+15551232222' };
    expect(before).toEqual(expect.arrayContaining([jay, joe]));
    expect(before).toHaveLength(2);

    expect(await server.stop()).toBe(0);
    server = await start();
    const after = (await status()).agents;
    expect(after).toEqual(expect.arrayContaining([jay, joe]));
    expect(after).toHaveLength(2);
    // The restored agent-phone still routes 8888's calls through the SBC.
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toMatchObject({
      mode: 'agent-phone',
      target: `sip:+15551232222@127.0.0.1:${sbcPort}`,
    });
    expect((await status()).lostCalls).toEqual([]);
  });

  it('a call established when the server is SIGKILLed is listed as lost after the restart, logged and counted, then forgotten', async () => {
    const { connId, uac, uas } = await establishCall();
    const killedAt = Date.now();
    server.child.kill('SIGKILL');
    await server.stop();
    await uac.stop();
    await uas.stop();
    server = await start();

    const lost = (await status()).lostCalls;
    expect(lost).toEqual([
      {
        connId,
        parties: ['customer', '7777'],
        ani: 'customer',
        dnis: '7777',
        callType: 'Inbound',
        startedAt: expect.any(String),
        cause: 'crash',
      },
    ]);
    const startedAt = Date.parse(lost[0]!.startedAt);
    expect(startedAt).toBeLessThan(killedAt);
    expect(startedAt).toBeGreaterThan(killedAt - 15_000);
    const line = server.stdout.split('\n').find((l) => l.includes('call lost in restart'));
    expect(line, server.stdout + server.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 40, connId, parties: ['customer', '7777'], cause: 'crash' });
    expect(
      metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="crash"}'),
    ).toBe(1);
    // Agents are still there after a crash as well.
    expect((await status()).agents.map((a) => [a.id, a.state])).toEqual(
      expect.arrayContaining([
        ['jay', 'NotReady'],
        ['joe', 'Ready'],
      ]),
    );

    // Reported once: the next restart has nothing to report.
    expect(await server.stop()).toBe(0);
    server = await start();
    expect((await status()).lostCalls).toEqual([]);
    expect(
      metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="crash"}'),
    ).toBe(0);
  });

  it('a call released by an orderly stop (SIGTERM) is listed with cause shutdown', async () => {
    const { connId, uac, uas } = await establishCall();
    expect(await server.stop()).toBe(0);
    // The stop released the call with BYE on both legs: the SIPp peers end by themselves.
    await waitFor(() => !uas.running, {
      what: 'the softswitch SIPp to end (BYE received)',
      timeoutMs: 5_000,
      detail: () => uas.stdout.slice(-1500),
    });
    await uac.stop();
    server = await start();
    expect((await status()).lostCalls).toEqual([
      expect.objectContaining({ connId, parties: ['customer', '7777'], cause: 'shutdown' }),
    ]);
    expect(
      metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="shutdown"}'),
    ).toBe(1);
  });
});
