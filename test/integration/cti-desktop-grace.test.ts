/**
 * `agent-desktop-grace` over real WebSockets against the server process (docs/cti-protocol.md,
 * "Closing a connection"): an agent whose last desktop connection closes is logged out after the
 * grace; a RequestOpen within it keeps the login; logins made by an application-scope connection
 * stay; after a restart, a restored desktop login whose desktop does not come back is logged out
 * after the grace, a restored application login stays. Absence is checked against a logout that
 * was due later, never by sleeping.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient } from '../helpers/cti-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'grace-token';
const CONFIG = `server:
  name: SIP_Server
  options:
    agent-desktop-grace: "1"
    cti-ping-interval: "1"
  sip:
    listen: ["udp:127.0.0.1:0"]
dns:
  - { number: "8888", type: extension }
  - { number: "7777", type: extension }
  - { number: "6666", type: extension }
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "8888" }
  - { id: joe, name: Joe, password: "joe-secret", dn: "7777" }
  - { id: ann, name: Ann, password: "ann-secret", dn: "6666" }
`;

describe('agent-desktop-grace over real WebSockets', () => {
  let dir: string;
  let server: ServerProcess;
  let watcher: CtiTestClient;
  const clients: CtiTestClient[] = [];

  async function connect(options?: { autoPong?: boolean }): Promise<CtiTestClient> {
    const c = await CtiTestClient.connect(`${server.httpUrl!.replace('http', 'ws')}/cti`, 5000, options);
    clients.push(c);
    return c;
  }

  /** A connection opened with `open` that logged `agentId` in on `dn` (AutoIn). */
  async function loggedIn(open: Record<string, string>, agentId: string, dn: string): Promise<CtiTestClient> {
    const c = await connect();
    expect(await c.request('RequestOpen', open)).toMatchObject({ event: 'EventOpened' });
    expect(await c.request('RequestAgentLogin', { thisDN: dn, agentId, workMode: 'AutoIn' })).toMatchObject({
      event: 'EventAgentLogin',
    });
    return c;
  }

  const logoutOf = (dn: string) => (f: Record<string, unknown>) => f.event === 'EventAgentLogout' && f.thisDN === dn;

  async function stateOf(dn: string): Promise<unknown> {
    return (await watcher.request('RequestQueryAddress', { thisDN: dn })).agentState;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'grace-'));
    writeFileSync(join(dir, 'grace.yaml'), CONFIG);
    server = await startServerProcess({
      config: join(dir, 'grace.yaml'),
      sipListen: ['udp:127.0.0.1:0'],
      env: { SIPSERVER_TOKEN: TOKEN },
    });
    watcher = await connect();
    expect(await watcher.request('RequestOpen', { token: TOKEN })).toMatchObject({ scope: 'application' });
    for (const dn of ['8888', '7777', '6666'])
      expect(await watcher.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({
        event: 'EventRegistered',
      });
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs the agent out 1 s after its desktop closed (EventAgentLogout to the DN watcher)', async () => {
    const desk = await loggedIn({ agentId: 'jay', password: 'jay-secret' }, 'jay', '8888');
    desk.close();
    const closedAt = Date.now();
    expect(await watcher.waitFor(logoutOf('8888'), 5000)).toMatchObject({ agentId: 'jay' });
    const after = Date.now() - closedAt;
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(3000);
    expect(await stateOf('8888')).toBe('LoggedOut');
  });

  it('cuts a desktop that stops answering pings (cti-ping-interval 1 s), then its grace runs; a live one stays', async () => {
    watcher.skipReceived();
    const healthy = await connect();
    expect(await healthy.request('RequestOpen', { agentId: 'joe', password: 'joe-secret' })).toMatchObject({
      event: 'EventOpened',
    });
    const silent = await connect({ autoPong: false });
    expect(await silent.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' })).toMatchObject({
      event: 'EventOpened',
    });
    expect(
      await silent.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    const loggedInAt = Date.now();
    await silent.waitClosed(5000);
    const cutMs = Date.now() - loggedInAt;
    expect(await watcher.waitFor(logoutOf('8888'), 5000)).toMatchObject({ agentId: 'jay' });
    const logoutMs = Date.now() - loggedInAt;
    // Cut at the first ping round that finds the previous ping unanswered: 1 – 2 s; then 1 s of grace.
    expect(cutMs).toBeLessThan(3000);
    expect(logoutMs - cutMs).toBeGreaterThanOrEqual(900);
    // The client that answers pings outlived those rounds, and its heartbeat is answered.
    expect(healthy.closed).toBeUndefined();
    expect(await healthy.request('RequestQueryServer', {})).toMatchObject({ event: 'EventServerInfo' });
    healthy.close();
  });

  it('keeps the login of an agent who opens again within the grace; an application-scope login stays', async () => {
    watcher.skipReceived();
    const app = await connect();
    expect(await app.request('RequestOpen', { token: TOKEN })).toMatchObject({ scope: 'application' });
    expect(
      await app.request('RequestAgentLogin', { thisDN: '6666', agentId: 'ann', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    app.close();
    const jay = await loggedIn({ agentId: 'jay', password: 'jay-secret' }, 'jay', '8888');
    jay.close();
    const back = await connect();
    expect(await back.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' })).toMatchObject({
      event: 'EventOpened',
    });
    // Joe's grace starts last: when it has run out, Ann's and Jay's would have too.
    const joe = await loggedIn({ agentId: 'joe', password: 'joe-secret' }, 'joe', '7777');
    joe.close();
    await watcher.waitFor(logoutOf('7777'), 5000);
    expect(watcher.pending().filter((f) => f.event === 'EventAgentLogout')).toEqual([]);
    expect(await stateOf('8888')).toBe('Ready');
    expect(await stateOf('6666')).toBe('Ready');
    back.close();
    expect(await watcher.waitFor(logoutOf('8888'), 5000)).toMatchObject({ agentId: 'jay' });
  });
});

describe('agent-desktop-grace after a restart', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  const clients: CtiTestClient[] = [];

  async function start(): Promise<ServerProcess> {
    return startServerProcess({
      config: join(dir, 'grace.yaml'),
      dataDir: join(dir, 'data'),
      keepData: true,
      sipListen: ['udp:127.0.0.1:0'],
      env: { SIPSERVER_TOKEN: TOKEN },
    });
  }

  async function opened(s: ServerProcess, open: Record<string, string>): Promise<CtiTestClient> {
    const c = await CtiTestClient.connect(`${s.httpUrl!.replace('http', 'ws')}/cti`);
    clients.push(c);
    expect(await c.request('RequestOpen', open)).toMatchObject({ event: 'EventOpened' });
    return c;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'grace-restart-'));
    writeFileSync(join(dir, 'grace.yaml'), CONFIG);
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs out a restored desktop login whose desktop does not come back; an application's login stays", async () => {
    server = await start();
    // Ann first: were her restored login (wrongly) timed too, it would end before Jay's.
    const app = await opened(server, { token: TOKEN });
    expect(
      await app.request('RequestAgentLogin', { thisDN: '6666', agentId: 'ann', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    const jay = await opened(server, { agentId: 'jay', password: 'jay-secret' });
    expect(
      await jay.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    expect(await server.stop()).toBe(0); // SIGTERM: the logins stay persisted
    server = await start();
    const watcher = await opened(server, { token: TOKEN });
    const stateOf = async (dn: string): Promise<unknown> =>
      (await watcher.request('RequestQueryAddress', { thisDN: dn })).agentState;
    expect(await stateOf('6666')).toBe('Ready');
    await waitFor(async () => (await stateOf('8888')) === 'LoggedOut' || undefined, {
      what: "Jay's restored login ended by the grace",
      timeoutMs: 10_000,
    });
    expect(await stateOf('6666')).toBe('Ready');
  });
});
