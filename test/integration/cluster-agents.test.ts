/**
 * Agent logins in a cluster of two `sipserver start --redis` processes (docs/cluster.md): the node
 * an agent logs in on owns it (`GET /api/cluster`), a second login on the other node is refused,
 * and when the owner is killed (SIGKILL) the other node takes the agent over, still logged in and
 * Ready, and its desktop reconnecting there finds it so; a Redis restarted empty gets the login
 * back from its node. The softswitch of the configuration (a UDP responder here) gets its OPTIONS
 * from one node only, shown in `GET /api/cluster` `probes`, and from the survivor once the other
 * is killed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/admin-http.js';
import { CtiTestClient } from '../helpers/cti-client.js';
import { OptionsDevice } from '../helpers/options-device.js';
import { TestRedis } from '../helpers/redis.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'cluster-agents-token';
const LEASE_S = 2;
/** A softswitch (a UDP responder in the test) that one node probes and both show in service. */
const CONFIG = (devicePort: number): string => `
server:
  name: SIP_Server
  sip: { listen: ["udp:127.0.0.1:5060"] }
  http: { listen: "127.0.0.1:8080" }
  options: { cluster-node-lease: "${LEASE_S}" }
dns:
  - { number: "8888", type: extension, options: { contact: "*" } }
  - { number: "7777", type: extension, options: { contact: "*" } }
  - { number: Softswitch, type: voip-service, options: { contact: "127.0.0.1:${devicePort}", service-type: softswitch, prefix: "+9", oos-check: "1", oos-force: "1" } }
agents:
  - { id: jay, name: Jay, password: "jay-secret", dn: "8888" }
  - { id: joe, name: Joe, password: "joe-secret", dn: "7777" }
`;

let dir: string;
let redis: TestRedis;
let device: OptionsDevice;
const nodes: ServerProcess[] = [];
const clients: CtiTestClient[] = [];

async function startNode(name: string): Promise<ServerProcess> {
  const node = await startServerProcess({
    config: join(dir, 'cluster.yaml'),
    sipListen: ['udp:127.0.0.1:0'],
    args: ['--redis', redis.url, '--node', name],
    env: { SIPSERVER_TOKEN: TOKEN },
  });
  nodes.push(node);
  return node;
}

async function desktop(node: ServerProcess, agentId: string, password: string): Promise<CtiTestClient> {
  const c = await CtiTestClient.connect(`${node.httpUrl!.replace('http', 'ws')}/cti`);
  clients.push(c);
  expect(await c.request('RequestOpen', { agentId, password })).toMatchObject({ event: 'EventOpened' });
  return c;
}

interface ClusterAnswer {
  mode: string;
  self: string;
  nodes: Array<{ name: string; alive: boolean; agents: number; sip?: string[]; http?: string }>;
  owners: Record<string, string>;
  probes: Record<string, string>;
}

async function cluster(node: ServerProcess): Promise<ClusterAnswer> {
  const r = await adminRequest(node.httpUrl!, TOKEN, 'GET', '/api/cluster');
  expect(r.status).toBe(200);
  return r.json as ClusterAnswer;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cluster-agents-'));
  device = await OptionsDevice.start();
  writeFileSync(join(dir, 'cluster.yaml'), CONFIG(device.port));
  redis = await TestRedis.start();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await redis?.stop();
  device?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('agent logins in a cluster', () => {
  it('the owner is shown, a login elsewhere is refused, and a dead owner’s agent is taken over Ready', async () => {
    const [a, b] = await Promise.all([startNode('a'), startNode('b')]);
    const jay = await desktop(a, 'jay', 'jay-secret');
    expect(
      await jay.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });

    const seen = await waitFor(async () => {
      const v = await cluster(b);
      return v.owners.jay === 'a' ? v : undefined;
    }, 'node b knowing that node a owns jay');
    expect(seen.mode).toBe('cluster');
    expect(seen.self).toBe('b');
    expect(seen.nodes.map((n) => [n.name, n.alive, n.agents])).toEqual([
      ['a', true, 1],
      ['b', true, 0],
    ]);
    expect(seen.nodes.find((n) => n.name === 'a')!.http).toBe(a.httpUrl);
    // One node probes the softswitch, both show it in service (docs/cluster.md, "Device health").
    const prober = async (): Promise<string> =>
      waitFor(async () => {
        const [pa, pb] = [(await cluster(a)).probes, (await cluster(b)).probes];
        return pa.Softswitch !== undefined && pa.Softswitch === pb.Softswitch ? pa.Softswitch : undefined;
      }, 'both nodes naming the node that probes the softswitch');
    let holder = await prober();
    // Settled: no lease handed over for a lease and two renewals.
    for (let settled = false; !settled;) {
      await new Promise((r) => setTimeout(r, LEASE_S * 1000 + 1500));
      const now = await prober();
      settled = now === holder;
      holder = now;
    }
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 3500));
    const sipPort = (n: ServerProcess): number => Number(n.addresses[0].split(':').pop());
    const holderNode = holder === 'a' ? a : b;
    expect([...device.sendersSince(since)]).toEqual([sipPort(holderNode)]);
    expect(device.seen.filter((s) => s.t >= since).length).toBeGreaterThanOrEqual(3);
    for (const n of [a, b]) {
      const r = await adminRequest(n.httpUrl!, TOKEN, 'GET', '/api/status?sections=devices');
      expect(r.json.devices).toEqual([expect.objectContaining({ dn: 'Softswitch', state: 'in-service' })]);
    }

    const again = await desktop(b, 'jay', 'jay-secret');
    expect(
      await again.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventError', errorMessage: 'agent jay is logged in on node a' });

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const taken = await waitFor(
      async () => {
        const v = await cluster(b);
        return v.owners.jay === 'b' ? v : undefined;
      },
      { what: 'node b taking jay over', timeoutMs: 15_000 },
    );
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(
      `cluster: jay taken over by node b ${seconds.toFixed(1)} s after node a was killed (lease ${LEASE_S} s)`,
    );
    expect(taken.nodes.find((n) => n.name === 'b')!.agents).toBe(1);
    await waitFor(async () => (await cluster(b)).probes.Softswitch === 'b', 'node b probing the softswitch');
    const after = Date.now();
    await waitFor(
      () => device.sendersSince(after).has(Number(b.addresses[0].split(':').pop())),
      'node b sending OPTIONS',
    );
    expect(seconds).toBeLessThan(3 * LEASE_S);

    const status = await adminRequest(b.httpUrl!, TOKEN, 'GET', '/api/status?sections=agents&agentState=logged-in');
    expect(status.json.agents).toEqual([
      expect.objectContaining({ id: 'jay', dn: '8888', state: 'Ready', workMode: 'AutoIn' }),
    ]);
    // jay's desktop comes back through node b and finds the login there.
    expect(await again.request('RequestRegisterAddress', { thisDN: '8888' })).toMatchObject({
      event: 'EventRegistered',
    });
    expect(await again.request('RequestQueryAddress', { thisDN: '8888' })).toMatchObject({
      event: 'EventAddressInfo',
      agentId: 'jay',
      agentState: 'Ready',
    });
    expect(await again.request('RequestAgentNotReady', { thisDN: '8888' })).toMatchObject({
      event: 'EventAgentNotReady',
    });

    // Redis restarted empty: node b writes its lease and jay's login again.
    await redis.down();
    await redis.up();
    const raw = new Redis(redis.url);
    try {
      const record = await waitFor(async () => raw.get('sipserver:agent:jay'), 'jay written to Redis again');
      expect(JSON.parse(record).owner).toBe('b');
      expect(JSON.parse(JSON.parse(record).session)).toMatchObject({
        agentId: 'jay',
        dn: '8888',
        status: { state: 'NotReady' },
      });
      await waitFor(async () => (await cluster(b)).nodes.some((n) => n.name === 'b' && n.alive), 'node b alive again');
    } finally {
      raw.disconnect();
    }
  });

  it('a single server answers mode "single" with itself', async () => {
    const single = await startServerProcess({
      config: join(dir, 'cluster.yaml'),
      sipListen: ['udp:127.0.0.1:0'],
      env: { SIPSERVER_TOKEN: TOKEN },
    });
    nodes.push(single);
    const v = await cluster(single);
    expect(v).toMatchObject({ mode: 'single', owners: {}, probes: { Softswitch: v.self } });
    expect(v.nodes).toEqual([expect.objectContaining({ alive: true, http: single.httpUrl, agents: 0 })]);
  });
});
