/**
 * Shared pieces of the end-to-end acceptance tests (`e2e-*.test.ts`): SIPp peers running in the
 * background (killable at any time), a lock on the fixed softswitch ports of `examples/*.yaml`,
 * admin API calls and bounded polling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { sippTraceMessages } from '../helpers/sipp.js';
import type { ServerProcess } from '../helpers/server-process.js';

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

/** Wait until the status shows the device `dn` in service. */
export async function waitInService(server: ServerProcess, dn: string, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => {
    const devices = (await status(server)).devices as Array<Record<string, unknown>>;
    return devices.some((d) => d.dn === dn && d.state === 'in-service');
  }, `${dn} in service`, timeoutMs);
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
