/** The server as a child process (`sipserver start`), for tests that need a real process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { repoRoot } from './paths.js';

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** `--sip-listen` entries (omitted: the config file's list is used). */
  sipListen?: string[];
  /** How many "SIP listening on" lines to wait for (default: the number of `sipListen` entries, else 1). */
  expectAddresses?: number;
  /** `--config FILE`. */
  config?: string;
  /** `--store URL` (the PostgreSQL configuration store of record). */
  store?: string;
  /** `--data DIR` (default: a fresh temporary directory, removed by {@link ServerProcess.stop} unless `keepData`). */
  dataDir?: string;
  /** Keep the data directory after stop (restart tests pass the same `dataDir` again). */
  keepData?: boolean;
  /** `--http-listen` (default `127.0.0.1:0`: an ephemeral port, never the config's 8080). */
  httpListen?: string;
  /** Extra `start` arguments (e.g. `--redis URL`). */
  args?: string[];
  /** Extra node flags (e.g. `--expose-gc`). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Give up waiting for the listening lines after this long. */
  startTimeoutMs?: number;
  /** Run the build (`dist/cli/main.js`, as deployed; `npm run build` first) instead of the source under tsx. */
  dist?: boolean;
}

/** A running server child. */
export class ServerProcess {
  /** `transport:host:port` lines the server printed. */
  readonly addresses: string[] = [];
  /** Base URL printed by the server (`HTTP listening on URL`). */
  httpUrl: string | undefined;
  /** Data directory the server runs on. */
  dataDir = '';
  /** Remove the data directory when stopped. */
  removeDataOnStop = false;
  stdout = '';
  stderr = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;
  private lineWaiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  private readonly lineListeners = new Set<() => void>();

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((res) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        res(this.exitCode);
      });
    });
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      const s = b.toString();
      this.stdout += s;
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^SIP listening on (\S+)/.exec(line);
        if (m) this.addresses.push(m[1]!);
        const h = /^HTTP listening on (\S+)/.exec(line);
        if (h) this.httpUrl = h[1]!;
        const ws = this.lineWaiters;
        this.lineWaiters = [];
        for (const w of ws) {
          if (line.startsWith(w.prefix)) w.resolve(line);
          else this.lineWaiters.push(w);
        }
        for (const l of [...this.lineListeners]) l();
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Wait for the next stdout line starting with `prefix`. */
  nextLine(prefix: string, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs);
      this.lineWaiters.push({
        prefix,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }

  /**
   * Wait until the server printed `sipAddresses` "SIP listening on" lines and its "HTTP listening
   * on" line (each printed once that listener is bound). Rejects if the process exits first, or
   * after `timeoutMs`.
   */
  waitListening(sipAddresses: number, timeoutMs = 20_000): Promise<void> {
    const ready = (): boolean => this.addresses.length >= sipAddresses && this.httpUrl !== undefined;
    if (ready()) return Promise.resolve();
    if (!this.alive)
      return Promise.reject(new Error(`server exited during start (code ${this.exitCode}): ${this.stderr}`));
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
        if (err) reject(err);
        else resolve();
      };
      const onLine = (): void => {
        if (ready()) done();
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(
              `server did not print ${sipAddresses} "SIP listening on" line(s) and "HTTP listening on" within ${timeoutMs} ms; printed: ${this.addresses.join(', ')} ${this.httpUrl ?? ''}; stderr: ${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.lineListeners.add(onLine);
      void this.exited.then((code) => done(new Error(`server exited during start (code ${code}): ${this.stderr}`)));
    });
  }

  /** VmRSS of the process in bytes, from /proc/PID/status. */
  rss(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  }

  /** utime + stime in clock ticks, from /proc/PID/stat. */
  cpuTicks(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  }

  /** Ask the child for a GC and its memory (needs SIPSERVER_DEBUG_MEMSTATS=1, --expose-gc). */
  async memstats(): Promise<{
    rss: number;
    heapUsed: number;
    external: number;
    transactions: { server: number; client: number };
  }> {
    const p = this.nextLine('MEMSTATS ');
    this.child.kill('SIGUSR2');
    const line = await p;
    return JSON.parse(line.slice('MEMSTATS '.length)) as {
      rss: number;
      heapUsed: number;
      external: number;
      transactions: { server: number; client: number };
    };
  }

  private cleanup(): void {
    if (this.removeDataOnStop && this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Wait for the process to exit by itself (null if it did not within `timeoutMs`). */
  async waitExit(timeoutMs = 5000): Promise<number | null | 'timeout'> {
    if (this.exitCode !== undefined) return this.exitCode;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(t);
    return r;
  }

  /** SIGTERM and wait for the exit code (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 5000): Promise<number | null> {
    if (this.exitCode !== undefined) {
      this.cleanup();
      return this.exitCode;
    }
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    this.cleanup();
    return code;
  }
}

/** The `node` arguments that run the `sipserver` command: the source under tsx, or the build with `dist`. */
export function cliEntry(dist = false): string[] {
  return dist
    ? [...SERVER_NODE_FLAGS, resolve(repoRoot, 'dist/cli/main.js')]
    : [...SERVER_NODE_FLAGS, '--import', 'tsx', resolve(repoRoot, 'src/cli/main.ts')];
}

/**
 * Start `src/cli/main.ts start` under tsx (so tests always run the current source; `dist` runs
 * the build) and wait until it printed one listening line per listen entry.
 */
export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sipserver-data-'));
  const args = [
    ...SERVER_NODE_FLAGS,
    ...(opts.nodeArgs ?? []),
    ...cliEntry(opts.dist).slice(SERVER_NODE_FLAGS.length),
    'start',
    ...(opts.config ? ['--config', opts.config] : []),
    ...(opts.store ? ['--store', opts.store] : []),
    ...(opts.sipListen ? ['--sip-listen', opts.sipListen.join(',')] : []),
    '--data',
    dataDir,
    '--http-listen',
    opts.httpListen ?? '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, SIPSERVER_LOG: 'warn', ...(opts.env ?? {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const server = new ServerProcess(child);
  server.dataDir = dataDir;
  server.removeDataOnStop = !opts.keepData && !opts.dataDir;
  try {
    await server.waitListening(opts.expectAddresses ?? opts.sipListen?.length ?? 1, opts.startTimeoutMs ?? 20_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
