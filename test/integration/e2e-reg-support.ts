/**
 * Support for the end-to-end tests against the real server process (`e2e-registrar-*`,
 * `e2e-oos-*`, `e2e-restart-*`): admin API reads, bounded polling, and long-running peers
 * (SIPp UAS, baresip) that a test stops at a moment of its choosing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

/** Admin token the tests give the server (`SIPSERVER_TOKEN`). */
export const E2E_TOKEN = 'x';

/** SIPp scenario path in `test/integration/sipp`. */
export const scenario = (name: string): string => join(repoRoot, 'test/integration/sipp', name);

/** GET an admin API path with the bearer token; JSON body. */
export async function apiGet<T = Record<string, unknown>>(baseUrl: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${E2E_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** GET `/metrics` (text). */
export async function metricsText(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/** Value of one sample of `/metrics` text, e.g. `sipserver_oos_transitions_total{to="out-of-service"}`; 0 when absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** Poll `cond` every `stepMs` until it holds or `ms` passed; returns whether it held. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** A long-running peer process the test stops itself. */
export class Peer {
  output = '';
  private readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess, private readonly cleanupDir?: string) {
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  /** Send `signal` and wait for the exit (SIGKILL after 3 s). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
    }
    if (this.cleanupDir) rmSync(this.cleanupDir, { recursive: true, force: true });
  }
}

/** Start SIPp in the background (UAS scenarios, long calls) in a scratch directory. */
export function startSipp(scenarioFile: string, target: string, localPort: number, args: string[] = []): Peer {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-sipp-'));
  const child = spawn(
    'sipp',
    ['-sf', scenarioFile, '-i', '127.0.0.1', '-p', String(localPort), '-t', 'u1', '-nostdin', '-trace_err', '-error_file', join(dir, 'errors.log'), ...args, target],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Peer(child, dir);
}

/**
 * Start Debian's baresip headless: a generated config directory (`-f DIR`), only the
 * `account` module (no audio, no menu, no stdio UI), UDP SIP on `localPort`, one account
 * registering `user` at `registrar` with `password`.
 */
export function startBaresip(user: string, registrar: string, localPort: number, password: string): Peer {
  const cfg = mkdtempSync(join(tmpdir(), 'e2e-baresip-'));
  writeFileSync(
    join(cfg, 'config'),
    [
      'poll_method\tepoll',
      `sip_listen\t127.0.0.1:${localPort}`,
      'module_path\t/usr/lib/baresip/modules',
      'module_app\taccount.so',
      'audio_player\tnone',
      'audio_source\tnone',
      '',
    ].join('\n'),
  );
  writeFileSync(join(cfg, 'accounts'), `<sip:${user}@${registrar};transport=udp>;auth_pass=${password};regint=600\n`);
  const child = spawn('baresip', ['-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Peer(child, cfg);
}
