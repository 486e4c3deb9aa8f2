/**
 * A cluster with shared state end to end (docs/cluster.md): `scripts/cluster-up.sh --redis local
 * --store pg` starts PostgreSQL, Redis, two nodes, Kamailio and nginx. Checked through the two
 * front addresses only: a DN created through nginx is on every node at the same version; a phone
 * registered through Kamailio is known to both nodes at its own address (Kamailio is their
 * trusted proxy), and a call claiming its DN from elsewhere is refused; an agent logged in through
 * nginx is owned by one node, and when that node is killed (SIGKILL) the other takes the agent
 * over, Ready, and the desktop reconnecting through nginx finds it; cluster-down.sh stops it all.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/admin-http.js';
import { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
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
  const clients: CtiTestClient[] = [];

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
  options: { cluster-node-lease: "2", sip-trusted-proxies: "127.0.0.1" }
dns:
  - { number: "1000", type: extension, options: { contact: "*" } }
  - { number: "2000", type: extension, options: { contact: "*" } }
  - { number: Carrier, type: trunk, options: { contact: "127.0.0.7:5099" } }
  - { number: "5000", type: routing-point, options: { agent-group: Support } }
agents:
  - { id: ann, name: Ann, password: "ann-secret", dn: "1000" }
agent-groups:
  - { name: Support, agents: [ann] }
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
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log('KEPT', dir);
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

  it('the owner of a login is killed during a routed call: the other node takes the agent over Busy, ends the call when the customer hangs up, and the agent is Ready', async () => {
    // Ann's phone (DN 1000) registers through Kamailio; a customer calls from the carrier (127.0.0.7).
    const annPhone = await SipPhone.open('127.0.0.8', sipPort);
    const customer = await SipPhone.open('127.0.0.7', sipPort);
    try {
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

      // The customer calls the routing point: ann's phone answers; the call lives on ann's node.
      const call = await customer.call('+15550001', '5000');
      expect(call.contact).toContain(`127.0.0.1:${owner.sipPort}`);
      const established = await first.waitFor((f) => f.event === 'EventEstablished' && f.thisDN === '1000', 5000);
      const connId = String(established.connId);
      const invite = annPhone.received.find((d) => d.text.startsWith('INVITE '))!;
      const agentCallId = headerValues(invite.text, 'Call-ID', 'i')[0]!;
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
      const byeAt = Date.now();
      expect(await customer.hangUp(call)).toBe(200);
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
      await customer.close();
    }
  });

  it('cluster-down.sh stops PostgreSQL, Redis, the nodes, Kamailio and nginx', async () => {
    await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data], { timeout: 60_000 });
    await waitFor(() => processesNaming(data).length === 0, 'no process left for the data directory');
  });
});
