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
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { CtiClient } from './cti-client.js';
import { E2E_TOKEN, apiGet, metricValue, metricsText, scenario, startSipp, waitUntil, type Peer } from './e2e-reg-support.js';
import { writeConfig } from './e2e-support.js';

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
  const peers: Peer[] = [];
  const clients: CtiClient[] = [];

  const start = async (): Promise<ServerProcess> =>
    startServerProcess({ config, sipListen: ['udp:127.0.0.1:0'], dataDir, keepData: true, env: { SIPSERVER_TOKEN: E2E_TOKEN } });
  const status = async (): Promise<StatusBody> => (await apiGet<StatusBody>(server.httpUrl!, '/api/status')).body;
  const cti = async (): Promise<CtiClient> => {
    const c = await CtiClient.connect(`${server.httpUrl!.replace(/^http/, 'ws')}/cti`);
    clients.push(c);
    expect(await c.request({ request: 'RequestOpen', referenceId: 1, token: E2E_TOKEN })).toMatchObject({ event: 'EventOpened', scope: 'application' });
    return c;
  };
  /** Customer (SIPp UAC) → 7777 → Softswitch (SIPp UAS), held up for a minute; resolves with the ConnID. */
  const establishCall = async (): Promise<{ connId: string; uac: Peer; uas: Peer }> => {
    const desk = await cti();
    expect(await desk.request({ request: 'RequestRegisterAddress', referenceId: 2, thisDN: '7777' })).toMatchObject({ event: 'EventRegistered' });
    const uasPort = Number(/127\.0\.0\.1:(\d+)/.exec(softswitchContact)![1]);
    const uas = startSipp(scenario('uas-answer.xml'), server.addresses[0]!.replace(/^udp:/, ''), uasPort, ['-m', '1']);
    peers.push(uas);
    await new Promise((r) => setTimeout(r, 300));
    const uac = startSipp(scenario('uac-basic-call.xml'), server.addresses[0]!.replace(/^udp:/, ''), await freePort(), ['-m', '1', '-s', '7777', '-d', '60000']);
    peers.push(uac);
    const established = await desk.next((m) => m.event === 'EventEstablished' && m.thisDN === '7777', 10_000);
    expect(await waitUntil(async () => (await status()).calls.active === 1, 2_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // the journal's write-behind flush (200 ms)
    desk.close();
    return { connId: established.connId as string, uac, uas };
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
    expect(await c.request({ request: 'RequestAgentLogin', referenceId: 3, thisDN: '7777', agentId: 'jay', workMode: 'ManualIn' })).toMatchObject({ event: 'EventAgentLogin' });
    expect(await c.request({ request: 'RequestAgentNotReady', referenceId: 4, thisDN: '7777', workMode: 'AuxWork', reasonCode: 'Lunch' })).toMatchObject({ event: 'EventAgentNotReady' });
    expect(
      await c.request({ request: 'RequestAgentLogin', referenceId: 5, thisDN: '8888', agentId: 'joe', workMode: 'AutoIn', extensions: { 'agent-phone': '+1 555 123 2222' } }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    c.close();
    const before = (await status()).agents;
    const jay = { id: 'jay', dn: '7777', state: 'NotReady', workMode: 'AuxWork' };
    const joe = { id: 'joe', dn: '8888', state: 'Ready', workMode: 'AutoIn', agentPhone: '+15551232222' };
    expect(before).toEqual(expect.arrayContaining([jay, joe]));
    expect(before).toHaveLength(2);

    expect(await server.stop()).toBe(0);
    server = await start();
    const after = (await status()).agents;
    expect(after).toEqual(expect.arrayContaining([jay, joe]));
    expect(after).toHaveLength(2);
    // The restored agent-phone still routes 8888's calls through the SBC.
    expect((await apiGet(server.httpUrl!, '/api/dns/8888/status')).body).toMatchObject({ mode: 'agent-phone', target: `sip:+15551232222@127.0.0.1:${sbcPort}` });
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
      { connId, parties: ['customer', '7777'], ani: 'customer', dnis: '7777', callType: 'Inbound', startedAt: expect.any(String), cause: 'crash' },
    ]);
    const startedAt = Date.parse(lost[0]!.startedAt);
    expect(startedAt).toBeLessThan(killedAt);
    expect(startedAt).toBeGreaterThan(killedAt - 15_000);
    const line = server.stdout.split('\n').find((l) => l.includes('call lost in restart'));
    expect(line, server.stdout + server.stderr).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 40, connId, parties: ['customer', '7777'], cause: 'crash' });
    expect(metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="crash"}')).toBe(1);
    // Agents are still there after a crash as well.
    expect((await status()).agents.map((a) => [a.id, a.state])).toEqual(expect.arrayContaining([['jay', 'NotReady'], ['joe', 'Ready']]));

    // Reported once: the next restart has nothing to report.
    expect(await server.stop()).toBe(0);
    server = await start();
    expect((await status()).lostCalls).toEqual([]);
    expect(metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="crash"}')).toBe(0);
  });

  it('a call released by an orderly stop (SIGTERM) is listed with cause shutdown', async () => {
    const { connId, uac, uas } = await establishCall();
    expect(await server.stop()).toBe(0);
    // The stop released the call with BYE on both legs: the SIPp peers end by themselves.
    expect(await waitUntil(() => !uas.running, 5_000), uas.output).toBe(true);
    await uac.stop();
    server = await start();
    expect((await status()).lostCalls).toEqual([expect.objectContaining({ connId, parties: ['customer', '7777'], cause: 'shutdown' })]);
    expect(metricValue(await metricsText(server.httpUrl!), 'sipserver_calls_lost_in_restart_total{cause="shutdown"}')).toBe(1);
  });
});
