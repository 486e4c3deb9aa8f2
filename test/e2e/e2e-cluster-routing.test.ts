/**
 * Routing across the nodes of a cluster end to end (docs/cluster.md, "Routing across nodes"):
 * `scripts/cluster-up.sh --nodes 2 --redis local` starts Redis, two nodes and Kamailio; the
 * customers (SIPp) call the routing point through Kamailio only, the agents' phones are SIPp UASs
 * and their desktops talk CTI to the node they logged in on. Checked: a call Kamailio hands to
 * node 2 is delivered to the longest-idle agent, who is on node 1 (node 2 answers 302, Kamailio
 * follows it, the customer never sees it; the agent's desktop on node 1 gets the call's events);
 * Kamailio refuses an INVITE from outside that names an agent (`cc-agent`);
 * four calls at once for four agents spread over the nodes give each agent exactly one call (from
 * the CTI events); with Redis down the calls go to the receiving node's own agents.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, sippTraceMessages, startSipp, type SippPeer } from '../helpers/sipp.js';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { scenario } from './e2e-support.js';
import { type ClusterNode, gone, parseNodes, processesNaming } from './cluster-support.js';

const run = promisify(execFile);
const TOKEN = 'cluster-routing-token';
const AGENTS = [
  { id: 'ann', dn: '1000' },
  { id: 'bob', dn: '1001' },
  { id: 'cat', dn: '1002' },
  { id: 'dan', dn: '1003' },
] as const;

type Traced = Array<{ dir: 'sent' | 'received'; text: string }>;

const firstLine = (m: { text: string }): string => m.text.trimStart().split(/\r?\n/)[0]!.trim();
const contactPort = (m: { text: string }): number =>
  Number(/^Contact:\s*<sip:[^@>]*@?127\.0\.0\.1:(\d+)/m.exec(m.text)?.[1]);

describe('cluster: routing points pick agents of every node (cluster-up.sh --nodes 2 --redis local)', () => {
  let dir: string;
  let data: string;
  let sipPort: number;
  let nodes: ClusterNode[] = [];
  let redisPort: number;
  const phones: SippPeer[] = [];
  const desks = new Map<string, CtiTestClient>();

  /** The node (1 or 2) whose port a Contact names. */
  const nodeOfPort = (port: number): number | undefined => nodes.find((n) => n.sipPort === port)?.k;

  /** Logs `agentId` in on node `k` (its desktop talks to that node), AutoIn: Ready. */
  async function login(agentId: string, dn: string, k: number): Promise<CtiTestClient> {
    const node = nodes.find((n) => n.k === k)!;
    const c = await CtiTestClient.connect(`${node.http.replace('http', 'ws')}/cti`);
    desks.set(agentId, c);
    expect(await c.request('RequestOpen', { agentId, password: `${agentId}-secret` })).toMatchObject({
      event: 'EventOpened',
    });
    expect(await c.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({ event: 'EventRegistered' });
    expect(await c.request('RequestAgentLogin', { thisDN: dn, agentId, workMode: 'AutoIn' })).toMatchObject({
      event: 'EventAgentLogin',
    });
    return c;
  }

  /** Every node knows where `agentId` is logged in (the announcement went round). */
  async function ownerKnownEverywhere(agentId: string): Promise<void> {
    for (const n of nodes)
      await waitFor(async () => {
        const res = await fetch(`${n.http}/api/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const v = (await res.json()) as { owners: Record<string, string> };
        return v.owners[agentId] !== undefined;
      }, `the owner of ${agentId} known on node ${n.k}`);
  }

  /**
   * A Call-ID Kamailio hands to node `k` (it hashes INVITEs over the Call-ID): probed with calls to
   * routing point 5999 (no agent group: 180 from the node, then 480 at once).
   */
  async function callIdFor(k: number, not: readonly string[] = []): Promise<string> {
    for (let i = 0; i < 40; i++) {
      const cid = `route-${k}-${i}-${process.pid}`;
      if (not.includes(cid)) continue;
      const r = await runSipp({
        scenario: scenario('uac-expect-480.xml'),
        target: `127.0.0.1:${sipPort}`,
        service: '5999',
        traceMessages: true,
        args: ['-cid_str', cid],
        timeoutMs: 10_000,
      });
      expect(r.code, r.errors).toBe(0);
      const ringing = sippTraceMessages(r.messages).find((m) => m.dir === 'received' && / 180 /.test(firstLine(m)));
      if (ringing && nodeOfPort(contactPort(ringing)) === k) return cid;
    }
    throw new Error(`no Call-ID hashed to node ${k}`);
  }

  /** Calls the nodes redirected so far (their logs). */
  const redirects = (): number =>
    nodes
      .map(
        (n) => readFileSync(join(data, `node-${n.k}`, 'node.log'), 'utf8').split('routed call redirected').length - 1,
      )
      .reduce((x, y) => x + y, 0);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-cluster-routing-'));
    data = join(dir, 'data');
    sipPort = await freePort();
    const httpPort = await freePort();
    const gatewayPort = await freePort();
    const phonePorts: number[] = [];
    for (const _ of AGENTS) phonePorts.push(await freePort());
    const config = join(dir, 'cluster.yaml');
    writeFileSync(
      config,
      `server:
  name: SIP_Server
  sip: { listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"] }
  http: { listen: "127.0.0.1:${httpPort}", admin-token: "${TOKEN}" }
  options: { cluster-node-lease: "2", sip-trusted-proxies: "127.0.0.1", sip-invite-timeout: "10" }
dns:
  # the customers' gateway: its host (127.0.0.1) is trusted
  - { number: Gateway, type: voip-service, options: { contact: "127.0.0.1:${gatewayPort}", service-type: softswitch, prefix: "9" } }
  - { number: "5000", type: routing-point, options: { agent-group: Sales, router-timeout: "30" } }
  - { number: "5999", type: routing-point }
${AGENTS.map((a, i) => `  - { number: "${a.dn}", type: extension, options: { contact: "127.0.0.1:${phonePorts[i]}" } }`).join('\n')}
agents:
${AGENTS.map((a) => `  - { id: ${a.id}, name: ${a.id}, password: "${a.id}-secret", dn: "${a.dn}" }`).join('\n')}
agent-groups:
  - { name: Sales, agents: [${AGENTS.map((a) => a.id).join(', ')}] }
`,
    );
    for (const port of phonePorts)
      phones.push(await startSipp({ scenario: scenario('uas-answer.xml'), localPort: port }));
    const up = await run(
      'bash',
      [join(repoRoot, 'scripts/cluster-up.sh'), '--nodes', '2', '--config', config, '--data', data, '--redis', 'local'],
      { timeout: 90_000 },
    );
    nodes = parseNodes(up.stdout);
    redisPort = Number(/^redis redis:\/\/127\.0\.0\.1:(\d+)$/m.exec(up.stdout)?.[1]);
  }, 120_000);

  afterAll(async () => {
    for (const c of desks.values()) c.close();
    for (const p of phones) await p.stop();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call Kamailio hands to node 2 goes to the longest-idle agent, on node 1: 302 followed by Kamailio, unseen by the customer', async () => {
    expect(nodes.map((n) => n.k)).toEqual([1, 2]);
    const cid = await callIdFor(2);
    const ann = await login('ann', '1000', 1); // idle longest
    await new Promise((r) => setTimeout(r, 50));
    const bob = await login('bob', '1001', 2); // node 2's own agent, idle for less time
    await ownerKnownEverywhere('ann');
    await ownerKnownEverywhere('bob');
    ann.skipReceived();
    bob.skipReceived();
    const r = await runSipp({
      scenario: scenario('uac-basic-call.xml'),
      target: `127.0.0.1:${sipPort}`,
      service: '5000',
      pauseMs: 500,
      traceMessages: true,
      args: ['-cid_str', cid],
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const msgs = sippTraceMessages(r.messages);
    const received = msgs.filter((m) => m.dir === 'received');
    expect(received.some((m) => /^SIP\/2\.0 3\d\d /.test(firstLine(m)))).toBe(false);
    const ringing = received.filter((m) => / 180 /.test(firstLine(m)));
    expect(nodeOfPort(contactPort(ringing[0]!))).toBe(2); // node 2 took the call
    const ok = received.find((m) => /^SIP\/2\.0 200 /.test(firstLine(m)) && m.text.includes(' INVITE'))!;
    expect(nodeOfPort(contactPort(ok))).toBe(1); // node 1 answered it
    const est = await ann.waitFor((f) => f.event === 'EventEstablished' && f.thisDN === '1000', 5000);
    // the routing point is the call's DNIS on the owner too
    expect(est).toMatchObject({ dnis: '5000', otherDN: 'customer', callType: 'Inbound' });
    const rang = ann.names((f) => f.connId === est.connId);
    expect(rang[0]).toBe('EventRinging');
    await ann.waitFor((f) => f.event === 'EventReleased' && f.connId === est.connId, 5000);
    expect(ann.names((f) => f.connId === est.connId)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
    expect(bob.names((f) => typeof f.connId === 'string')).toEqual([]);
    const log = readFileSync(join(data, 'node-2', 'node.log'), 'utf8');
    expect(log).toContain('routed call redirected');
    const kamailio = readFileSync(join(data, 'kamailio', 'kamailio.log'), 'utf8');
    expect(kamailio).toMatch(
      new RegExp(
        `call ${cid} redirected by sip:127\\.0\\.0\\.1:${nodes[1]!.sipPort} to sip:5000@127\\.0\\.0\\.1:${nodes[0]!.sipPort};cc-agent=ann`,
      ),
    );
  });

  it('an INVITE from outside naming an agent (cc-agent) is refused by Kamailio', async () => {
    const peer = await UdpPeer.open();
    try {
      const id = `cc-agent-${process.pid}`;
      await peer.send(
        `INVITE sip:5000@127.0.0.1:${sipPort};cc-agent=ann SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${id};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:customer@127.0.0.1>;tag=x1\r\nTo: <sip:5000@127.0.0.1>\r\n` +
          `Call-ID: ${id}\r\nCSeq: 1 INVITE\r\nContact: <sip:customer@127.0.0.1:${peer.port}>\r\n` +
          `Content-Length: 0\r\n\r\n`,
        sipPort,
      );
      const [final] = await peer.waitFor((d) => d.text.includes(id) && (statusOf(d.text) ?? 0) >= 200, 1, 5000);
      expect(final && firstLine(final)).toBe('SIP/2.0 403 Forbidden (cc-agent)');
    } finally {
      await peer.close();
    }
  });

  it('four calls at once, two taken by each node, four agents spread over the nodes: each agent gets exactly one, never two at once', async () => {
    // Two Call-IDs Kamailio hands to each node: both nodes compete for the same agents at once.
    const cids = [await callIdFor(1), await callIdFor(2)];
    cids.push(await callIdFor(1, cids), await callIdFor(2, cids));
    await login('cat', '1002', 1);
    await login('dan', '1003', 2);
    await ownerKnownEverywhere('cat');
    await ownerKnownEverywhere('dan');
    // ann is Ready again after her call (AutoIn)
    for (const c of desks.values()) c.skipReceived();
    const redirectsBefore = redirects();
    const runs = await Promise.all(
      cids.map((cid) =>
        runSipp({
          scenario: scenario('uac-basic-call.xml'),
          target: `127.0.0.1:${sipPort}`,
          service: '5000',
          pauseMs: 4000,
          traceMessages: true,
          args: ['-cid_str', cid],
          timeoutMs: 40_000,
        }),
      ),
    );
    for (const r of runs) expect(r.code, r.errors).toBe(0);
    const msgs: Traced = runs.flatMap((r) => sippTraceMessages(r.messages));
    expect(msgs.filter((m) => m.dir === 'received' && /^SIP\/2\.0 3\d\d /.test(firstLine(m)))).toEqual([]);
    const takenBy = runs.map((r) => {
      const ringing = sippTraceMessages(r.messages).find((m) => m.dir === 'received' && / 180 /.test(firstLine(m)))!;
      return nodeOfPort(contactPort(ringing));
    });
    expect(takenBy).toEqual([1, 2, 1, 2]);
    console.log(`cluster routing: 4 calls at once, ${redirects() - redirectsBefore} redirected to the owner node`);
    const established = new Map<string, string[]>();
    for (const a of AGENTS) {
      const desk = desks.get(a.id)!;
      await waitFor(() => desk.pending().some((f) => f.event === 'EventReleased' && f.thisDN === a.dn), {
        what: `the end of ${a.id}'s call`,
      });
      const evs = desk.pending().filter((f) => f.thisDN === a.dn && typeof f.connId === 'string');
      established.set(
        a.id,
        evs.filter((f) => f.event === 'EventEstablished').map((f) => String(f.connId)),
      );
      // never two calls at once: every call is released before the next one rings
      let open: string | undefined;
      for (const f of evs) {
        if (f.event === 'EventRinging') {
          expect(open, `${a.id} rung for ${String(f.connId)} while on ${open}`).toBeUndefined();
          open = String(f.connId);
        } else if (f.event === 'EventReleased' || f.event === 'EventAbandoned') open = undefined;
      }
    }
    const all = [...established.values()];
    expect(all.map((x) => x.length)).toEqual([1, 1, 1, 1]);
    expect(new Set(all.flat()).size).toBe(4);
  });

  it('Redis down: calls still go to the agents of the node that took them, logged once', async () => {
    const cid = await callIdFor(1);
    const pid = Number(readFileSync(join(data, 'redis', 'redis.pid'), 'utf8').trim());
    expect(redisPort).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => gone(pid), 'Redis gone');
    for (const c of desks.values()) c.skipReceived();
    for (let i = 0; i < 2; i++) {
      const r = await runSipp({
        scenario: scenario('uac-basic-call.xml'),
        target: `127.0.0.1:${sipPort}`,
        service: '5000',
        pauseMs: 300,
        traceMessages: true,
        args: ['-cid_str', `${cid}`],
        timeoutMs: 20_000,
      });
      expect(r.code, r.errors).toBe(0);
      const ok = sippTraceMessages(r.messages).find(
        (m) => m.dir === 'received' && /^SIP\/2\.0 200 /.test(firstLine(m)) && m.text.includes(' INVITE'),
      )!;
      expect(nodeOfPort(contactPort(ok))).toBe(1);
    }
    // node 1's agents (ann, cat) took both calls; node 2's none
    const got = (id: string, dn: string): number =>
      desks
        .get(id)!
        .pending()
        .filter((f) => f.event === 'EventEstablished' && f.thisDN === dn).length;
    expect(got('ann', '1000') + got('cat', '1002')).toBe(2);
    expect(got('bob', '1001') + got('dan', '1003')).toBe(0);
    const log = readFileSync(join(data, 'node-1', 'node.log'), 'utf8');
    expect(log.split('\n').filter((l) => l.includes('Redis unavailable, calls go to this node')).length).toBe(1);
  });
});
