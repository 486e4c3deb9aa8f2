/**
 * A cluster with shared state end to end (docs/cluster.md): `scripts/cluster-up.sh --redis local
 * --store pg` starts PostgreSQL, Redis, two nodes, Kamailio and nginx. Checked through the two
 * front addresses only: a DN created through nginx is on every node at the same version; a phone
 * registered through Kamailio is known to both nodes at its own address (Kamailio is their
 * trusted proxy), and a call claiming its DN from elsewhere is refused; an agent logged in through
 * nginx is owned by one node, and when that node is killed (SIGKILL) the other takes the agent
 * over, Ready, and the desktop reconnecting through nginx finds it; cluster-down.sh stops it all.
 *
 * Kamailio's node list comes from the store (deploy/kamailio/kamailio.cfg, store mode): the nodes'
 * rows are in sipserver_dispatcher; a node started by hand with the same --store is listed by
 * Kamailio and gets the REGISTERs hashed to it, and after its SIGTERM its row and its entry are
 * gone; the node killed with SIGKILL keeps its row, and Kamailio's probes mark it inactive.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/admin-http.js';
import { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { SipPhone, headerValues } from '../helpers/sip-phone.js';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { type ClusterNode, gone, parseNodes, processesNaming } from './cluster-support.js';

const run = promisify(execFile);
const TOKEN = 'cluster-shared-token';

/** An admin-API call with the cluster's token. */
async function api<T>(base: string, method: string, path: string, body?: unknown) {
  const r = await adminRequest(base, TOKEN, method, path, body);
  return { status: r.status, headers: r.headers, body: r.json as T };
}

/** Kamailio's dispatcher entries (`kamcmd dispatcher.list`): URI and state flags (AP active, IP inactive). */
async function kamailioList(data: string): Promise<Array<{ uri: string; flags: string }>> {
  const r = await run('kamcmd', ['-s', `unix:${join(data, 'kamailio/kamailio.ctl')}`, 'dispatcher.list'], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
  return [...r.stdout.matchAll(/URI: (\S+)\s+FLAGS: (\S+)/g)].map((m) => ({ uri: m[1]!, flags: m[2]! }));
}

/** A REGISTER of `user` (a DN of the test) through Kamailio from `peer`; resolves its final status. */
async function register(peer: UdpPeer, sipPort: number, user: string): Promise<number | undefined> {
  const callId = randomBytes(8).toString('hex');
  await peer.send(
    `REGISTER sip:127.0.0.1:${sipPort} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.7:${peer.port};branch=z9hG4bK${randomBytes(6).toString('hex')}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:${user}@127.0.0.1:${sipPort}>;tag=${randomBytes(4).toString('hex')}\r\n` +
      `To: <sip:${user}@127.0.0.1:${sipPort}>\r\nCall-ID: ${callId}\r\nCSeq: 1 REGISTER\r\n` +
      `Contact: <sip:${user}@127.0.0.7:${peer.port}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
    sipPort,
  );
  const [final] = await peer.waitFor((d) => d.text.includes(callId) && (statusOf(d.text) ?? 0) >= 200, 1, 5000);
  return final ? statusOf(final.text) : undefined;
}

/** A node's `sipserver_register_responses_total{status="200"}`. */
async function registered200(http: string): Promise<number> {
  const r = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const m = /^sipserver_register_responses_total\{status="200"\} (\d+)/m.exec(await r.text());
  return m ? Number(m[1]) : 0;
}

interface ClusterView {
  nodes: Array<{ name: string; alive: boolean; http?: string }>;
  owners: Record<string, string>;
}

describe('cluster with PostgreSQL and Redis (cluster-up.sh --redis local --store pg)', () => {
  let dir: string;
  let data: string;
  let sipPort: number;
  let front: string;
  let nodes: ClusterNode[] = [];
  let upOutput = '';
  let pool: pg.Pool | undefined;
  let byHand: ServerProcess | undefined;
  const clients: CtiTestClient[] = [];

  type NodeRow = { setid: number; destination: string; flags: number; description: string };
  const nodeRows = async (): Promise<NodeRow[]> =>
    (
      await pool!.query<NodeRow>(
        'SELECT setid, destination, flags, description FROM sipserver_dispatcher ORDER BY destination',
      )
    ).rows;

  const nodeByName = async (name: string): Promise<ClusterNode> => {
    const view = (await api<ClusterView>(front, 'GET', '/api/cluster')).body;
    const http = view.nodes.find((n) => n.name === name)?.http;
    const node = nodes.find((n) => n.http === http);
    if (!node) throw new Error(`no node ${name} in ${JSON.stringify(view)}`);
    return node;
  };

  async function desktop(): Promise<CtiTestClient> {
    const c = await CtiTestClient.connect(`${front.replace('http', 'ws')}/cti`);
    clients.push(c);
    expect(await c.request('RequestOpen', { agentId: 'ann', password: 'ann-secret' })).toMatchObject({
      event: 'EventOpened',
    });
    return c;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-cluster-shared-'));
    // PostgreSQL runs as the postgres user when the tests run as root: it must traverse the directory.
    chmodSync(dir, 0o755);
    data = join(dir, 'data');
    sipPort = await freePort();
    const httpPort = await freePort();
    front = `http://127.0.0.1:${httpPort}`;
    const config = join(dir, 'cluster.yaml');
    writeFileSync(
      config,
      `server:
  name: SIP_Server
  sip: { listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"] }
  http: { listen: "127.0.0.1:${httpPort}", admin-token: "${TOKEN}" }
  options: { cluster-node-lease: "2", sip-trusted-proxies: "127.0.0.1", cluster-orphan-check: "1" }
dns:
  - { number: "1000", type: extension, options: { contact: "*" } }
  - { number: "1001", type: extension, options: { contact: "*" } }
  - { number: "2000", type: extension, options: { contact: "*" } }
  - { number: Carrier, type: trunk, options: { contact: "127.0.0.7:5099" } }
  - { number: "5000", type: routing-point, options: { agent-group: Support } }
agents:
  - { id: ann, name: Ann, password: "ann-secret", dn: "1000" }
  - { id: bob, name: Bob, password: "bob-secret", dn: "1001" }
agent-groups:
  - { name: Support, agents: [ann, bob] }
`,
    );
    const up = await run(
      'bash',
      [
        join(repoRoot, 'scripts/cluster-up.sh'),
        ...['--nodes', '2', '--config', config, '--data', data, '--redis', 'local', '--store', 'pg'],
      ],
      { timeout: 90_000 },
    );
    upOutput = up.stdout;
    nodes = parseNodes(up.stdout);
    pool = new pg.Pool({ connectionString: /^postgres (\S+)$/m.exec(upOutput)![1], max: 1 });
    pool.on('error', () => undefined);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await byHand?.stop();
    await pool?.end();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    if (!process.env.SHARED_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`cluster (shared): kept ${dir}`);
  });

  it('starts PostgreSQL and Redis on ports of their own, then the nodes on them', async () => {
    expect(upOutput).toMatch(/^postgres postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/sipserver$/m);
    expect(upOutput).not.toMatch(/127\.0\.0\.1:5432\//);
    expect(upOutput).toMatch(/^redis redis:\/\/127\.0\.0\.1:\d+$/m);
    expect(nodes.map((n) => n.k)).toEqual([1, 2]);
    for (const n of nodes) {
      const s = await api<{ config: { store: { kind: string; connected: boolean } } }>(
        n.http,
        'GET',
        '/api/status?sections=config',
      );
      expect(s.body.config.store).toMatchObject({ kind: 'postgres', connected: true });
    }
  });

  it('a DN created through nginx is on both nodes, at the same version', async () => {
    const put = await api(front, 'PUT', '/api/dns/3000', {
      type: 'extension',
      options: { contact: '*' },
    });
    expect(put.status).toBe(200);
    const version = Number(put.headers.get('x-config-version'));
    expect(version).toBeGreaterThan(1);
    for (const n of nodes) {
      const dn = await waitFor(async () => {
        const r = await api<{ number: string }>(n.http, 'GET', '/api/dns/3000');
        return r.status === 200 ? r.body : undefined;
      }, `DN 3000 on node ${n.k}`);
      expect(dn.number).toBe('3000');
      const v = await api<{ config: { version: number } }>(n.http, 'GET', '/api/status?sections=config');
      expect(v.body.config.version).toBe(version);
    }
  });

  it('a phone registered through Kamailio is known to both nodes, from its own address; only it may call as its DN', async () => {
    // Kamailio (127.0.0.1) is the nodes' trusted proxy: they see the phone at 127.0.0.5.
    const phone = await UdpPeer.open('127.0.0.5');
    const spoofer = await UdpPeer.open('127.0.0.6');
    const branch = (): string => `z9hG4bK${randomBytes(6).toString('hex')}`;
    const tag = (): string => randomBytes(4).toString('hex');
    try {
      const callId = randomBytes(8).toString('hex');
      await phone.send(
        `REGISTER sip:127.0.0.1:${sipPort} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.5:${phone.port};branch=${branch()}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:2000@127.0.0.1:${sipPort}>;tag=${tag()}\r\n` +
          `To: <sip:2000@127.0.0.1:${sipPort}>\r\nCall-ID: ${callId}\r\nCSeq: 1 REGISTER\r\n` +
          `Contact: <sip:2000@127.0.0.5:${phone.port}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
        sipPort,
      );
      const [ok] = await phone.waitFor((d) => d.text.includes(callId) && (statusOf(d.text) ?? 0) >= 200, 1, 5000);
      expect(statusOf(ok!.text)).toBe(200);
      for (const n of nodes) {
        const row = await waitFor(async () => {
          const r = await api<{ registrations: Array<{ dn: string; source: string }> }>(
            n.http,
            'GET',
            '/api/status?sections=registrations',
          );
          return r.body.registrations.find((x) => x.dn === '2000');
        }, `the registration of 2000 on node ${n.k}`);
        expect(row.source).toBe(`udp:127.0.0.5:${phone.port}`);
      }
      // A new call claiming DN 2000 (no password: location match) from elsewhere is refused; from
      // the phone's address it is admitted (and then fails: DN 1000 has no phone registered).
      const call = async (peer: UdpPeer, host: string): Promise<number | undefined> => {
        const id = randomBytes(8).toString('hex');
        await peer.send(
          `INVITE sip:1000@127.0.0.1:${sipPort} SIP/2.0\r\n` +
            `Via: SIP/2.0/UDP ${host}:${peer.port};branch=${branch()}\r\n` +
            `Max-Forwards: 70\r\nFrom: <sip:2000@127.0.0.1>;tag=${tag()}\r\n` +
            `To: <sip:1000@127.0.0.1>\r\nCall-ID: ${id}\r\nCSeq: 1 INVITE\r\n` +
            `Contact: <sip:2000@${host}:${peer.port}>\r\nContent-Length: 0\r\n\r\n`,
          sipPort,
        );
        const [final] = await peer.waitFor((d) => d.text.includes(id) && (statusOf(d.text) ?? 0) >= 200, 1, 5000);
        return final ? statusOf(final.text) : undefined;
      };
      expect(await call(spoofer, '127.0.0.6')).toBe(403);
      const status = await call(phone, '127.0.0.5');
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).not.toBe(403);
    } finally {
      await phone.close();
      await spoofer.close();
    }
  });

  it('Kamailio runs in store mode: each node’s row is in sipserver_dispatcher, and Kamailio lists exactly those', async () => {
    expect(upOutput).not.toMatch(/dispatcher\.list/);
    const rows = await nodeRows();
    expect(rows).toEqual(
      nodes
        .map((n) => ({ setid: 1, destination: `sip:127.0.0.1:${n.sipPort}`, flags: 0, description: `node-${n.k}` }))
        .sort((a, b) => a.destination.localeCompare(b.destination)),
    );
    const listed = await kamailioList(data);
    expect(listed.map((d) => d.uri).sort()).toEqual(rows.map((r) => r.destination));
  });

  it('a node started by hand with the same --store is listed by Kamailio, gets REGISTERs hashed to it, and leaves the list at SIGTERM', async () => {
    // 24 AoRs: each node gets some of them by Kamailio's hash over the To URI (all three get at
    // least one unless the hash is very lopsided: (2/3)^24 < 1e-4 for the new one).
    const aors = Array.from({ length: 24 }, (_, i) => String(6000 + i));
    const put = await api(front, 'POST', '/api/config/change-sets', {
      changes: aors.map((key) => ({
        op: 'put',
        kind: 'dn',
        key,
        value: { type: 'extension', options: { contact: '*' } },
      })),
    });
    expect(put.status).toBe(200);
    const [sip, http] = [await freePort(), await freePort()];
    const dest = `sip:127.0.0.1:${sip}`;
    const storeUrl = /^postgres (\S+)$/m.exec(upOutput)![1]!;
    const redisUrl = /^redis (\S+)$/m.exec(upOutput)![1]!;
    byHand = await startServerProcess({
      dist: true,
      store: storeUrl,
      sipListen: [`udp:127.0.0.1:${sip}`, `tcp:127.0.0.1:${sip}`],
      httpListen: `127.0.0.1:${http}`,
      dataDir: join(dir, 'by-hand'),
      args: ['--redis', redisUrl, '--node', 'node-by-hand'],
      env: { SIPSERVER_TOKEN: TOKEN },
      startTimeoutMs: 30_000,
    });
    const started = Date.now();
    // Its row is written before it says it listens.
    expect((await nodeRows()).filter((r) => r.destination === dest)).toEqual([
      { setid: 1, destination: dest, flags: 0, description: 'node-by-hand' },
    ]);
    await waitFor(async () => (await kamailioList(data)).find((d) => d.uri === dest && d.flags.startsWith('A')), {
      what: `Kamailio listing ${dest} as active`,
      timeoutMs: 10_000,
    });
    console.log(
      `cluster (store mode): node started by hand listed by Kamailio ${Date.now() - started} ms after it listened`,
    );
    // The new node has every DN (from the log) and answers its share of the REGISTERs.
    await waitFor(
      async () => (await api(byHand!.httpUrl!, 'GET', '/api/dns/6023')).status === 200,
      'DN 6023 on the new node',
    );
    const https = [...nodes.map((n) => n.http), byHand.httpUrl!];
    const before = await Promise.all(https.map(registered200));
    const phone = await UdpPeer.open('127.0.0.9');
    try {
      for (const aor of aors) expect(await register(phone, sipPort, aor)).toBe(200);
      const after = await Promise.all(https.map(registered200));
      const got = after.map((n, i) => n - before[i]!);
      console.log(`cluster (store mode): REGISTERs per node (node-1, node-2, by hand): ${got.join(', ')}`);
      expect(got.reduce((a, b) => a + b, 0)).toBe(aors.length);
      expect(got[2]).toBeGreaterThan(0);

      // SIGTERM: a clean stop deletes its row; Kamailio drops it; its AoRs go to the other nodes.
      const stopping = Date.now();
      expect(await byHand.stop(10_000)).toBe(0);
      expect((await nodeRows()).map((r) => r.destination)).not.toContain(dest);
      await waitFor(async () => !(await kamailioList(data)).some((d) => d.uri === dest), {
        what: `Kamailio dropping ${dest}`,
        timeoutMs: 10_000,
      });
      console.log(`cluster (store mode): node dropped by Kamailio ${Date.now() - stopping} ms after SIGTERM`);
      expect((await kamailioList(data)).map((d) => d.uri).sort()).toEqual(
        nodes.map((n) => `sip:127.0.0.1:${n.sipPort}`).sort(),
      );
      const gone = await Promise.all(nodes.map((n) => registered200(n.http)));
      const t0 = Date.now();
      for (const aor of aors) expect(await register(phone, sipPort, aor)).toBe(200);
      const moved = await Promise.all(nodes.map((n) => registered200(n.http)));
      expect(moved.reduce((a, n, i) => a + n - gone[i]!, 0)).toBe(aors.length);
      // none of them waited for a timeout at Kamailio (NODE_FR_MS 2 s): the node was out of the list
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await phone.close();
    }
  }, 60_000);

  it('the owner of two agents is killed during their routed calls: the other node takes them over Busy; one call ends when the customer hangs up, the other when the agent phone is found to have lost it; both agents Ready', async () => {
    // Ann's (DN 1000) and Bob's (DN 1001) phones register through Kamailio; customers call from the carrier (127.0.0.7).
    const annPhone = await SipPhone.open('127.0.0.8', sipPort);
    const bobPhone = await SipPhone.open('127.0.0.10', sipPort);
    const customer = await SipPhone.open('127.0.0.7', sipPort);
    try {
      expect(await bobPhone.register('1001')).toBe(200);
      expect(await annPhone.register('1000')).toBe(200);
      const first = await desktop();
      expect(await first.request('RequestRegisterAddress', { thisDN: '1000' })).toMatchObject({
        event: 'EventRegistered',
      });
      expect(
        await first.request('RequestAgentLogin', { thisDN: '1000', agentId: 'ann', workMode: 'AutoIn' }),
      ).toMatchObject({ event: 'EventAgentLogin' });
      const view = await waitFor(async () => {
        const v = (await api<ClusterView>(front, 'GET', '/api/cluster')).body;
        return v.owners.ann ? v : undefined;
      }, 'an owner for ann');
      const owner = await nodeByName(view.owners.ann!);
      const other = nodes.find((n) => n !== owner)!;
      // Both nodes know ann's owner (and, from the same announcement, that she is Ready).
      for (const n of nodes)
        await waitFor(
          async () => (await api<ClusterView>(n.http, 'GET', '/api/cluster')).body.owners.ann === view.owners.ann,
          `ann's owner known to node ${n.k}`,
        );

      // Bob logs in on the same node, through its own CTI port.
      const bobDesk = await CtiTestClient.connect(`${owner.http.replace('http', 'ws')}/cti`);
      clients.push(bobDesk);
      expect(await bobDesk.request('RequestOpen', { agentId: 'bob', password: 'bob-secret' })).toMatchObject({
        event: 'EventOpened',
      });
      expect(await bobDesk.request('RequestRegisterAddress', { thisDN: '1001' })).toMatchObject({
        event: 'EventRegistered',
      });
      expect(
        await bobDesk.request('RequestAgentLogin', { thisDN: '1001', agentId: 'bob', workMode: 'AutoIn' }),
      ).toMatchObject({ event: 'EventAgentLogin' });
      for (const n of nodes)
        await waitFor(
          async () => (await api<ClusterView>(n.http, 'GET', '/api/cluster')).body.owners.bob === view.owners.ann,
          `bob's owner known to node ${n.k}`,
        );

      // The customer calls the routing point: ann's phone answers; the call lives on ann's node.
      const call = await customer.call('+15550001', '5000');
      expect(call.contact).toContain(`127.0.0.1:${owner.sipPort}`);
      const established = await first.waitFor((f) => f.event === 'EventEstablished' && f.thisDN === '1000', 5000);
      const connId = String(established.connId);
      const invite = annPhone.received.find((d) => d.text.startsWith('INVITE '))!;
      const agentCallId = headerValues(invite.text, 'Call-ID', 'i')[0]!;
      // A second customer call goes to bob (ann is busy), on the same node.
      const call2 = await customer.call('+15550002', '5000');
      const established2 = await bobDesk.waitFor((f) => f.event === 'EventEstablished' && f.thisDN === '1001', 5000);
      const connId2 = String(established2.connId);
      const bobCallId = headerValues(
        bobPhone.received.find((d) => d.text.startsWith('INVITE '))!.text,
        'Call-ID',
        'i',
      )[0]!;
      // Both legs' dialogs are in Redis (written when the call was established).
      const redisPort = readFileSync(join(data, 'redis/port'), 'utf8').trim();
      const redis = async (...args: string[]): Promise<string> =>
        (await run('redis-cli', ['-h', '127.0.0.1', '-p', redisPort, ...args])).stdout.trim();
      await waitFor(
        async () =>
          (await redis('GET', `sipserver:dialog:${call.callId}`)) === connId &&
          (await redis('GET', `sipserver:dialog:${agentCallId}`)) === connId,
        'the call record in Redis',
      );
      await waitFor(async () => (await redis('GET', `sipserver:dialog:${bobCallId}`)) === connId2, "bob's call record");
      // Bob's phone is about to lose its call (a reboot): in-dialog requests for it get 481.
      bobPhone.forget(bobCallId);

      const killedAt = Date.now();
      process.kill(owner.pid, 'SIGKILL');
      await waitFor(() => gone(owner.pid), `node ${owner.k} gone`);
      const taken = await waitFor(
        async () => {
          const v = (await api<ClusterView>(other.http, 'GET', '/api/cluster')).body;
          const name = v.nodes.find((n) => n.http === other.http)?.name;
          return name && v.owners.ann === name ? name : undefined;
        },
        { what: 'the other node taking ann over', timeoutMs: 15_000 },
      );
      console.log(
        `cluster (shared): ann taken over by ${taken} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL`,
      );
      // The node holding the calls now asks their parties every second (cluster-orphan-check): bob's
      // phone answers 481, so that call is ended: the customer gets a BYE, bob is released, Ready.
      const bye2 = await customer.peer.waitFor(
        (d) => d.text.startsWith('BYE ') && d.text.includes(`Call-ID: ${call2.callId}\r\n`),
        1,
        15_000,
      );
      expect(bye2).toHaveLength(1);
      expect(
        bobPhone.received.some((d) => d.text.startsWith('OPTIONS ') && d.text.includes(`Call-ID: ${bobCallId}\r\n`)),
      ).toBe(true);
      await waitFor(
        async () =>
          (
            await api<{ agents: Array<{ id: string; state: string }> }>(
              other.http,
              'GET',
              '/api/status?sections=agents',
            )
          ).body.agents.some((a) => a.id === 'bob' && a.state === 'Ready'),
        'bob Ready on the other node',
      );
      expect(await redis('EXISTS', `sipserver:call:${connId2}`)).toBe('0');
      // The dead node keeps its row; Kamailio's probes mark it inactive.
      const deadDest = `sip:127.0.0.1:${owner.sipPort}`;
      expect((await nodeRows()).map((r) => r.destination)).toContain(deadDest);
      await waitFor(async () => (await kamailioList(data)).find((d) => d.uri === deadDest && d.flags.startsWith('I')), {
        what: `Kamailio marking ${deadDest} inactive`,
        timeoutMs: 15_000,
      });
      // The desktop reconnects through nginx: ann is still on the call, so Busy, not offered another.
      const again = await desktop();
      expect(await again.request('RequestRegisterAddress', { thisDN: '1000' })).toMatchObject({
        event: 'EventRegistered',
      });
      expect(await again.request('RequestQueryAddress', { thisDN: '1000' })).toMatchObject({
        agentId: 'ann',
        agentState: 'BusyReady',
      });
      const status = await api<{ agents: Array<{ id: string; onCall?: boolean }> }>(
        other.http,
        'GET',
        '/api/status?sections=agents',
      );
      expect(status.body.agents.find((a) => a.id === 'ann')).toMatchObject({ onCall: true });

      // The customer hangs up: Kamailio sends the BYE to the live node, which answers it, sends
      // BYE to ann's phone along the stored dialog, and reports the release to the desktop.
      // Other requests in the dialog reach a live node too, which cannot relay them: OPTIONS 200,
      // a re-INVITE 488 (the session goes on unchanged), INFO 403.
      expect(await customer.request(call, 'OPTIONS', 2)).toBe(200);
      expect(await customer.request(call, 'INVITE', 3)).toBe(488);
      expect(await customer.request(call, 'INFO', 4)).toBe(403);
      // (besides the holder's OPTIONS, which ann's phone answers 200)
      expect(
        annPhone.received
          .filter((d) => d.text.includes(`Call-ID: ${agentCallId}\r\n`) && !/^(SIP\/2\.0 |OPTIONS )/.test(d.text))
          .map((d) => d.text.split(' ')[0]),
      ).toEqual(['INVITE', 'ACK']);

      const byeAt = Date.now();
      expect(await customer.hangUp(call, 5)).toBe(200);
      const byeToAgent = await annPhone.peer.waitFor(
        (d) => d.text.startsWith('BYE ') && d.text.includes(`Call-ID: ${agentCallId}\r\n`),
        1,
        10_000,
      );
      expect(byeToAgent).toHaveLength(1);
      const released = await again.waitFor(
        (f) => f.event === 'EventReleased' && f.thisDN === '1000' && f.connId === connId,
        10_000,
      );
      expect(released).toMatchObject({ otherDN: '+15550001' });
      console.log(
        `cluster (shared): the customer's BYE answered, ann's phone got its BYE and the desktop EventReleased ` +
          `${((Date.now() - byeAt) / 1000).toFixed(1)} s after the hang-up`,
      );
      expect(await again.request('RequestQueryAddress', { thisDN: '1000' })).toMatchObject({
        agentId: 'ann',
        agentState: 'Ready',
      });
      expect(await redis('EXISTS', `sipserver:call:${connId}`)).toBe('0');
      expect(await redis('EXISTS', `sipserver:dialog:${agentCallId}`)).toBe('0');
    } finally {
      await annPhone.close();
      await bobPhone.close();
      await customer.close();
    }
  });

  it('cluster-down.sh stops PostgreSQL, Redis, the nodes, Kamailio and nginx', async () => {
    await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data], { timeout: 60_000 });
    await waitFor(() => processesNaming(data).length === 0, 'no process left for the data directory');
  });
});
