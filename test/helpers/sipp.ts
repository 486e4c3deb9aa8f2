/** Run SIPp (Debian `sip-tester`, v3.6.1) as a real peer in integration tests and benchmarks. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCpu } from './taskset.js';

/** Options of {@link runSipp}. */
export interface SippRun {
  /** Scenario file (`-sf`). */
  scenario: string;
  /** `host:port` of the system under test. */
  target: string;
  /** `u1` (UDP) or `t1` (TCP, one socket) … (`-t`). */
  transport?: 'u1' | 't1' | 'un' | 'tn';
  /** Number of calls (`-m`). */
  calls?: number;
  /** Calls per second (`-r`). */
  rate?: number;
  /** Rate period in ms (`-rp`). */
  ratePeriodMs?: number;
  /** Max simultaneous calls (`-l`). */
  limit?: number;
  /** Local port (`-p`); default 0 = any. */
  localPort?: number;
  /** Extra SIPp arguments. */
  args?: string[];
  /** Kill SIPp after this long (ms). */
  timeoutMs?: number;
  /** Keep a message trace and return it. */
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

/** Run SIPp to completion in a scratch directory (its logs land there and are read back). */
export function runSipp(opts: SippRun): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const args = [
    '-sf', opts.scenario,
    '-i', '127.0.0.1',
    '-p', String(opts.localPort ?? 0),
    '-t', opts.transport ?? 'u1',
    '-m', String(opts.calls ?? 1),
    '-r', String(opts.rate ?? 10),
    '-nostdin',
    '-trace_err',
    '-error_file', join(dir, 'errors.log'),
    ...(opts.ratePeriodMs ? ['-rp', String(opts.ratePeriodMs)] : []),
    ...(opts.limit ? ['-l', String(opts.limit)] : []),
    ...(opts.traceMessages ? ['-trace_msg', '-message_file', join(dir, 'messages.log')] : []),
    ...(opts.args ?? []),
    opts.target,
  ];
  return new Promise((resolve, reject) => {
    const [cmd, cmdArgs] = onCpu(opts.cpu, 'sipp', args);
    const child = spawn(cmd, cmdArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const read = (name: string): string => {
        try {
          return readFileSync(join(dir, name), 'utf8');
        } catch {
          return '';
        }
      };
      const files = readdirSync(dir);
      void files;
      const result: SippResult = { code, stdout, stderr, messages: read('messages.log'), errors: read('errors.log'), pid: child.pid };
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
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
