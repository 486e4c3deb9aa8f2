/**
 * Registrar against real peers on loopback: SIPp and baresip register as DN 8888 of
 * examples/office.yaml (password 8888-secret), the binding shows in the status API and survives
 * a restart; wrong passwords, unknown numbers, absurd Expires and unknown schemes are refused.
 *
 * SIPp 3.6.1 answers only the first challenge and baresip 1.0 (libre 1.1) gives up when any
 * challenge is not MD5, so the default `auth-algorithms` is `MD5` (docs/registrar.md); these runs
 * set it explicitly, and the two-challenge answer (`SHA-256,MD5`) is checked with a raw UDP peer.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import type { ServerStatus } from '../../src/api/status.js';
import { loadConfigFile } from '../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import {
  wireRegistrarAndReachability,
  type RegistrarAndReachability,
} from '../../src/reachability/reachability-module.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startBaresip, type BaresipPeer } from '../helpers/baresip.js';
import { runSipp, sippTraceMessages } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'registrar-test-token';
const SCENARIOS = join(repoRoot, 'test/integration/sipp');

interface Server {
  store: ConfigStore;
  stack: SipStack;
  wired: RegistrarAndReachability;
  http: HttpServer;
  url: string;
  sipPort: number;
  tcpPort: number;
  stop(): Promise<void>;
}

/** The pieces `sipserver start` would run: store reconciled to office.yaml, SIP stack, registrar, reachability, admin API. */
async function startServer(dataDir: string, algorithms: string | undefined): Promise<Server> {
  const store = openStore(dataDir);
  const loaded = loadConfigFile(join(examplesDir, 'office.yaml'));
  store.reconcile(loaded.model!);
  if (algorithms)
    store.apply([
      { op: 'patch', kind: 'server', key: 'server', value: { options: { 'auth-algorithms': algorithms } } },
    ]);
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'], logger: silentLogger });
  const wired = wireRegistrarAndReachability({ stack, store, clock: systemClock, logger: silentLogger });
  await stack.start();
  const http = await createHttpServer({
    store,
    token: TOKEN,
    statusProviders: { dnStatus: wired.dnStatus, status: () => wired.statusSection() as ServerStatus },
  });
  const { url } = await http.listen('127.0.0.1:0');
  return {
    store,
    stack,
    wired,
    http,
    url,
    sipPort: stack.addresses().find((a) => a.transport === 'udp')!.port,
    tcpPort: stack.addresses().find((a) => a.transport === 'tcp')!.port,
    async stop() {
      await http.close();
      wired.close();
      await stack.stop();
      store.close();
    },
  };
}

/** Run `fn` against a server on a fresh data directory (office.yaml; `algorithms` as in startServer), then tear it down. */
async function withServer(algorithms: string | undefined, fn: (server: Server) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'registrar-it-'));
  const server = await startServer(dir, algorithms);
  try {
    await fn(server);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A raw UDP client on loopback collecting every datagram it receives (as text). */
async function withUdpClient(fn: (sock: Socket, got: string[], port: number) => Promise<void>): Promise<void> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (b) => got.push(b.toString()));
  try {
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    await fn(sock, got, sock.address().port);
  } finally {
    sock.close();
  }
}

async function api(s: Server, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Wait until `got` holds `count` datagrams (the answers to what was sent). */
async function answers(got: string[], count: number): Promise<void> {
  await waitFor(() => got.length >= count, {
    what: `${count} answer(s)`,
    timeoutMs: 5_000,
    intervalMs: 5,
    detail: () => `got: ${got.map(statusLine).join(' | ')}`,
  });
}

/** Send one request over UDP from a fresh socket and return its answer (every datagram received by then). */
async function udpAsk(port: number, text: string): Promise<string[]> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (b) => got.push(b.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const local = sock.address().port;
  sock.send(text.replace(/LOCALPORT/g, String(local)).replace(/\n/g, '\r\n'), port, '127.0.0.1');
  try {
    await answers(got, 1);
  } finally {
    sock.close();
  }
  return got;
}

function register(
  user: string,
  extra: string,
  contact = `<sip:${user}@127.0.0.1:LOCALPORT>`,
  callId = `c-${Math.random()}`,
): string {
  return `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bK${Math.random().toString(36).slice(2)};rport
From: <sip:${user}@127.0.0.1>;tag=t1
To: <sip:${user}@127.0.0.1>
Call-ID: ${callId}
CSeq: 1 REGISTER
Contact: ${contact}
Max-Forwards: 70
${extra}Content-Length: 0

`;
}

const statusLine = (r: string): string => r.split('\r\n')[0];

/** The `Authorization` line (CRLF-less, `\n`-terminated) answering the MD5 challenge of a 401 for DN 8888 (RFC 7616 §3.4.1, nc 1). */
function digestAnswer(challenge: string): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1];
  const realm = /realm="([^"]+)"/.exec(challenge)![1];
  const md5 = (x: string): string => createHash('md5').update(x).digest('hex');
  const uri = 'sip:127.0.0.1';
  const response = md5(`${md5(`8888:${realm}:8888-secret`)}:${nonce}:00000001:abc:auth:${md5(`REGISTER:${uri}`)}`);
  return `Authorization: Digest username="8888", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"\n`;
}

describe('registrar with SIPp (office.yaml, DN 8888)', () => {
  let dir: string;
  let server: Server;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'registrar-it-'));
    server = await startServer(dir, 'MD5');
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wrong password: 401, re-challenge 401, then 403, and no binding', async () => {
    const r = await runSipp({
      scenario: join(SCENARIOS, 'uac-register-wrong-password.xml'),
      target: `127.0.0.1:${server.sipPort}`,
      localPort: await freePort(),
      args: ['-s', '8888', '-au', '8888', '-ap', 'not-the-secret'],
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const received = sippTraceMessages(r.messages)
      .filter((m) => m.dir === 'received')
      .map((m) => m.text.split('\n')[0].trim());
    expect(received).toEqual(['SIP/2.0 401 Unauthorized', 'SIP/2.0 401 Unauthorized', 'SIP/2.0 403 Forbidden']);
    expect((await api(server, '/api/status')).body.registrations).toEqual([]);
    expect((await api(server, '/api/dns/8888/status')).body).toMatchObject({ mode: 'unreachable', inService: false });
  });

  it('registers with digest credentials; the binding shows in the status API and survives a restart', async () => {
    const localPort = await freePort();
    const r = await runSipp({
      scenario: join(SCENARIOS, 'uac-register-auth.xml'),
      target: `127.0.0.1:${server.sipPort}`,
      localPort,
      args: ['-s', '8888', '-au', '8888', '-ap', '8888-secret'],
      traceMessages: true,
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const msgs = sippTraceMessages(r.messages).filter((m) => m.dir === 'received');
    expect(msgs[0].text).toMatch(
      /^WWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="[0-9a-f]{29}", algorithm=MD5, qop="auth"$/m,
    );
    expect(msgs[1].text.split('\n')[0].trim()).toBe('SIP/2.0 200 OK');
    expect(msgs[1].text).toContain(`Contact: <sip:8888@127.0.0.1:${localPort}>;expires=3600`);

    const status = await api(server, '/api/status');
    expect(status.body.registrations).toEqual([
      expect.objectContaining({ dn: '8888', contact: `sip:8888@127.0.0.1:${localPort}`, expires: expect.any(Number) }),
    ]);
    expect((await api(server, '/api/dns/8888/status')).body).toEqual({
      mode: 'registered',
      target: `sip:8888@127.0.0.1:${localPort}`,
      inService: true,
    });

    await server.stop();
    server = await startServer(dir, 'MD5');
    const after = await api(server, '/api/status');
    expect(after.body.registrations).toEqual([
      expect.objectContaining({ dn: '8888', contact: `sip:8888@127.0.0.1:${localPort}` }),
    ]);
    expect((await api(server, '/api/dns/8888/status')).body).toMatchObject({
      mode: 'registered',
      target: `sip:8888@127.0.0.1:${localPort}`,
    });
  });

  it('over TCP: registers, and calls go back on the connection the phone opened (flow reuse)', async () => {
    const localPort = await freePort();
    const r = await runSipp({
      scenario: join(SCENARIOS, 'uac-register-auth.xml'),
      target: `127.0.0.1:${server.tcpPort}`,
      transport: 't1',
      localPort,
      args: ['-s', '8888', '-au', '8888', '-ap', '8888-secret'],
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const b = server.wired.registrar.bindings('8888').find((x) => x.source.transport === 'tcp');
    expect(b).toBeDefined();
    expect(b!.contact).toBe(`sip:8888@127.0.0.1:${localPort}`);
    expect(b!.dest).toEqual({ transport: 'tcp', host: '127.0.0.1', port: b!.source.port });
  });

  it('bad input: unknown number 404, absurd Expires clamped, unknown scheme 400, Expires below minimum 423, Contact * misuse 400', async () => {
    const port = server.sipPort;
    expect((await udpAsk(port, register('4242', 'Expires: 60\n'))).map(statusLine)).toEqual(['SIP/2.0 404 Not Found']);
    // DN 7777 exists but does not register (no contact = *): 404 as well.
    expect((await udpAsk(port, register('7777', 'Expires: 60\n'))).map(statusLine)).toEqual(['SIP/2.0 404 Not Found']);
    // A DN without password (5000 is not registering; use a change-set to add one that is).
    server.store.apply([
      { op: 'put', kind: 'dn', key: '6001', value: { type: 'extension', options: { contact: '*' } } },
    ]);
    const big = await udpAsk(port, register('6001', 'Expires: 99999999999999999999999\n'));
    expect(statusLine(big[0])).toBe('SIP/2.0 200 OK');
    expect(big[0]).toMatch(/Contact: <sip:6001@127\.0\.0\.1:\d+>;expires=3600/);
    expect(
      (await udpAsk(port, register('6001', 'Expires: 10\n'))).map((r) => [
        statusLine(r),
        /Min-Expires: (\d+)/.exec(r)?.[1],
      ]),
    ).toEqual([['SIP/2.0 423 Interval Too Brief', '60']]);
    expect((await udpAsk(port, register('6001', 'Expires: 60\n', '<name:John_Smith>'))).map(statusLine)[0]).toMatch(
      /^SIP\/2\.0 400 /,
    );
    expect((await udpAsk(port, register('6001', 'Expires: 60\n', '*'))).map(statusLine)[0]).toMatch(/^SIP\/2\.0 400 /);
    expect((await udpAsk(port, register('6001', 'Expires: 0\n', '*'))).map(statusLine)).toEqual(['SIP/2.0 200 OK']);
    // RFC 4475 §3.3.4 unksm2: To of an unknown scheme → 400.
    const unksm2 = register('x', 'Expires: 60\n').replace('To: <sip:x@127.0.0.1>', 'To: isbn:2983792873');
    expect((await udpAsk(port, unksm2)).map(statusLine)[0]).toMatch(/^SIP\/2\.0 400 /);
    expect(server.wired.registrar.bindings('6001')).toEqual([]);
  });

  it('floods of failed authentication from one address are answered 503 Retry-After, memory bounded', async () => {
    const port = server.sipPort;
    const bad =
      'Authorization: Digest username="8888", realm="127.0.0.1", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:127.0.0.1", response="0", algorithm=MD5\n';
    // Unknown numbers count as failures: 20 are allowed in a burst, then one per 5 s.
    const answered: string[] = [];
    for (let i = 0; i < 30; i++) answered.push(...(await udpAsk(port, register(`99${i}`, bad))));
    const codes = answered.map(statusLine);
    expect(codes.slice(0, 3)).toEqual(['SIP/2.0 404 Not Found', 'SIP/2.0 404 Not Found', 'SIP/2.0 404 Not Found']);
    expect(codes.slice(-5)).toEqual(Array(5).fill('SIP/2.0 503 Service Unavailable'));
    expect(codes.filter((c) => c.includes('404')).length).toBeLessThanOrEqual(21);
    const retryAfter = Number(/Retry-After: (\d+)/.exec(answered.at(-1)!)?.[1]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    // Even the right DN is refused while the source waits…
    expect((await udpAsk(port, register('8888', ''))).map(statusLine)).toEqual(['SIP/2.0 503 Service Unavailable']);
    // …and served again once Retry-After has passed (not a readiness wait: the time is the point).
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    expect((await udpAsk(port, register('8888', ''))).map(statusLine)).toEqual(['SIP/2.0 401 Unauthorized']);
  });
});

describe('registrar challenges (RFC 8760 §2.4: one WWW-Authenticate per algorithm, preferred first)', () => {
  it('by default answers an unauthenticated REGISTER with one MD5 challenge', async () => {
    await withServer(undefined, async (server) => {
      const [res] = await udpAsk(server.sipPort, register('8888', 'Expires: 3600\n'));
      expect(statusLine(res)).toBe('SIP/2.0 401 Unauthorized');
      const www = res.split('\r\n').filter((l) => l.startsWith('WWW-Authenticate:'));
      expect(www).toHaveLength(1);
      expect(www[0]).toMatch(/algorithm=MD5, qop="auth"$/);
    });
  });

  it('with auth-algorithms = SHA-256,MD5 answers with two WWW-Authenticate headers, SHA-256 first', async () => {
    await withServer('SHA-256,MD5', async (server) => {
      const [res] = await udpAsk(server.sipPort, register('8888', 'Expires: 3600\n'));
      expect(statusLine(res)).toBe('SIP/2.0 401 Unauthorized');
      const www = res.split('\r\n').filter((l) => l.startsWith('WWW-Authenticate:'));
      expect(www).toHaveLength(2);
      expect(www[0]).toMatch(/algorithm=SHA-256, qop="auth"$/);
      expect(www[1]).toMatch(/algorithm=MD5, qop="auth"$/);
    });
  });
});

describe('registrar answers challenges statelessly (RFC 3261 §8.2.7), accepted REGISTERs through a transaction', () => {
  it('a retransmitted unauthenticated REGISTER gets a fresh 401 (same To tag, new nonce) and no server transaction is kept', async () => {
    await withServer('MD5', (server) =>
      withUdpClient(async (sock, got, port) => {
        const text = register('8888', 'Expires: 3600\n')
          .replace(/LOCALPORT/g, String(port))
          .replace(/\n/g, '\r\n');
        sock.send(text, server.sipPort, '127.0.0.1');
        await answers(got, 1);
        sock.send(text, server.sipPort, '127.0.0.1');
        await answers(got, 2);
        expect(got.map(statusLine)).toEqual(['SIP/2.0 401 Unauthorized', 'SIP/2.0 401 Unauthorized']);
        const toOf = (r: string): string => r.split('\r\n').find((l) => l.startsWith('To:'))!;
        const nonceOf = (r: string): string => /nonce="([^"]+)"/.exec(r)![1];
        expect(toOf(got[0])).toMatch(/;tag=[0-9a-f]{16}$/);
        expect(toOf(got[1])).toBe(toOf(got[0]));
        expect(nonceOf(got[1])).not.toBe(nonceOf(got[0]));
        expect(server.stack.transactionCount.server).toBe(0);
      }),
    );
  });

  it('a retransmitted accepted REGISTER gets the 200 again (stateless: recognised by Call-ID, CSeq and nonce-count)', async () => {
    await withServer('MD5', (server) =>
      withUdpClient(async (sock, got, port) => {
        const callId = `c-${Math.random()}`;
        const first = register('8888', 'Expires: 3600\n', undefined, callId)
          .replace(/LOCALPORT/g, String(port))
          .replace(/\n/g, '\r\n');
        sock.send(first, server.sipPort, '127.0.0.1');
        await answers(got, 1);
        expect(got.map(statusLine)).toEqual(['SIP/2.0 401 Unauthorized']);
        const auth = digestAnswer(got[0]);
        const second = register('8888', `Expires: 3600\n${auth}`, undefined, callId)
          .replace('CSeq: 1 REGISTER', 'CSeq: 2 REGISTER')
          .replace(/LOCALPORT/g, String(port))
          .replace(/\n/g, '\r\n');
        sock.send(second, server.sipPort, '127.0.0.1');
        await answers(got, 2);
        sock.send(second, server.sipPort, '127.0.0.1');
        await answers(got, 3);
        expect(got.slice(1).map(statusLine)).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
        const linesOf = (r: string): string[] => r.split('\r\n').filter((l) => /^(To|CSeq|Call-ID|Contact):/.test(l));
        expect(linesOf(got[2])).toEqual(linesOf(got[1]));
        expect(linesOf(got[1]).find((l) => l.startsWith('Contact:'))).toMatch(
          /^Contact: <sip:8888@127\.0\.0\.1:\d+>;expires=3[56]\d\d$/,
        );
        expect(server.stack.transactionCount.server).toBe(0);
        expect(server.wired.registrar.bindings('8888')).toHaveLength(1);
      }),
    );
  });

  it('a retransmitted de-registration (Contact: *, Expires: 0) gets the 200 again, not a stale challenge (RFC 3261 §17.2.2)', async () => {
    await withServer('MD5', (server) =>
      withUdpClient(async (sock, got, port) => {
        /** Send, and wait for its answer. */
        const send = async (text: string): Promise<void> => {
          const before = got.length;
          sock.send(text.replace(/LOCALPORT/g, String(port)).replace(/\n/g, '\r\n'), server.sipPort, '127.0.0.1');
          await answers(got, before + 1);
        };
        // Register (challenge, then credentials), then de-register the same way.
        const callId = `c-${Math.random()}`;
        await send(register('8888', 'Expires: 3600\n', undefined, callId));
        await send(
          register('8888', `Expires: 3600\n${digestAnswer(got[0])}`, undefined, callId).replace('CSeq: 1 ', 'CSeq: 2 '),
        );
        expect(server.wired.registrar.bindings('8888')).toHaveLength(1);
        await send(register('8888', 'Expires: 0\n', '*', callId).replace('CSeq: 1 ', 'CSeq: 3 '));
        const removal = register('8888', `Expires: 0\n${digestAnswer(got[2])}`, '*', callId).replace(
          'CSeq: 1 ',
          'CSeq: 4 ',
        );
        await send(removal);
        await send(removal);
        expect(got.map(statusLine)).toEqual([
          'SIP/2.0 401 Unauthorized',
          'SIP/2.0 200 OK',
          'SIP/2.0 401 Unauthorized',
          'SIP/2.0 200 OK',
          'SIP/2.0 200 OK',
        ]);
        const linesOf = (r: string): string[] => r.split('\r\n').filter((l) => /^(To|CSeq|Call-ID|Contact):/.test(l));
        expect(linesOf(got[4])).toEqual(linesOf(got[3]));
        expect(linesOf(got[3]).some((l) => l.startsWith('Contact:'))).toBe(false);
        expect(server.wired.registrar.bindings('8888')).toHaveLength(0);
      }),
    );
  });

  it("a challenge answered after a restart gets 401 stale=true (nonces die with the process), and the phone's retry registers", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registrar-it-'));
    const answer = (challenge: string, cseq: number, callId: string, port: number): string => {
      return register('8888', `Expires: 3600\n${digestAnswer(challenge)}`, undefined, callId)
        .replace('CSeq: 1 REGISTER', `CSeq: ${cseq} REGISTER`)
        .replace(/LOCALPORT/g, String(port))
        .replace(/\n/g, '\r\n');
    };
    try {
      await withUdpClient(async (sock, got, port) => {
        const callId = `c-${Math.random()}`;
        let server = await startServer(dir, 'MD5');
        try {
          sock.send(
            register('8888', 'Expires: 3600\n', undefined, callId)
              .replace(/LOCALPORT/g, String(port))
              .replace(/\n/g, '\r\n'),
            server.sipPort,
            '127.0.0.1',
          );
          await answers(got, 1);
          expect(got.map(statusLine)).toEqual(['SIP/2.0 401 Unauthorized']);
        } finally {
          await server.stop();
        }
        server = await startServer(dir, 'MD5');
        try {
          // The old challenge, answered right, to the new process: stale, not forbidden.
          sock.send(answer(got[0], 2, callId, port), server.sipPort, '127.0.0.1');
          await answers(got, 2);
          expect(got.slice(1).map(statusLine)).toEqual(['SIP/2.0 401 Unauthorized']);
          expect(got[1]).toMatch(
            /^WWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="[0-9a-f]{29}", stale=true, algorithm=MD5, qop="auth"$/m,
          );
          expect(server.wired.registrar.bindings('8888')).toHaveLength(0);
          sock.send(answer(got[1], 3, callId, port), server.sipPort, '127.0.0.1');
          await answers(got, 3);
          expect(got.slice(2).map(statusLine)).toEqual(['SIP/2.0 200 OK']);
          expect(server.wired.registrar.bindings('8888')).toHaveLength(1);
        } finally {
          await server.stop();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registrar with baresip (headless, generated config)', () => {
  let dir: string;
  let server: Server;
  let phone: BaresipPeer | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'registrar-bs-'));
    server = await startServer(join(dir, 'data'), 'MD5');
  });
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startPhone(password: string): Promise<number> {
    const port = await freePort();
    phone = startBaresip('8888', `127.0.0.1:${server.sipPort}`, port, password);
    return port;
  }
  const phoneOut = (): string => phone?.output ?? '';

  it('baresip registers as 8888, shows in /api/status, and unregisters when it stops', async () => {
    const port = await startPhone('8888-secret');
    await waitFor(() => phoneOut().includes('200 OK'), {
      what: 'baresip registered (200 OK)',
      timeoutMs: 10_000,
      detail: phoneOut,
    });
    const regs = (await api(server, '/api/status')).body.registrations as Array<Record<string, unknown>>;
    expect(regs).toHaveLength(1);
    expect(regs[0]).toMatchObject({
      dn: '8888',
      source: `udp:127.0.0.1:${port}`,
      userAgent: expect.stringMatching(/^baresip/),
    });
    expect(regs[0].contact).toMatch(new RegExp(`^sip:8888-[^@]+@127\\.0\\.0\\.1:${port}$`));
    phone!.child.kill('SIGTERM');
    await waitFor(async () => ((await api(server, '/api/status')).body.registrations as unknown[]).length === 0, {
      what: "baresip's binding removed",
      timeoutMs: 5_000,
    });
  });

  it('baresip with a wrong password gets 403 and no binding', async () => {
    await startPhone('wrong-secret');
    await waitFor(() => phoneOut().includes('403 Forbidden'), {
      what: 'baresip to get 403 Forbidden',
      timeoutMs: 10_000,
      detail: phoneOut,
    });
    expect((await api(server, '/api/status')).body.registrations).toEqual([]);
  });
});
