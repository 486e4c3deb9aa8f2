/**
 * Issue 21's acceptance ("What it must show", the load and failover half) end to end:
 * `scripts/cluster-up.sh --nodes 3 --redis local --store pg` starts PostgreSQL, Redis, three nodes,
 * Kamailio and nginx on loopback. Through Kamailio: 2,000 phones register (SIPp, digest, one AoR
 * per phone from an `-inf` CSV); 200 agents log in Ready, a third through each node's own CTI
 * port; customers (SIPp UAC) call a routing point at 100 calls/s, the agents' DNs answering behind
 * a softswitch (SIPp UAS); three long calls carry RTP between two Node sockets whose SDP the test
 * writes. Checked from the CTI events of every agent DN (one application connection per node,
 * registered on all 200 DNs, so calls count per agent whichever node handles them): agents of
 * every node get calls and no agent ever has two calls at once. Then the node that owns one of the
 * long calls is killed with SIGKILL under the load: no registration is lost, every agent of the
 * dead node is logged in and Ready on another node within 10 s, the long calls keep their RTP, the
 * failed calls are bounded by the calls that were live on the dead node, and the cluster keeps
 * answering at the offered rate. The figures are printed with the prefix `acceptance:`
 * (docs/cluster.md, "What the acceptance test shows"). `ACCEPTANCE_KEEP=1` keeps the scratch
 * directory with every process's log.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminGet } from '../helpers/admin-http.js';
import { CallLoad } from '../helpers/call-load.js';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { scenario } from './e2e-support.js';
import { headerLines, headerValues } from '../helpers/sip-phone.js';
import {
  type ClusterNode,
  gone,
  openCtiRecorder,
  parseNodes,
  processesNaming,
  registerPhones,
  type Seen,
} from './cluster-support.js';

const run = promisify(execFile);
const TOKEN = 'cluster-acceptance-token';
const PHONES = 2000;
const AGENTS = 200;
const RATE = 100;
/** Talk time of a customer call (SIPp `-d`). */
const TALK_MS = 500;
/** The measured window before the kill, and after it. */
const WINDOW_MS = 10_000;
const ROUTING_POINT = '5000';
/** DNs of the long calls (static contact: the test's own UAS). */
const LONG_DNS = ['4001', '4002', '4003'];

const phoneDn = (i: number): string => `8${String(i).padStart(5, '0')}`;
const agentId = (i: number): string => `agent${String(i).padStart(3, '0')}`;
const agentDn = (i: number): string => `7${String(i).padStart(5, '0')}`;
const AGENT_DNS = Array.from({ length: AGENTS }, (_, i) => agentDn(i));
const DN_AGENT = new Map(AGENT_DNS.map((dn, i) => [dn, agentId(i)]));

const get = <T>(base: string, path: string): Promise<T> => adminGet<T>(base, TOKEN, path);

/** The configuration: the PBX softswitch, the routing point, the phones, the agents, the long-call DNs. */
function clusterYaml(sipPort: number, httpPort: number, pbxPort: number, uasPort: number): string {
  const lines = [
    'server:',
    '  name: SIP_Server',
    `  sip: { listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"] }`,
    `  http: { listen: "127.0.0.1:${httpPort}", admin-token: "${TOKEN}" }`,
    // Kamailio (127.0.0.1) is the nodes' trusted proxy; every peer sends from 127.0.0.1.
    '  options: { sip-trusted-proxies: "127.0.0.1", pike-requests-per-second: "0" }',
    'dns:',
    `  - { number: OfficePBX, type: voip-service, options: { contact: "127.0.0.1:${pbxPort}", service-type: softswitch, ` +
      'prefix: "7", dual-dialog-enabled: "false", make-call-rfc3725-flow: "1", oos-check: "5", oos-force: "2" } }',
    `  - { number: "${ROUTING_POINT}", type: routing-point, options: { agent-group: Support } }`,
    ...LONG_DNS.map((dn) => `  - { number: "${dn}", type: extension, options: { contact: "127.0.0.1:${uasPort}" } }`),
  ];
  for (let i = 0; i < PHONES; i++)
    lines.push(`  - { number: "${phoneDn(i)}", type: extension, options: { contact: "*", password: "pw-${i}" } }`);
  for (const dn of AGENT_DNS) lines.push(`  - { number: "${dn}", type: extension }`);
  lines.push('agents:');
  for (let i = 0; i < AGENTS; i++)
    lines.push(
      `  - { id: ${agentId(i)}, name: "${agentId(i)}", password: "${agentId(i)}-secret", dn: "${agentDn(i)}" }`,
    );
  lines.push('agent-groups:', '  - name: Support', '    agents:');
  for (let i = 0; i < AGENTS; i++) lines.push(`      - ${agentId(i)}`);
  return lines.join('\n') + '\n';
}

/** The audio port of an SDP body. */
function sdpAudioPort(text: string): number {
  return Number(/^m=audio (\d+) /m.exec(text)?.[1]);
}

/** One long call: the customer's RTP socket (a), the callee's (b), where each sends. */
interface LongCall {
  callId: string;
  dn: string;
  a: RtpPeer;
  b: RtpPeer;
  /** Where a sends (the port of the callee's SDP the customer got in the 200). */
  aTo: number;
  /** Where b sends (the port of the customer's SDP the callee got in the INVITE). */
  bTo?: number;
  /** The node whose Contact the 200 carried: the node that owns the dialog. */
  ownerPort: number;
  sent: { a: number[]; b: number[] };
}

/**
 * The callee of the long calls: answers INVITE 200 with the SDP of the call's b socket (chosen by
 * the Request-URI's DN), OPTIONS and BYE 200; remembers the media port of the SDP offered to each DN
 * and which calls were hung up.
 */
class LongCallee {
  readonly customerPort = new Map<string, number>();
  /** DNs whose call got a BYE: like a phone, the callee stops sending there. */
  readonly hungUp = new Set<string>();
  private constructor(
    private readonly socket: Socket,
    private readonly media: Map<string, RtpPeer>,
  ) {
    socket.on('message', (buf, rinfo) => {
      const text = buf.toString('latin1');
      const method = /^([A-Z]+) sip:([^@ ;>]*)/.exec(text);
      if (!method) return;
      const reply = (status: string, extra: string[] = [], body = ''): void => {
        let to = headerValues(text, 'To', 't')[0]!;
        // the same tag for every retransmission of the INVITE: derived from the Call-ID
        const id = headerValues(text, 'Call-ID', 'i')[0] ?? '';
        if (!/;tag=/.test(to)) to += `;tag=${createHash('sha1').update(id).digest('hex').slice(0, 8)}`;
        const msg = [
          `SIP/2.0 ${status}`,
          ...headerLines(text, 'Via', 'v'),
          ...headerLines(text, 'Record-Route'),
          `From: ${headerValues(text, 'From', 'f')[0]}`,
          `To: ${to}`,
          `Call-ID: ${headerValues(text, 'Call-ID', 'i')[0]}`,
          `CSeq: ${headerValues(text, 'CSeq')[0]}`,
          ...extra,
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          body,
        ].join('\r\n');
        socket.send(Buffer.from(msg, 'latin1'), rinfo.port, rinfo.address);
      };
      if (method[1] === 'INVITE') {
        const peer = this.media.get(method[2]!);
        if (!peer) return reply('404 Not Found');
        this.customerPort.set(method[2]!, sdpAudioPort(text));
        reply(
          '200 OK',
          [`Contact: <sip:${method[2]}@127.0.0.1:${this.port}>`, 'Content-Type: application/sdp'],
          peer.sdp('0', 'sendrecv'),
        );
      } else if (method[1] === 'BYE') {
        this.hungUp.add(method[2]!);
        reply('200 OK');
      } else if (method[1] !== 'ACK') {
        reply('200 OK');
      }
    });
  }

  static async open(media: Map<string, RtpPeer>): Promise<LongCallee> {
    const s = createSocket('udp4');
    await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
    return new LongCallee(s, media);
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }
}

describe('issue 21 acceptance: three nodes behind Kamailio, 2,000 phones, 200 agents, 100 calls/s, kill -9 of a node', () => {
  let dir: string;
  let data: string;
  let sipPort: number;
  let nodes: ClusterNode[] = [];
  let pbx: SippPeer | undefined;
  let load: CallLoad | undefined;
  let callee: LongCallee | undefined;
  let customer: UdpPeer | undefined;
  let rtpTimer: NodeJS.Timeout | undefined;
  const clients: CtiTestClient[] = [];
  /** Every RTP socket (closed at the end); the callee's of each long call first. */
  const rtpPeers: RtpPeer[] = [];
  const calleeMedia: RtpPeer[] = [];
  const longCalls: LongCall[] = [];
  /** Every CTI frame of every node's connection, in arrival order. */
  const seen: Seen[] = [];
  /** Agent id → the node (k) that owns it after the logins. */
  const ownerOf = new Map<string, number>();
  let loadStartedAt = 0;
  let killedAt = 0;
  let victim: ClusterNode | undefined;

  /** One application-scope CTI connection to `node`, registered on every agent DN. */
  const openDesk = (node: ClusterNode): Promise<CtiTestClient> =>
    openCtiRecorder({ node, token: TOKEN, dns: AGENT_DNS, seen, clients, timeoutMs: 20_000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-cluster-acceptance-'));
    // PostgreSQL runs as the postgres user when the tests run as root: it must traverse the directory.
    chmodSync(dir, 0o755);
    data = join(dir, 'data');
    sipPort = await freePort();
    const httpPort = await freePort();
    pbx = await startSipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), traceMessages: false });
    for (let i = 0; i < LONG_DNS.length; i++) calleeMedia.push(await RtpPeer.open());
    rtpPeers.push(...calleeMedia);
    callee = await LongCallee.open(new Map(LONG_DNS.map((dn, i) => [dn, calleeMedia[i]!])));
    const config = join(dir, 'cluster.yaml');
    writeFileSync(config, clusterYaml(sipPort, httpPort, pbx.port, callee.port));
    const up = await run(
      'bash',
      [
        join(repoRoot, 'scripts/cluster-up.sh'),
        ...['--nodes', '3', '--config', config, '--data', data, '--redis', 'local', '--store', 'pg'],
      ],
      { timeout: 110_000 },
    );
    nodes = parseNodes(up.stdout);
  }, 120_000);

  afterAll(async () => {
    clearInterval(rtpTimer);
    await load?.stop(5000).catch(() => undefined);
    for (const c of clients) c.close();
    await pbx?.stop();
    callee?.close();
    await customer?.close();
    for (const p of rtpPeers) p.close();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data], { timeout: 60_000 }).catch(
        () => undefined,
      );
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    if (!process.env.ACCEPTANCE_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`acceptance: kept ${dir}`);
  }, 90_000);

  it('cluster-up.sh starts three nodes on PostgreSQL and Redis behind Kamailio', async () => {
    expect(nodes.map((n) => n.k)).toEqual([1, 2, 3]);
    for (const n of nodes) {
      const s = await get<{ config: { store: { kind: string; connected: boolean } } }>(
        n.http,
        '/api/status?sections=config',
      );
      expect(s.config.store).toMatchObject({ kind: 'postgres', connected: true });
    }
  });

  it('2,000 phones register through Kamailio (digest); every node knows all 2,000', async () => {
    const t0 = Date.now();
    const r = await registerPhones({
      dir,
      sipPort,
      count: PHONES,
      dnOf: phoneDn,
      rate: 400,
      limit: 400,
      timeoutMs: 60_000,
    });
    expect(r.code, r.errors.slice(0, 2000)).toBe(0);
    const registerMs = Date.now() - t0;
    for (const n of nodes) {
      await waitFor(
        async () => {
          const s = await get<{ registrations: Array<{ dn: string }> }>(n.http, '/api/status?sections=registrations');
          return new Set(s.registrations.map((x) => x.dn)).size === PHONES;
        },
        { what: `${PHONES} registrations on node ${n.k}`, timeoutMs: 20_000, intervalMs: 500 },
      );
    }
    // Kamailio keeps each transaction a while after it ends (tm's wait timer): its shared memory peaks here
    const shm = await run('kamcmd', ['-s', `unix:${data}/kamailio/kamailio.ctl`, 'core.shmmem']);
    const maxUsed = Number(/max_used:\s*(\d+)/.exec(shm.stdout)?.[1]);
    console.log(
      `acceptance: ${PHONES} phones registered through Kamailio in ${(registerMs / 1000).toFixed(1)} s; ` +
        `Kamailio shared memory peak ${(maxUsed / 2 ** 20).toFixed(0)} MB`,
    );
  }, 90_000);

  it('200 agents log in Ready, a third through each node; each node owns a third', async () => {
    const desks = await Promise.all(nodes.map(openDesk));
    for (let i = 0; i < AGENTS; i++) {
      const k = (i % 3) + 1;
      desks[k - 1]!.send('RequestAgentLogin', { thisDN: agentDn(i), agentId: agentId(i), workMode: 'AutoIn' });
      ownerOf.set(agentId(i), k);
    }
    await waitFor(
      () => new Set(seen.filter((s) => s.f.event === 'EventAgentReady').map((s) => s.f.agentId)).size === AGENTS,
      {
        what: `${AGENTS} agents Ready`,
        timeoutMs: 30_000,
        detail: () => JSON.stringify(seen.filter((s) => s.f.event === 'EventError').slice(0, 3)),
      },
    );
    const view = await get<{
      nodes: Array<{ name: string; http?: string; agents: number }>;
      owners: Record<string, string>;
    }>(nodes[0]!.http, '/api/cluster');
    const nameOf = new Map(view.nodes.map((n) => [n.name, nodes.find((x) => x.http === n.http)!.k]));
    await waitFor(
      async () => {
        const v = await get<{ owners: Record<string, string> }>(nodes[0]!.http, '/api/cluster');
        return [...ownerOf].every(([id, k]) => nameOf.get(v.owners[id] ?? '') === k);
      },
      { what: 'every agent owned by the node it logged in through', timeoutMs: 10_000 },
    );
    // the softswitch behind which the agents answer is in service on every node
    for (const n of nodes) {
      await waitFor(
        async () =>
          (
            await get<{ devices: Array<{ dn: string; state: string }> }>(n.http, '/api/status?sections=devices')
          ).devices.some((d) => d.dn === 'OfficePBX' && d.state === 'in-service'),
        { what: `OfficePBX in service on node ${n.k}`, timeoutMs: 20_000, intervalMs: 200 },
      );
    }
  }, 90_000);

  it('customers at 100 calls/s reach agents on every node; three long calls carry RTP', async () => {
    customer = await UdpPeer.open();
    // The long calls: the customer's INVITE carries the SDP of a socket of its own.
    for (const [i, dn] of LONG_DNS.entries()) {
      const a = await RtpPeer.open();
      rtpPeers.push(a);
      const callId = `long-${i}-${randomBytes(6).toString('hex')}`;
      const from = `<sip:+15550000${i}@127.0.0.1:${customer.port}>;tag=${randomBytes(4).toString('hex')}`;
      const sdp = a.sdp('0', 'sendrecv');
      await customer.send(
        `INVITE sip:${dn}@127.0.0.1:${sipPort} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.1:${customer.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: ${from}\r\nTo: <sip:${dn}@127.0.0.1:${sipPort}>\r\nCall-ID: ${callId}\r\n` +
          `CSeq: 1 INVITE\r\nContact: <sip:+15550000${i}@127.0.0.1:${customer.port}>\r\n` +
          `Content-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
        sipPort,
      );
      const [ok] = await customer.waitFor(
        (d) => d.text.includes(`Call-ID: ${callId}\r\n`) && (statusOf(d.text) ?? 0) >= 200,
        1,
        10_000,
      );
      expect(ok && statusOf(ok.text), `the long call to ${dn}`).toBe(200);
      const contact = /<([^>]+)>/.exec(headerValues(ok!.text, 'Contact', 'm')[0]!)![1]!;
      const ownerPort = Number(/@?127\.0\.0\.1:(\d+)/.exec(contact)?.[1]);
      expect(nodes.map((n) => n.sipPort)).toContain(ownerPort);
      const routes = headerValues(ok!.text, 'Record-Route')
        .flatMap((v) => v.split(/,\s*(?=<)/))
        .reverse();
      await customer.send(
        `ACK ${contact} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.1:${customer.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: ${from}\r\nTo: ${headerValues(ok!.text, 'To', 't')[0]}\r\nCall-ID: ${callId}\r\n` +
          `CSeq: 1 ACK\r\n${routes.map((r) => `Route: ${r}\r\n`).join('')}Content-Length: 0\r\n\r\n`,
        sipPort,
      );
      // The media goes end to end: each side sends where the other's SDP says.
      const aTo = sdpAudioPort(ok!.text);
      expect(aTo).toBe(calleeMedia[i]!.port);
      longCalls.push({ callId, dn, a, b: calleeMedia[i]!, aTo, ownerPort, sent: { a: [], b: [] } });
    }
    for (const l of longCalls) {
      l.bTo = callee!.customerPort.get(l.dn);
      expect(l.bTo).toBe(l.a.port);
    }
    let seq = 0;
    rtpTimer = setInterval(() => {
      seq = (seq + 1) & 0xffff;
      const payload = Buffer.alloc(160, 0xff);
      const now = performance.now();
      for (const l of longCalls) {
        // Like phones, each side stops sending once its side of the call got a BYE.
        if (
          callee!.hungUp.has(l.dn) ||
          customer!.received.some((d) => d.text.startsWith(`BYE `) && d.text.includes(l.callId))
        )
          continue;
        l.a.send(l.aTo, 0, seq, seq * 160, 0x1111, payload);
        l.b.send(l.bTo!, 0, seq, seq * 160, 0x2222, payload);
        l.sent.a.push(now);
        l.sent.b.push(now);
      }
    }, 20);

    // The customers: SIPp calling the routing point through Kamailio, short calls.
    loadStartedAt = Date.now();
    const peer = await startSipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      target: `127.0.0.1:${sipPort}`,
      service: ROUTING_POINT,
      rate: RATE,
      limit: 1000,
      pauseMs: TALK_MS,
      traceMessages: false,
      // a call whose node died after its provisional answer fails after 8 s instead of hanging
      args: ['-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-recv_timeout', '8000'],
    });
    load = new CallLoad(peer, loadStartedAt);
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    expect(peer.running, peer.stderr).toBe(true);

    const established = callsPerAgent(seen, 0, Date.now());
    const perNode = new Map<number, number[]>();
    for (let i = 0; i < AGENTS; i++) {
      const k = ownerOf.get(agentId(i))!;
      perNode.set(k, [...(perNode.get(k) ?? []), established.get(agentDn(i)) ?? 0]);
    }
    for (const [k, counts] of [...perNode].sort((x, y) => x[0] - y[0])) {
      const total = counts.reduce((a, b) => a + b, 0);
      console.log(
        `acceptance: before the kill, node ${k}: ${counts.length} agents, ${total} calls established, ` +
          `per agent min ${Math.min(...counts)} max ${Math.max(...counts)}`,
      );
      expect(total, `calls to the agents of node ${k}`).toBeGreaterThan(0);
      expect(counts.filter((c) => c > 0).length, `agents of node ${k} with calls`).toBe(counts.length);
    }
    const c = load.counts();
    console.log(`acceptance: first ${WINDOW_MS / 1000} s: SIPp ${c.ok} calls completed, ${c.failed} failed`);
    expect(c.failed, peer.errors()).toBe(0);
    expect(maxConcurrentPerAgent(seen, 0).worst).toBeLessThanOrEqual(1);
  }, 60_000);

  it('kill -9 of the node of a long call under the load: registrations, agents, RTP, failed calls, throughput', async () => {
    expect(load, 'the load of the previous test runs').toBeDefined();
    victim = nodes.find((n) => n.sipPort === longCalls[0]!.ownerPort)!;
    const survivors = nodes.filter((n) => n !== victim);
    const victimAgents = [...ownerOf].filter(([, k]) => k === victim!.k).map(([id]) => id);
    const before = await get<{ calls: { active: number; waiting: number } }>(victim.http, '/api/status?sections=calls');
    killedAt = Date.now();
    const killedPerf = performance.now();
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => gone(victim!.pid), `node ${victim.k} gone`);

    // Kamailio takes it out (a request it left unanswered, or a failed OPTIONS probe)
    const kamLog = join(data, 'kamailio/kamailio.log');
    const downLine = new RegExp(`cluster node down: sip:127\\.0\\.0\\.1:${victim.sipPort}(?!\\d)`);
    const downAt = await waitFor(() => (downLine.test(readFileSync(kamLog, 'utf8')) ? Date.now() : false), {
      what: 'Kamailio marking the node down',
      timeoutMs: 15_000,
      intervalMs: 50,
    });

    // every agent of the dead node logged in and Ready on a surviving node
    const takenAt = new Map<string, { at: number; node: number; state: string }>();
    await waitFor(
      async () => {
        for (const n of survivors) {
          const s = await get<{ agents: Array<{ id: string; state: string }> }>(
            n.http,
            '/api/status?sections=agents&agentState=logged-in',
          );
          for (const a of s.agents)
            if (victimAgents.includes(a.id) && !takenAt.has(a.id))
              takenAt.set(a.id, { at: Date.now(), node: n.k, state: a.state });
        }
        return takenAt.size === victimAgents.length;
      },
      {
        what: `the ${victimAgents.length} agents of node ${victim.k} on another node`,
        timeoutMs: 20_000,
        intervalMs: 100,
        detail: () => `${takenAt.size} taken over`,
      },
    );
    const atKill = openCallsOf(seen, victim.k, killedAt);
    const takeoverMs = Math.max(...[...takenAt.values()].map((t) => t.at)) - killedAt;
    const states = new Set([...takenAt.values()].map((t) => t.state));
    console.log(
      `acceptance: node ${victim.k} killed; Kamailio marked it down after ${((downAt - killedAt) / 1000).toFixed(1)} s; ` +
        `its ${victimAgents.length} agents logged in on node(s) ${[...new Set([...takenAt.values()].map((t) => t.node))].join(',')} ` +
        `after ${(takeoverMs / 1000).toFixed(1)} s (default cluster-node-lease, 6 s), states ${[...states].join(',')}`,
    );
    expect(takeoverMs).toBeLessThanOrEqual(10_000);
    for (const s of states) expect(['Ready', 'BusyReady']).toContain(s);

    // the window after the kill
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + WINDOW_MS - Date.now())));
    const samples = load!.samples();
    const stats = await load!.stop(30_000);
    load = undefined;
    const answeredIn = (from: number, to: number): number => samples.filter((s) => s.at >= from && s.at < to).length;
    const beforeRate = answeredIn(killedAt - WINDOW_MS + 2000, killedAt) / ((WINDOW_MS - 2000) / 1000);
    const afterRate = answeredIn(killedAt, killedAt + WINDOW_MS) / (WINDOW_MS / 1000);
    const sentToVictimBeforeDown = Math.round(((RATE / 3) * (downAt - killedAt)) / 1000);
    console.log(
      `acceptance: calls answered per second: ${beforeRate.toFixed(1)} before the kill, ${afterRate.toFixed(1)} in the ${WINDOW_MS / 1000} s after it`,
    );
    console.log(
      `acceptance: SIPp in all ${stats.ok} calls completed, ${stats.failed} failed; on node ${victim.k} at the kill: ` +
        `${before.calls.active} calls live (status just before); agent calls open (CTI): ${atKill.setup.size} ` +
        `ringing, ${atKill.established.size} established; ` +
        `~${sentToVictimBeforeDown} calls hashed to it between the kill and Kamailio's down`,
    );
    // Failed calls: only those in setup on the dead node (their answer could no longer come); its
    // established calls end normally: the customer's BYE goes to another node, which answers it.
    // The slack covers calls that reached it between the status read and the kill. Calls Kamailio
    // sent it after its death went to another node after fr_timer (2 s).
    // A node shares its call records every 20 ms: the calls it established in its last moments are
    // lost with it like those in setup. Those the test saw established 100 ms before the kill are shared.
    const shared = new Set([...atKill.established].filter(([, at]) => at < killedAt - 100).map(([id]) => id));
    expect(stats.failed).toBeLessThanOrEqual(Math.max(0, before.calls.active - shared.size) + 5);

    // Its established agent calls are cleaned up: the node that took them over reports each
    // EventReleased once the customer hung up (and sent the agent's side its BYE).
    const releasedBy = new Map<string, number>();
    await waitFor(
      () => {
        for (const x of seen)
          if (x.node !== victim!.k && x.f.event === 'EventReleased') {
            const id = `${String(x.f.thisDN)} ${String(x.f.connId)}`;
            if (shared.has(id) && !releasedBy.has(id)) releasedBy.set(id, x.at - killedAt);
          }
        return releasedBy.size === shared.size;
      },
      {
        what: `EventReleased of the ${shared.size} established calls of node ${victim.k} shared before the kill`,
        timeoutMs: 20_000,
        detail: () => `${releasedBy.size} released`,
      },
    );
    if (releasedBy.size > 0)
      console.log(
        `acceptance: the dead node's ${releasedBy.size} established agent calls released by a survivor ` +
          `${(Math.min(...releasedBy.values()) / 1000).toFixed(1)}–${(Math.max(...releasedBy.values()) / 1000).toFixed(1)} s after the kill`,
      );
    // the cluster keeps up with the offered rate (calls failed over by Kamailio answer 2 s late, within the window)
    expect(afterRate).toBeGreaterThanOrEqual(0.9 * RATE);

    // RTP of the long calls goes on after the kill, in both directions, on the dead node's too.
    const end = performance.now();
    for (const l of longCalls) {
      const sentA = l.sent.a.filter((t) => t > killedPerf && t < end - 200).length;
      const sentB = l.sent.b.filter((t) => t > killedPerf && t < end - 200).length;
      const gotB = l.b.rtp.filter((p) => p.at > killedPerf).length;
      const gotA = l.a.rtp.filter((p) => p.at > killedPerf).length;
      const owner = nodes.find((n) => n.sipPort === l.ownerPort)!.k;
      console.log(
        `acceptance: long call to ${l.dn} (dialog on node ${owner}${owner === victim.k ? ', killed' : ''}): ` +
          `after the kill ${gotB} RTP packets customer→agent, ${gotA} agent→customer (${sentA} sent each way)`,
      );
      expect(gotB).toBeGreaterThanOrEqual(sentA);
      expect(gotA).toBeGreaterThanOrEqual(sentB);
      // nobody hung the call up: both sides went on sending through the window (20 ms packets)
      expect(Math.min(sentA, sentB), `packets sent after the kill on ${l.dn}`).toBeGreaterThan(WINDOW_MS / 20 / 2);
    }

    // no registration lost: every surviving node still has all 2,000, and so has Redis
    for (const n of survivors) {
      const s = await get<{ registrations: Array<{ dn: string }> }>(n.http, '/api/status?sections=registrations');
      expect(new Set(s.registrations.map((x) => x.dn)).size, `registrations on node ${n.k}`).toBe(PHONES);
    }
    const redisPort = readFileSync(join(data, 'redis/port'), 'utf8').trim();
    const keys = await run('redis-cli', [
      '-h',
      '127.0.0.1',
      '-p',
      redisPort,
      '--scan',
      '--pattern',
      'sipserver:binding:*',
    ]);
    expect(keys.stdout.trim().split('\n').filter(Boolean)).toHaveLength(PHONES);

    // no agent ever had two calls at once (the dead node's calls end at the kill)
    const overlap = maxConcurrentPerAgent(seen, killedAt, victim.k);
    const after = callsPerAgent(seen, killedAt, Date.now());
    const victimCallsAfter = victimAgents.reduce((sum, id) => {
      const dn = AGENT_DNS[Number(id.slice(5))]!;
      return sum + (after.get(dn) ?? 0);
    }, 0);
    console.log(
      `acceptance: after the kill, the dead node's agents took ${victimCallsAfter} calls on their new node; ` +
        `at most ${overlap.worst} call(s) at once per agent over ${overlap.calls} agent calls`,
    );
    expect(victimCallsAfter).toBeGreaterThan(0);
    const dn = overlap.where.split(' ')[0];
    const history = (): string =>
      `${overlap.where}; killed at ${new Date(killedAt).toISOString()}; events of ${dn}:\n` +
      seen
        .filter((x) => x.f.thisDN === dn)
        .map((x) => `${new Date(x.at).toISOString()} node ${x.node} ${String(x.f.event)} ${String(x.f.connId ?? '')}`)
        .join('\n');
    expect(overlap.worst, overlap.worst > 1 ? history() : '').toBeLessThanOrEqual(1);
  }, 90_000);
});

/** Established calls per agent DN (distinct connId) whose EventEstablished arrived in [from, to). */
function callsPerAgent(seen: readonly Seen[], from: number, to: number): Map<string, number> {
  const ids = new Map<string, Set<string>>();
  for (const s of seen) {
    if (s.f.event !== 'EventEstablished' || s.at < from || s.at >= to) continue;
    const dn = String(s.f.thisDN);
    if (!DN_AGENT.has(dn)) continue;
    if (!ids.has(dn)) ids.set(dn, new Set());
    ids.get(dn)!.add(String(s.f.connId));
  }
  return new Map([...ids].map(([dn, set]) => [dn, set.size]));
}

/**
 * Agent calls node `k` reported and not released (by any node up to `until`), as `DN connId`:
 * `setup` rang but was not answered, `established` was answered (when the test saw it).
 */
function openCallsOf(
  seen: readonly Seen[],
  k: number,
  until: number,
): { setup: Set<string>; established: Map<string, number> } {
  const setup = new Set<string>();
  const established = new Map<string, number>();
  for (const s of seen) {
    if (!DN_AGENT.has(String(s.f.thisDN)) || (s.node !== k && s.at > until)) continue;
    const id = `${String(s.f.thisDN)} ${String(s.f.connId)}`;
    if (s.node === k && s.f.event === 'EventRinging') setup.add(id);
    if (s.node === k && s.f.event === 'EventEstablished') {
      setup.delete(id);
      established.set(id, s.at);
    }
    if (s.f.event === 'EventReleased' || s.f.event === 'EventAbandoned') {
      setup.delete(id);
      established.delete(id);
    }
  }
  return { setup, established };
}

/**
 * The most calls any agent DN had at once, from the CTI streams merged by arrival: a call is open
 * from its EventRinging (or EventEstablished) to its EventReleased (or EventAbandoned); the calls
 * of node `dead` that were still ringing when it died end there (after its last event, and after
 * `killedAt`); its established ones stay open until their EventReleased (sent by the node that
 * took them over when a party hangs up).
 */
function maxConcurrentPerAgent(
  seen: readonly Seen[],
  killedAt: number,
  dead?: number,
): { worst: number; calls: number; where: string } {
  const open = new Map<string, Map<string, { node: number; established: boolean }>>();
  let worst = 0;
  let where = '';
  const calls = new Set<string>();
  // The dead node's last event may arrive just after the kill was sent: its calls end after it.
  const end = seen.reduce((t, s) => (s.node === dead ? Math.max(t, s.at) : t), killedAt);
  let cut = dead === undefined;
  for (const s of seen) {
    if (!cut && s.at > end) {
      for (const m of open.values()) for (const [id, c] of m) if (c.node === dead && !c.established) m.delete(id);
      cut = true;
    }
    const dn = String(s.f.thisDN);
    if (!DN_AGENT.has(dn)) continue;
    const id = String(s.f.connId);
    if (!open.has(dn)) open.set(dn, new Map());
    const m = open.get(dn)!;
    if (s.f.event === 'EventRinging' || s.f.event === 'EventEstablished') {
      m.set(id, { node: s.node, established: s.f.event === 'EventEstablished' || m.get(id)?.established === true });
      calls.add(`${dn} ${id}`);
      if (m.size > worst) {
        worst = m.size;
        where = `${dn} (${DN_AGENT.get(dn)}): ${[...m.keys()].join(', ')} at ${new Date(s.at).toISOString()}`;
      }
    } else if (s.f.event === 'EventReleased' || s.f.event === 'EventAbandoned') {
      m.delete(id);
    }
  }
  return { worst, calls: calls.size, where };
}
