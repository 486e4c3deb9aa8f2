/**
 * The cluster topology end to end (docs/cluster.md): `scripts/cluster-up.sh` starts three real
 * nodes (the build), Kamailio (deploy/kamailio/kamailio.cfg, dispatcher) on the file's SIP address
 * and nginx (deploy/nginx/nginx.conf) on its HTTP address; phones, a customer (SIPp) and a
 * desktop (CTI over WebSocket) talk only to those two addresses. Checked: REGISTERs hashed by AoR
 * over every node and sticky per AoR; a call's in-dialog requests following Record-Route to the
 * node that owns it; a node killed with SIGKILL taken out by Kamailio's probing, its AoRs served
 * by another node; nginx failing over the API and the CTI WebSocket; `scripts/cluster-down.sh`
 * leaving no process behind.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, sippTraceMessages, startSipp, type SippPeer } from '../helpers/sipp.js';
import { StreamPeer } from '../helpers/tcp-peer.js';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue, scenario } from './e2e-support.js';
import { type ClusterNode, gone, parseNodes, processesNaming } from './cluster-support.js';

const run = promisify(execFile);
const TOKEN = 'cluster-e2e-token';
const AORS = Array.from({ length: 30 }, (_, i) => String(1000 + i));

async function get<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as T };
}

async function registeredDns(node: ClusterNode): Promise<string[]> {
  const r = await get<{ registrations: Array<{ dn: string }> }>(`${node.http}/api/status?sections=registrations`);
  return r.body.registrations.map((x) => x.dn).sort();
}

async function ctiConnections(node: ClusterNode): Promise<number> {
  const res = await fetch(`${node.http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return metricValue(await res.text(), 'sipserver_cti_connections');
}

describe('cluster: Kamailio and nginx in front of three nodes (scripts/cluster-up.sh)', () => {
  let dir: string;
  let data: string;
  let sipPort: number;
  let httpPort: number;
  let uasPort: number;
  let config: string;
  let nodes: ClusterNode[] = [];
  let phone: UdpPeer;
  let uas: SippPeer | undefined;
  /** Which node holds each AoR after the first round of REGISTERs. */
  const home = new Map<string, number>();
  const killed: number[] = [];
  let cseq = 1;

  /** REGISTER `aor` through Kamailio; resolves with the final status (undefined: no answer). */
  const register = async (
    aor: string,
    timeoutMs = 5000,
    contactPort = phone.port,
  ): Promise<{ status?: number; ms: number }> => {
    const callId = `${aor}-${randomBytes(6).toString('hex')}`;
    const t0 = Date.now();
    await phone.send(
      `REGISTER sip:127.0.0.1:${sipPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:${aor}@127.0.0.1:${sipPort}>;tag=${randomBytes(4).toString('hex')}\r\n` +
        `To: <sip:${aor}@127.0.0.1:${sipPort}>\r\nCall-ID: ${callId}\r\nCSeq: ${cseq++} REGISTER\r\n` +
        `Contact: <sip:${aor}@127.0.0.1:${contactPort}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
      sipPort,
    );
    const [r] = await phone.waitFor(
      (d) => d.text.includes(`Call-ID: ${callId}\r\n`) && (statusOf(d.text) ?? 0) >= 200,
      1,
      timeoutMs,
    );
    return { status: r ? statusOf(r.text) : undefined, ms: Date.now() - t0 };
  };

  const alive = (): ClusterNode[] => nodes.filter((n) => !killed.includes(n.k));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-cluster-'));
    data = join(dir, 'data');
    sipPort = await freePort();
    httpPort = await freePort();
    uasPort = await freePort();
    const gatewayPort = await freePort();
    config = join(dir, 'cluster.yaml');
    writeFileSync(
      config,
      [
        'server:',
        '  name: SIP_Server',
        '  sip:',
        `    listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"]`,
        '  http:',
        `    listen: "127.0.0.1:${httpPort}"`,
        `    admin-token: "${TOKEN}"`,
        'dns:',
        // The customers' gateway: its host (127.0.0.1, Kamailio's too on loopback) is trusted.
        '  - number: Gateway',
        '    type: voip-service',
        '    options:',
        `      contact: "127.0.0.1:${gatewayPort}"`,
        '      service-type: softswitch',
        '      prefix: "9"',
        '  - number: "4000"',
        '    type: extension',
        '    options:',
        `      contact: "127.0.0.1:${uasPort}"`,
        ...[...AORS, '2000'].flatMap((n) => [
          `  - number: "${n}"`,
          '    type: extension',
          '    options:',
          '      contact: "*"',
        ]),
        'agents:',
        '  - id: ann',
        '    name: Ann',
        '    password: "ann-secret"',
        '    dn: "1000"',
        '',
      ].join('\n'),
    );
    phone = await UdpPeer.open();
    const up = await run(
      'bash',
      [join(repoRoot, 'scripts/cluster-up.sh'), '--nodes', '3', '--config', config, '--data', data],
      {
        timeout: 60_000,
      },
    );
    nodes = parseNodes(up.stdout);
  }, 90_000);

  afterAll(async () => {
    await uas?.stop();
    await phone?.close();
    if (data) {
      await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data]).catch(() => undefined);
      // whatever survived a failed test: only processes started for this directory
      for (const pid of processesNaming(data)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('cluster-up.sh prints one line per node and every node answers /api/status', async () => {
    expect(nodes.map((n) => n.k)).toEqual([1, 2, 3]);
    expect(new Set(nodes.map((n) => n.sipPort)).size).toBe(3);
    expect(nodes.some((n) => n.sipPort === sipPort)).toBe(false);
    for (const n of nodes) expect((await get(`${n.http}/api/status?sections=load`)).status).toBe(200);
  });

  it('30 REGISTERs through Kamailio spread over all three nodes; the same AoR lands on the same node again', async () => {
    for (const aor of AORS) expect((await register(aor)).status).toBe(200);
    const first = await Promise.all(nodes.map(registeredDns));
    for (const [i, dns] of first.entries()) for (const dn of dns) home.set(dn, nodes[i]!.k);
    expect([...home.keys()].sort()).toEqual(AORS);
    expect(first.flat()).toHaveLength(AORS.length); // each AoR on exactly one node
    for (const dns of first) expect(dns.length).toBeGreaterThan(0);
    for (const aor of AORS) expect((await register(aor)).status).toBe(200);
    expect(await Promise.all(nodes.map(registeredDns))).toEqual(first);
    // Kamailio's TCP listener: the same AoR over TCP lands on the same node (relayed over UDP)
    const tcp = await StreamPeer.tcp(sipPort);
    try {
      const aor = AORS[7]!;
      tcp.write(
        `REGISTER sip:127.0.0.1:${sipPort};transport=tcp SIP/2.0\r\n` +
          `Via: SIP/2.0/TCP 127.0.0.1:${tcp.localPort};branch=z9hG4bK${randomBytes(6).toString('hex')}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:${aor}@127.0.0.1:${sipPort}>;tag=tcp1\r\nTo: <sip:${aor}@127.0.0.1:${sipPort}>\r\n` +
          `Call-ID: tcp-${randomBytes(6).toString('hex')}\r\nCSeq: 1 REGISTER\r\n` +
          `Contact: <sip:${aor}@127.0.0.1:${tcp.localPort};transport=tcp>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(await tcp.until(() => /^SIP\/2\.0 200 /m.test(tcp.data), 5000), tcp.data).toBe(true);
      const holder = nodes[first.findIndex((dns) => dns.includes(aor))]!;
      const rows = await get<{ registrations: Array<{ dn: string; contact: string }> }>(
        `${holder.http}/api/status?sections=registrations`,
      );
      expect(rows.body.registrations.filter((r) => r.dn === aor).map((r) => r.contact)).toContain(
        `sip:${aor}@127.0.0.1:${tcp.localPort};transport=tcp`,
      );
    } finally {
      tcp.destroy();
    }
  });

  it('OPTIONS and an INVITE through Kamailio are answered; the ACK and BYE follow Record-Route to the same node', async () => {
    const callId = `options-${randomBytes(6).toString('hex')}`;
    await phone.send(
      `OPTIONS sip:4000@127.0.0.1:${sipPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1:${phone.port}>;tag=1\r\nTo: <sip:4000@127.0.0.1:${sipPort}>\r\n` +
        `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      sipPort,
    );
    const [opt] = await phone.waitFor((d) => d.text.includes(`Call-ID: ${callId}\r\n`), 1, 5000);
    expect(opt && statusOf(opt.text)).toBe(200);

    uas = await startSipp({ scenario: scenario('uas-answer.xml'), localPort: uasPort });
    const r = await runSipp({
      scenario: scenario('uac-basic-call.xml'),
      target: `127.0.0.1:${sipPort}`,
      service: '4000',
      pauseMs: 300,
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const msgs = sippTraceMessages(r.messages);
    const received = msgs.filter((m) => m.dir === 'received').map((m) => m.text.split('\n')[0]!.trim());
    expect(received.filter((l) => !/^SIP\/2\.0 1\d\d /.test(l))).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
    const ok = msgs.find((m) => m.dir === 'received' && m.text.includes('CSeq: 1 INVITE') && / 200 OK/.test(m.text))!;
    expect(ok.text).toMatch(new RegExp(`^Record-Route: <sip:127\\.0\\.0\\.1:${sipPort};lr[^>]*>`, 'm'));
    const contactPort = Number(/^Contact:\s*<sip:[^@>]*@?127\.0\.0\.1:(\d+)/m.exec(ok.text)?.[1]);
    const owner = nodes.find((n) => n.sipPort === contactPort);
    expect(owner, `Contact of the 200 names a node: ${ok.text}`).toBeDefined();
    // ACK and BYE went to Kamailio with its Route, Request-URI = the owning node's Contact
    const bye = msgs.find((m) => m.dir === 'sent' && m.text.trimStart().startsWith('BYE '))!;
    expect(bye.text).toMatch(new RegExp(`^\\s*BYE sip:[^ ]*127\\.0\\.0\\.1:${contactPort}[; ]`));
    expect(bye.text).toMatch(new RegExp(`^\\s*Route: <sip:127\\.0\\.0\\.1:${sipPort};lr`, 'm'));
    // The owning node relayed the BYE to the callee (another node would have answered 481).
    await waitFor(() => uas!.distinctRequests('BYE') === 1, { what: 'the BYE at the callee', timeoutMs: 5000 });
    const uasBye = uas.messages().find((m) => m.dir === 'received' && m.text.trimStart().startsWith('BYE '))!;
    expect(uasBye.text).toMatch(new RegExp(`^\\s*Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${contactPort};`, 'm'));
    await uas.stop();
    uas = undefined;
  });

  it("the node's own in-dialog requests go back through Kamailio: the callee hangs up, the customer gets the BYE via the proxy", async () => {
    uas = await startSipp({
      scenario: scenario('uas-answer-then-bye.xml'),
      localPort: uasPort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const r = await runSipp({
      scenario: scenario('uac-callee-hangs-up.xml'),
      target: `127.0.0.1:${sipPort}`,
      service: '4000',
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const msgs = sippTraceMessages(r.messages);
    const ok = msgs.find((m) => m.dir === 'received' && / 200 OK/.test(m.text) && m.text.includes(' INVITE'))!;
    const contactPort = Number(/^Contact:\s*<sip:[^@>]*@?127\.0\.0\.1:(\d+)/m.exec(ok.text)?.[1]);
    expect(nodes.map((n) => n.sipPort)).toContain(contactPort);
    const bye = msgs.find((m) => m.dir === 'received' && m.text.trimStart().startsWith('BYE '))!;
    const vias = bye.text.split(/\r?\n/).filter((l) => /^\s*Via:/i.test(l));
    expect(vias).toHaveLength(2);
    expect(vias[0]).toMatch(new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${sipPort};branch=`));
    expect(vias[1]).toMatch(new RegExp(`Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${contactPort};`));
    const callee = await uas.result(); // its BYE answered 200 by the node
    expect(callee.code, callee.errors).toBe(0);
    uas = undefined;
  });

  it('a call a node places to a phone registered through Kamailio from another address goes out through Kamailio', async () => {
    // The phone's Contact (127.0.0.2) is not the REGISTER's source (Kamailio): the node sends to
    // the source, and Kamailio relays a request from a node to its Request-URI.
    const phonePort = await freePort('127.0.0.2');
    const callId = `reg2000-${randomBytes(6).toString('hex')}`;
    await phone.send(
      `REGISTER sip:127.0.0.1:${sipPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:2000@127.0.0.1:${sipPort}>;tag=r2000\r\nTo: <sip:2000@127.0.0.1:${sipPort}>\r\n` +
        `Call-ID: ${callId}\r\nCSeq: 1 REGISTER\r\nContact: <sip:2000@127.0.0.2:${phonePort}>\r\nExpires: 600\r\n` +
        'Content-Length: 0\r\n\r\n',
      sipPort,
    );
    const [reg] = await phone.waitFor(
      (d) => d.text.includes(`Call-ID: ${callId}\r\n`) && statusOf(d.text) === 200,
      1,
      5000,
    );
    expect(reg, 'REGISTER of 2000 answered 200').toBeDefined();
    const holders = await Promise.all(
      nodes.map((n) =>
        get<{ registrations: Array<{ dn: string; source: string; nat: boolean }> }>(
          `${n.http}/api/status?sections=registrations`,
        ),
      ),
    );
    const at = holders.findIndex((h) => h.body.registrations.some((r) => r.dn === '2000'));
    const owner = nodes[at]!;
    expect(holders[at]!.body.registrations.find((r) => r.dn === '2000')).toMatchObject({
      source: `udp:127.0.0.1:${sipPort}`,
      nat: true,
    });
    const callee = await startSipp({
      scenario: scenario('uas-answer.xml'),
      localIp: '127.0.0.2',
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
    });
    try {
      // the customer's call enters at the owning node (a trusted gateway address)
      const r = await runSipp({
        scenario: scenario('uac-basic-call.xml'),
        target: `127.0.0.1:${owner.sipPort}`,
        service: '2000',
        pauseMs: 200,
        timeoutMs: 20_000,
      });
      expect(r.code, r.errors).toBe(0);
      const got = await callee.result();
      expect(got.code, got.errors).toBe(0);
      const invite = sippTraceMessages(got.messages).find((m) => m.dir === 'received' && m.text.startsWith('INVITE '))!;
      expect(invite.text).toMatch(/^INVITE sip:2000@127\.0\.0\.2:\d+ SIP\/2\.0/);
      const vias = invite.text.split(/\r?\n/).filter((l) => /^Via:/i.test(l));
      expect(vias[0]).toMatch(new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${sipPort};branch=`));
      expect(vias[1]).toMatch(new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${owner.sipPort};`));
      expect(invite.text).toMatch(new RegExp(`^Record-Route: <sip:127\\.0\\.0\\.1:${sipPort};lr`, 'm'));
    } finally {
      await callee.stop();
    }
  });

  it('kill -9 of a node: Kamailio probes it out within seconds and its AoRs register on another node', async () => {
    const victim = nodes[0]!;
    const itsAors = AORS.filter((a) => home.get(a) === victim.k);
    expect(itsAors.length).toBeGreaterThan(0);
    const log = join(data, 'kamailio/kamailio.log');
    const downLines = (): number =>
      (readFileSync(log, 'utf8').match(/cluster node down: sip:127\.0\.0\.1:(\d+)/g) ?? []).length;
    const before = downLines();
    const t0 = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    killed.push(victim.k);
    await waitFor(() => gone(victim.pid), { what: 'the node process gone', timeoutMs: 5000 });
    await waitFor(() => downLines() > before, { what: 'Kamailio logging the node down', timeoutMs: 10_000 });
    const detectS = (Date.now() - t0) / 1000;
    expect(readFileSync(log, 'utf8')).toContain(`cluster node down: sip:127.0.0.1:${victim.sipPort}`);
    // No timeout on the dead node any more: answered at once, by a live node.
    const r = await register(itsAors[0]!, 3000);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(1000);
    const totalS = (Date.now() - t0) / 1000;
    const holders = await Promise.all(alive().map(registeredDns));
    expect(holders.flat().filter((d) => d === itsAors[0])).toHaveLength(1);
    process.stdout.write(
      `cluster failover: node ${victim.k} killed; Kamailio marked it down after ${detectS.toFixed(1)} s; ` +
        `REGISTER for its AoR ${itsAors[0]} answered 200 by another node ${totalS.toFixed(1)} s after the kill (${r.ms} ms)\n`,
    );
  });

  it('nginx: /api/status answers while a node lives; a CTI WebSocket reopens on another node after its node dies', async () => {
    const front = `http://127.0.0.1:${httpPort}`;
    for (let i = 0; i < 4; i++) expect((await get(`${front}/api/status?sections=load`)).status).toBe(200);
    const open = async (): Promise<{ cti: CtiTestClient; on: ClusterNode }> => {
      const before = await Promise.all(alive().map(ctiConnections));
      const cti = await CtiTestClient.connect(`ws://127.0.0.1:${httpPort}/cti`);
      const opened = await cti.request('RequestOpen', { agentId: 'ann', password: 'ann-secret' });
      expect(opened).toMatchObject({ event: 'EventOpened', scope: 'agent', agentId: 'ann', thisDN: '1000' });
      const after = await Promise.all(alive().map(ctiConnections));
      const grew = alive().filter((_, i) => after[i]! === before[i]! + 1);
      expect(grew).toHaveLength(1);
      return { cti, on: grew[0]! };
    };
    const first = await open();
    process.kill(first.on.pid, 'SIGKILL');
    killed.push(first.on.k);
    await waitFor(() => gone(first.on.pid), { what: 'the node process gone', timeoutMs: 5000 });
    // Kamailio has not probed it yet: a REGISTER hashed to it times out there (2 s) and the
    // failure route sends it to the next node
    const aor = AORS.find((a) => home.get(a) === first.on.k)!;
    const r = await register(aor, 6000);
    expect(r.status).toBe(200);
    const holders = await Promise.all(alive().map(registeredDns));
    expect(holders.flat().filter((d) => d === aor)).toHaveLength(1);
    process.stdout.write(
      `cluster failover: REGISTER for ${aor} sent right after its node died answered 200 in ${r.ms} ms\n`,
    );
    await waitFor(() => first.cti.closed !== undefined, {
      what: 'the desktop seeing its connection close',
      timeoutMs: 5000,
    });
    const second = await open();
    expect(second.on.k).not.toBe(first.on.k);
    second.cti.ws.close();
    expect((await get(`${front}/api/status?sections=load`)).status).toBe(200);
  });

  it('cluster-up.sh again restarts the dead nodes on their ports, keeps Kamailio and nginx, and Kamailio takes them back', async () => {
    const kamailioPid = readFileSync(join(data, 'kamailio/kamailio.pid'), 'utf8').trim();
    const nginxPid = readFileSync(join(data, 'nginx/nginx.pid'), 'utf8').trim();
    const up = await run(
      'bash',
      [join(repoRoot, 'scripts/cluster-up.sh'), '--nodes', '3', '--config', config, '--data', data],
      {
        timeout: 60_000,
      },
    );
    const again = parseNodes(up.stdout);
    expect(again.map((n) => [n.k, n.sipPort, n.http])).toEqual(nodes.map((n) => [n.k, n.sipPort, n.http]));
    for (const n of again) {
      if (killed.includes(n.k)) expect(n.pid).not.toBe(nodes[n.k - 1]!.pid);
      else expect(n.pid).toBe(nodes[n.k - 1]!.pid);
    }
    expect(readFileSync(join(data, 'kamailio/kamailio.pid'), 'utf8').trim()).toBe(kamailioPid);
    expect(readFileSync(join(data, 'nginx/nginx.pid'), 'utf8').trim()).toBe(nginxPid);
    const log = join(data, 'kamailio/kamailio.log');
    for (const k of killed) {
      await waitFor(
        () => readFileSync(log, 'utf8').includes(`cluster node up: sip:127.0.0.1:${nodes[k - 1]!.sipPort}`),
        {
          what: `Kamailio taking node ${k} back`,
          timeoutMs: 10_000,
        },
      );
    }
    nodes = again;
    killed.length = 0;
    // node 1's AoRs hash to it again (a new Contact: not a binding it restored from its data)
    const aor = AORS.find((a) => home.get(a) === 1)!;
    const newContact = phone.port === 65535 ? 1 : phone.port + 1;
    expect((await register(aor, 5000, newContact)).status).toBe(200);
    const rows = await get<{ registrations: Array<{ dn: string; contact: string }> }>(
      `${nodes[0]!.http}/api/status?sections=registrations`,
    );
    expect(rows.body.registrations.filter((r) => r.dn === aor).map((r) => r.contact)).toContain(
      `sip:${aor}@127.0.0.1:${newContact}`,
    );
  });

  it('cluster-down.sh stops every process cluster-up.sh started', async () => {
    const before = processesNaming(data);
    expect(before.length).toBeGreaterThanOrEqual(6); // three nodes, Kamailio's processes, nginx's
    const down = await run('bash', [join(repoRoot, 'scripts/cluster-down.sh'), '--data', data], { timeout: 30_000 });
    expect(down.stdout).toMatch(/^stopped nginx pid \d+$/m);
    expect(down.stdout).toMatch(/^stopped kamailio pid \d+$/m);
    for (const n of nodes) expect(down.stdout).toMatch(new RegExp(`^stopped node-${n.k} pid ${n.pid}$`, 'm'));
    await waitFor(() => before.every(gone), { what: 'every process gone', timeoutMs: 5000 });
    expect(processesNaming(data)).toEqual([]);
  });
});
