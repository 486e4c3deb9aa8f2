/**
 * Shared pieces of the end-to-end acceptance tests (`e2e-*.test.ts`): SIPp peers running in the
 * background (killable at any time), a lock on the fixed softswitch ports of `examples/*.yaml`,
 * admin API calls, bounded polling, and {@link E2eEnv}: one file's set-up (lock, softswitch
 * SIPp, server, desktops) and its tear-down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { sippTraceMessages } from '../helpers/sipp.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** Admin token the e2e servers run with (`SIPSERVER_TOKEN`). */
export const E2E_TOKEN = 'e2e-admin-token';

/** Path of an e2e SIPp scenario. */
export function scenario(name: string): string {
  return resolve(repoRoot, 'test/integration/sipp', name);
}

/** Path of an example configuration (used unchanged). */
export function example(name: string): string {
  return resolve(repoRoot, 'examples', name);
}

/** One SIP message of a SIPp trace. */
export interface TracedMessage {
  dir: 'sent' | 'received';
  text: string;
  /** First line (request line or status line). */
  firstLine: string;
}

/** Call-ID of a traced message (compact form `i:` too); '' without one. */
export function callIdOf(m: TracedMessage): string {
  return /^(?:Call-ID|i)\s*:\s*(.*)$/im.exec(m.text)?.[1]?.trim() ?? '';
}

/** A SIPp process in the background. */
export class SippPeer {
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
  ) {
    this.exited = new Promise((res) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        res(this.exitCode);
      });
    });
    child.stdout?.on('data', (b: Buffer) => (this.stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
  }

  /** Messages of the `-trace_msg` log so far. */
  messages(): TracedMessage[] {
    let log = '';
    try {
      log = readFileSync(join(this.dir, 'messages.log'), 'utf8');
    } catch {
      return [];
    }
    return sippTraceMessages(log).map((m) => ({ ...m, firstLine: m.text.split(/\r?\n/)[0]!.trim() }));
  }

  /** Received requests (first lines) of a method. */
  receivedRequests(method: string): TracedMessage[] {
    return this.messages().filter((m) => m.dir === 'received' && m.firstLine.startsWith(`${method} `));
  }

  /**
   * How many distinct requests of `method` SIPp received (by Call-ID and CSeq): a retransmission
   * (our side resending before SIPp's answer arrived, likely on a loaded machine) counts once.
   * With `callIds`, only requests of those dialogs count: a request of an earlier call that
   * reaches this SIPp late (or a retransmission of it, up to 64·T1 later) is not the test's.
   */
  distinctRequests(method: string, callIds?: readonly string[]): number {
    const keys = new Set<string>();
    for (const m of this.receivedRequests(method)) {
      const callId = callIdOf(m) || m.text;
      if (callIds && !callIds.includes(callId)) continue;
      const cseq = /^CSeq\s*:\s*(.*)$/im.exec(m.text)?.[1]?.trim() ?? '';
      keys.add(`${callId} ${cseq}`);
    }
    return keys.size;
  }

  /** Call-IDs of the requests of `method` SIPp received, first seen first, each once. */
  callIds(method = 'INVITE'): string[] {
    return [...new Set(this.receivedRequests(method).map(callIdOf))];
  }

  /** The `-trace_err` log so far. */
  errors(): string {
    try {
      return readFileSync(join(this.dir, 'errors.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Wait for SIPp to exit by itself. */
  async waitExit(timeoutMs = 20_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited, new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), timeoutMs)))]);
    clearTimeout(t);
    if (r === 'timeout') throw new Error(`SIPp did not exit within ${timeoutMs} ms; stdout: ${this.stdout.slice(-2000)} errors: ${this.errors()}`);
    return r;
  }

  /** Kill SIPp (if running) and remove its scratch directory. */
  async stop(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options of {@link startSipp}. */
export interface SippPeerOptions {
  scenario: string;
  /** Remote `host:port` (UAC) — omitted for a UAS. */
  target?: string;
  /** Local port (`-p`); omitted or 0 = a free ephemeral port (see {@link SippPeer.port}). */
  port?: number;
  /** `-s` service (user part of the Request-URI). */
  service?: string;
  /** `-m`; omitted = no limit (stop() ends it). */
  calls?: number;
  /** `-d` pause (ms). */
  pauseMs?: number;
  /** `-t`: `u1` (UDP, default) or `t1` (one TCP connection). */
  transport?: 'u1' | 't1';
  args?: string[];
}

/**
 * Start SIPp in the background with `-trace_msg` and `-trace_err`; waits briefly so that a
 * UAS is bound before the caller goes on (a bind failure makes SIPp exit, reported here).
 */
export async function startSipp(opts: SippPeerOptions): Promise<SippPeer> {
  // SIPp's -p 0 takes 5060 when it is free: always give it a free ephemeral port instead.
  const port = opts.port || (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'e2e-sipp-'));
  const args = [
    '-sf', opts.scenario,
    '-i', '127.0.0.1',
    '-p', String(port),
    '-t', opts.transport ?? 'u1',
    '-nostdin',
    '-trace_msg', '-message_file', join(dir, 'messages.log'),
    '-trace_err', '-error_file', join(dir, 'errors.log'),
    ...(opts.calls !== undefined ? ['-m', String(opts.calls)] : []),
    ...(opts.service ? ['-s', opts.service] : []),
    ...(opts.pauseMs !== undefined ? ['-d', String(opts.pauseMs)] : []),
    ...(opts.args ?? []),
    ...(opts.target ? [opts.target] : []),
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const peer = new SippPeer(child, dir, port);
  if (!opts.target) {
    await new Promise((r) => setTimeout(r, 300));
    if (peer.exitCode !== undefined) throw new Error(`SIPp UAS on port ${opts.port} exited: ${peer.stdout.slice(-1500)} ${peer.stderr}`);
  }
  return peer;
}

/** Stop every peer in the list (ignoring failures) and empty it. */
export async function stopAll(peers: SippPeer[]): Promise<void> {
  const list = peers.splice(0);
  await Promise.all(list.map((p) => p.stop().catch(() => undefined)));
}

/**
 * Exclusive lock on a fixed UDP port shared by every e2e test file (the examples' softswitch
 * contacts 127.0.0.1:5081 / :5071): a directory under the temp dir holding the owner's pid. A
 * lock whose owner is dead is taken over. Returns the release function.
 */
export async function lockPort(port: number, timeoutMs = 50_000): Promise<() => void> {
  const path = join(tmpdir(), `sipserver-e2e-port-${port}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(path, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(path, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`port ${port} lock held by pid ${owner}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Poll `fn` until it returns a defined, non-false value (bounded). */
export async function eventually<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Wait until every dialog (Call-ID) of `callIds` got a BYE at `peer`, then expect exactly one
 * BYE each (retransmissions count once). Counting per dialog, not as a delta over everything the
 * peer received: a BYE of an earlier call may still arrive late, or be retransmitted for 64·T1.
 */
export async function expectOneByeEach(peer: SippPeer, callIds: readonly string[], what: string, timeoutMs = 10_000): Promise<void> {
  await eventually(() => callIds.every((id) => peer.distinctRequests('BYE', [id]) > 0), what, timeoutMs);
  expect(callIds.map((id) => peer.distinctRequests('BYE', [id]))).toEqual(callIds.map(() => 1));
}

/** Call the admin API with the e2e token. */
export async function api(server: ServerProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${E2E_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** `GET /api/status`. */
export async function status(server: ServerProcess): Promise<Record<string, unknown>> {
  const r = await api(server, 'GET', '/api/status');
  if (r.status !== 200) throw new Error(`/api/status ${r.status}`);
  return r.json;
}

/** One agent's entry of `/api/status`. */
export async function agentStatus(server: ServerProcess, id: string): Promise<Record<string, unknown> | undefined> {
  const agents = (await status(server)).agents as Array<Record<string, unknown>>;
  return agents.find((a) => a.id === id);
}

/** Wait until the status shows the device `dn` in `state` (`in-service`, `out-of-service`). */
export async function waitDeviceState(server: ServerProcess, dn: string, state: string, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => {
    const devices = (await status(server)).devices as Array<Record<string, unknown>>;
    return devices.some((d) => d.dn === dn && d.state === state);
  }, `${dn} ${state.replace(/-/g, ' ')}`, timeoutMs);
}

/** Wait until the status shows the device `dn` in service. */
export async function waitInService(server: ServerProcess, dn: string, timeoutMs = 15_000): Promise<void> {
  await waitDeviceState(server, dn, 'in-service', timeoutMs);
}

/** `udp:host:port` of the server → `host:port`. */
export function udpTarget(server: ServerProcess): string {
  const a = server.addresses.find((x) => x.startsWith('udp:'));
  if (!a) throw new Error(`no UDP address in ${server.addresses.join(', ')}`);
  return a.slice('udp:'.length);
}

/** `tcp:host:port` of the server → `host:port`. */
export function tcpTarget(server: ServerProcess): string {
  const a = server.addresses.find((x) => x.startsWith('tcp:'));
  if (!a) throw new Error(`no TCP address in ${server.addresses.join(', ')}`);
  return a.slice('tcp:'.length);
}

/** `ws://…/cti` of the server. */
export function ctiUrl(server: ServerProcess): string {
  return `${server.httpUrl!.replace(/^http/, 'ws')}/cti`;
}

/** A CTI event on one DN (`thisDN`), as a {@link CtiTestClient.waitFor} matcher. */
export function dnEvent(name: string, dn: string): (f: CtiFrame) => boolean {
  return (f) => f.event === name && f.thisDN === dn;
}

/** The body (SDP) of a traced message. */
export function sdpBody(m: TracedMessage): string {
  return m.text.split(/\r?\n\r?\n/).slice(1).join('\n');
}

/**
 * A configuration file with `server` listening on an ephemeral UDP port, then `dns:` followed by
 * `dnsYaml` (its list items, and any later top-level sections such as `agents:`), written to
 * `dir/name`. Returns its path.
 */
export function writeConfig(dir: string, name: string, dnsYaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, `server:\n  name: SIP_Server\n  sip:\n    listen: ["udp:127.0.0.1:0"]\ndns:\n${dnsYaml}`);
  return path;
}

/** Options of {@link E2eEnv}. */
export interface E2eOptions {
  /** Example configuration under `examples/`, used unchanged. */
  example: string;
  /** The example's fixed softswitch port (5081 / 5071), locked while the file runs. */
  lockPort: number;
  /**
   * Scenario of the SIPp playing the softswitch on `lockPort` (default `e2e-uas-sbc-answer.xml`);
   * `null`: nothing listens there (and the Softswitch is not awaited in service).
   */
  softswitch?: string | null;
  /** `-d` of the softswitch SIPp. */
  softswitchPauseMs?: number;
  /** `--sip-listen` (default one ephemeral UDP port). */
  sipListen?: string[];
  /** `--data` kept across restarts ({@link E2eEnv.restart}); default a fresh directory per start. */
  dataDir?: string;
}

/** Login of {@link E2eEnv.agentDesk}. */
export interface E2eLogin {
  /** `workMode` of RequestAgentLogin (default `AutoIn`). */
  workMode?: string;
  /** `extensions['agent-phone']`. */
  agentPhone?: string;
}

/**
 * One e2e file's world: the port lock, the SIPp softswitch on the example's fixed port, the
 * server process, every SIPp and CTI desktop started on the way — all ended by {@link stop}
 * (also when {@link start} failed midway).
 */
export class E2eEnv {
  private serverProcess: ServerProcess | undefined;
  private softswitchPeer: SippPeer | undefined;
  private release: (() => void) | undefined;
  /** Every SIPp started through this environment (stopped by {@link stop}). */
  readonly peers: SippPeer[] = [];
  /** Every CTI desktop opened through this environment (closed by {@link stop}). */
  readonly desks: CtiTestClient[] = [];

  constructor(readonly opts: E2eOptions) {}

  /** The running server. */
  get server(): ServerProcess {
    if (!this.serverProcess) throw new Error('e2e server not started');
    return this.serverProcess;
  }

  /** The SIPp on the softswitch port. */
  get sbc(): SippPeer {
    if (!this.softswitchPeer) throw new Error('no softswitch SIPp');
    return this.softswitchPeer;
  }

  /** Lock the port, start the softswitch SIPp, then the server; wait for the Softswitch in service. */
  async start(): Promise<void> {
    try {
      this.release = await lockPort(this.opts.lockPort);
      const file = this.opts.softswitch === undefined ? 'e2e-uas-sbc-answer.xml' : this.opts.softswitch;
      if (file !== null) await this.swapSbc(file, this.opts.softswitchPauseMs);
      await this.startServer();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Start the server (again, after {@link restart} or a test's own stop) on the same options. */
  async startServer(): Promise<ServerProcess> {
    this.serverProcess = await startServerProcess({
      config: example(this.opts.example),
      sipListen: this.opts.sipListen ?? ['udp:127.0.0.1:0'],
      ...(this.opts.dataDir !== undefined ? { dataDir: this.opts.dataDir } : {}),
      env: { SIPSERVER_TOKEN: E2E_TOKEN },
    });
    if (this.opts.softswitch !== null) await waitInService(this.serverProcess, 'Softswitch');
    return this.serverProcess;
  }

  /** Replace the softswitch SIPp by one running `file` (the previous one is killed first). */
  async swapSbc(file: string, pauseMs?: number): Promise<SippPeer> {
    await this.softswitchPeer?.stop();
    this.softswitchPeer = await this.sipp({ scenario: scenario(file), port: this.opts.lockPort, ...(pauseMs !== undefined ? { pauseMs } : {}) });
    return this.softswitchPeer;
  }

  /** Start a SIPp, stopped with the environment. */
  async sipp(opts: SippPeerOptions): Promise<SippPeer> {
    const p = await startSipp(opts);
    this.peers.push(p);
    return p;
  }

  /** One call from a SIPp UAC running `file` to `service` at the server's UDP address (not awaited). */
  uac(file: string, service: string, opts: Omit<SippPeerOptions, 'scenario' | 'service'> = {}): Promise<SippPeer> {
    return this.sipp({ scenario: scenario(file), target: udpTarget(this.server), service, calls: 1, ...opts });
  }

  /**
   * Register DN 8888 with digest (`8888-secret`) from `port` (default a free one) by
   * `e2e-uac-register-8888.xml`, then answer calls there with `e2e-uas-sbc-answer.xml`.
   */
  async registerPhone(port?: number): Promise<{ phone: SippPeer; port: number }> {
    const phonePort = port ?? (await freePort());
    await this.register('e2e-uac-register-8888.xml', phonePort);
    const phone = await this.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), port: phonePort });
    return { phone, port: phonePort };
  }

  /** Run a REGISTER scenario for 8888 (digest `8888-secret`) from `port`; expects SIPp exit 0. */
  async register(file: string, port: number): Promise<SippPeer> {
    const reg = await this.uac(file, '8888', { port, args: ['-au', '8888', '-ap', '8888-secret'] });
    expect(await reg.waitExit(15_000), reg.errors()).toBe(0);
    return reg;
  }

  /** A CTI desktop connected to the server, closed with the environment. */
  async desk(): Promise<CtiTestClient> {
    const d = await CtiTestClient.connect(ctiUrl(this.server));
    this.desks.push(d);
    return d;
  }

  /** A desktop opened by agent `agentId` that registered `dn` (EventOpened, EventRegistered checked). */
  async openDesk(agentId: string, password: string, dn: string): Promise<CtiTestClient> {
    const d = await this.desk();
    expect(await d.request('RequestOpen', { agentId, password })).toMatchObject({ event: 'EventOpened', thisDN: dn });
    expect(await d.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({ event: 'EventRegistered' });
    return d;
  }

  /** {@link openDesk}, then RequestAgentLogin (default AutoIn) answered EventAgentLogin, and EventAgentReady. */
  async agentDesk(agentId: string, password: string, dn: string, login: E2eLogin = {}): Promise<CtiTestClient> {
    const d = await this.openDesk(agentId, password, dn);
    const loggedIn = await d.request('RequestAgentLogin', {
      thisDN: dn,
      agentId,
      workMode: login.workMode ?? 'AutoIn',
      ...(login.agentPhone !== undefined ? { extensions: { 'agent-phone': login.agentPhone } } : {}),
    });
    expect(loggedIn).toMatchObject({ event: 'EventAgentLogin' });
    await d.waitFor(dnEvent('EventAgentReady', dn));
    return d;
  }

  /** A desktop in application scope (the admin token) that registered `dns`. */
  async supervisorDesk(dns: string[]): Promise<CtiTestClient> {
    const d = await this.desk();
    expect(await d.request('RequestOpen', { token: E2E_TOKEN })).toMatchObject({ event: 'EventOpened', scope: 'application' });
    for (const dn of dns) expect(await d.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({ event: 'EventRegistered' });
    return d;
  }

  /** Close the desktops and kill every SIPp (the softswitch SIPp too); the server keeps running. */
  async stopPeers(): Promise<void> {
    for (const d of this.desks.splice(0)) d.close();
    await stopAll(this.peers);
    this.softswitchPeer = undefined;
  }

  /** Close the desktops, kill every SIPp, stop the server, release the port lock. */
  async stop(): Promise<void> {
    await this.stopPeers();
    await this.serverProcess?.stop();
    this.release?.();
    this.release = undefined;
  }
}
