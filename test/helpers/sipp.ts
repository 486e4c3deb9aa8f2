/**
 * The one SIPp launcher (Debian `sip-tester`, v3.6.1) of the integration tests, the e2e tests and
 * the benchmarks: {@link startSipp} runs SIPp in the background and resolves once SIPp has bound
 * its port (a UAS is ready to be called), {@link runSipp} runs it to completion.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isBoundBy } from './ports.js';
import { onCpu } from './taskset.js';
import { waitFor } from './wait.js';

/** Options of {@link startSipp} and {@link runSipp}. */
export interface SippRun {
  /** Scenario file (`-sf`). */
  scenario: string;
  /** `host:port` of the system under test; omitted for a UAS that only answers. */
  target?: string;
  /** `u1` (UDP) or `t1` (TCP, one socket) … (`-t`). */
  transport?: 'u1' | 't1' | 'un' | 'tn';
  /** Number of calls (`-m`); {@link runSipp}: default 1; {@link startSipp}: default no limit. */
  calls?: number;
  /** Calls per second (`-r`); {@link runSipp}: default 10 (SIPp's own default). */
  rate?: number;
  /** Rate period in ms (`-rp`). */
  ratePeriodMs?: number;
  /** Max simultaneous calls (`-l`). */
  limit?: number;
  /** Local port (`-p`); omitted or 0: a free port (never SIPp's own default, 5060). */
  localPort?: number;
  /** Local IP address (`-i`, default 127.0.0.1): another loopback address stands for another host (127.0.0.2 …). */
  localIp?: string;
  /** `-s` service (user part of the Request-URI). */
  service?: string;
  /** `-d` pause (ms). */
  pauseMs?: number;
  /** Extra SIPp arguments. */
  args?: string[];
  /** Kill SIPp this long (ms) after its start; {@link runSipp}: default 60 s, {@link startSipp}: default never ({@link SippPeer.stop} ends it). */
  timeoutMs?: number;
  /** Keep a `-trace_msg` log ({@link SippPeer.messages}); {@link startSipp}: default true, {@link runSipp}: default false. */
  traceMessages?: boolean;
  /** Run SIPp on this CPU only (`taskset -c`; benchmarks keep the load generator off the server's CPU). */
  cpu?: number;
}

/** Outcome of {@link runSipp}. */
export interface SippResult {
  /** SIPp exit code: 0 all calls succeeded, 1 some failed, 97/99 errors; null if killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The `-trace_msg` log, if asked. */
  messages: string;
  /** The `-trace_err` log. */
  errors: string;
  /** Process id (while it ran). */
  pid: number | undefined;
}

/** One SIP message of a SIPp trace. */
export interface TracedMessage {
  dir: 'sent' | 'received';
  text: string;
  /** First line (request line or status line). */
  firstLine: string;
}

/** Split a SIPp `-trace_msg` log into the messages it saw, with their direction. */
export function sippTraceMessages(log: string): Array<{ dir: 'sent' | 'received'; text: string }> {
  const out: Array<{ dir: 'sent' | 'received'; text: string }> = [];
  const blocks = log.split(/^-{20,}.*$/m);
  for (const b of blocks) {
    const m = /^\s*(UDP|TCP|TLS) message (sent|received)[^\n]*\n\n?([\s\S]*)$/m.exec(b);
    if (!m) continue;
    out.push({ dir: m[2] === 'sent' ? 'sent' : 'received', text: m[3]!.trim() });
  }
  return out;
}

/** Call-ID of a traced message (compact form `i:` too); '' without one. */
export function callIdOf(m: { text: string }): string {
  return /^(?:Call-ID|i)\s*:\s*(.*)$/im.exec(m.text)?.[1]?.trim() ?? '';
}

/** The body (SDP) of a traced message. */
export function sdpBody(m: { text: string }): string {
  return m.text
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join('\n');
}

/** A SIPp process in the background, with its scratch directory (logs) until {@link stop}. */
export class SippPeer {
  stdout = '';
  stderr = '';
  /** Exit code once exited (-1 when killed by a signal). */
  exitCode: number | null | undefined;
  /** Resolves with the exit code (as {@link exitCode}) when SIPp exits. */
  readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    /** The local port SIPp was told to bind (`-p`). */
    readonly port: number,
  ) {
    this.exited = new Promise((res) => {
      // 'close', not 'exit': stdout and stderr are complete by then.
      child.on('close', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        res(this.exitCode);
      });
    });
    child.stdout?.on('data', (b: Buffer) => (this.stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
  }

  /** True while SIPp runs. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  private read(name: string): string {
    try {
      return readFileSync(join(this.dir, name), 'utf8');
    } catch {
      return '';
    }
  }

  /** The raw `-trace_msg` log so far. */
  messagesLog(): string {
    return this.read('messages.log');
  }

  /** Messages of the `-trace_msg` log so far. */
  messages(): TracedMessage[] {
    return sippTraceMessages(this.messagesLog()).map((m) => ({ ...m, firstLine: m.text.split(/\r?\n/)[0]!.trim() }));
  }

  /** Received requests of a method. */
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
    return this.read('errors.log');
  }

  /** Wait for SIPp to exit by itself; throws (with its output) if it did not within `timeoutMs`. */
  async waitExit(timeoutMs = 20_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exited,
      new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), timeoutMs))),
    ]);
    clearTimeout(t);
    if (r === 'timeout')
      throw new Error(
        `SIPp did not exit within ${timeoutMs} ms; stdout: ${this.stdout.slice(-2000)} errors: ${this.errors()}`,
      );
    return r;
  }

  /**
   * Wait for SIPp to end (by itself, or killed by the `timeoutMs` of its start: code null),
   * collect its output and logs as a {@link SippResult}, and remove its scratch directory.
   */
  async result(): Promise<SippResult> {
    const code = await this.exited;
    const result: SippResult = {
      code: code === -1 ? null : code,
      stdout: this.stdout,
      stderr: this.stderr,
      messages: this.messagesLog(),
      errors: this.errors(),
      pid: this.child.pid,
    };
    await this.stop();
    return result;
  }

  /** Kill SIPp (if running; SIGKILL unless told otherwise) and remove its scratch directory. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIPp's answer when its `-p` port is taken (`-trace_err` log; exit code 254). */
const BIND_FAILURE = /Unable to bind main socket/;

/**
 * Start SIPp in the background (`-trace_err` always, `-trace_msg` unless `traceMessages: false`)
 * and resolve once it has bound its local port — from then on a UAS answers what is sent there.
 * Rejects, naming the port, when SIPp could not bind it; a SIPp that ends before its port was
 * seen bound (a very short UAC run) is returned as it is, its exit code tells the rest.
 */
export async function startSipp(opts: SippRun): Promise<SippPeer> {
  const ip = opts.localIp ?? '127.0.0.1';
  const port = opts.localPort || (await freePort(ip));
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args = [
    '-sf',
    opts.scenario,
    '-i',
    ip,
    '-p',
    String(port),
    '-t',
    opts.transport ?? 'u1',
    '-nostdin',
    '-trace_err',
    '-error_file',
    join(dir, 'errors.log'),
    ...(opts.traceMessages === false ? [] : ['-trace_msg', '-message_file', join(dir, 'messages.log')]),
    ...(opts.calls !== undefined ? ['-m', String(opts.calls)] : []),
    ...(opts.rate !== undefined ? ['-r', String(opts.rate)] : []),
    ...(opts.ratePeriodMs ? ['-rp', String(opts.ratePeriodMs)] : []),
    ...(opts.limit ? ['-l', String(opts.limit)] : []),
    ...(opts.service ? ['-s', opts.service] : []),
    ...(opts.pauseMs !== undefined ? ['-d', String(opts.pauseMs)] : []),
    ...(opts.args ?? []),
    ...(opts.target ? [opts.target] : []),
  ];
  const [cmd, cmdArgs] = onCpu(opts.cpu, 'sipp', args);
  const child = spawn(cmd, cmdArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const peer = new SippPeer(child, dir, port);
  if (opts.timeoutMs !== undefined) {
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    void peer.exited.then(() => clearTimeout(killer));
  }
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    await spawnError;
  }
  try {
    await Promise.race([
      spawnError,
      waitFor(() => !peer.running || isBoundBy(child.pid ?? -1, port), {
        what: `SIPp (${opts.scenario}) to bind ${ip}:${port}`,
        timeoutMs: 10_000,
        intervalMs: 10,
        detail: () => `stdout: ${peer.stdout.slice(-1500)} stderr: ${peer.stderr}`,
      }),
    ]);
  } catch (err) {
    await peer.stop();
    throw err;
  }
  if (!peer.running && BIND_FAILURE.test(peer.errors() + peer.stderr)) {
    const why = peer.errors().trim().split('\n').pop();
    await peer.stop();
    throw new Error(`SIPp could not bind ${ip}:${port}: ${why}`);
  }
  return peer;
}

/** Run SIPp to completion in a scratch directory (its logs land there and are read back). */
export async function runSipp(opts: SippRun): Promise<SippResult> {
  const peer = await startSipp({ calls: 1, rate: 10, traceMessages: false, timeoutMs: 60_000, ...opts });
  return peer.result();
}
