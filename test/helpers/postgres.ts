/**
 * A private PostgreSQL cluster for a test (scripts/postgres-up.sh / postgres-down.sh): initdb in
 * a temporary directory, a free port, 127.0.0.1 only, fsync off. Stop it in afterAll
 * ({@link PrivatePostgres.destroy}), which also kills it when the fast shutdown does not work.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** A running private cluster. */
export class PrivatePostgres {
  private constructor(
    /** The scripts' `--data` directory (cluster in `pgdata/`). */
    readonly dir: string,
    readonly port: number,
    /** `postgres://postgres:PASSWORD@127.0.0.1:PORT/sipserver`. */
    readonly url: string,
  ) {}

  /** initdb + start on a free port; resolves once it accepts connections and the database exists. */
  static async start(): Promise<PrivatePostgres> {
    const base = mkdtempSync(join(tmpdir(), 'sipserver-pg-'));
    chmodSync(base, 0o755); // the postgres user (as root) must reach DIR inside it
    const dir = join(base, 'pg');
    const port = await freePort();
    const url = await up(dir, port);
    return new PrivatePostgres(dir, port, url);
  }

  /** Starts the same cluster again on the same port (after {@link stop}). */
  async restart(): Promise<void> {
    await up(this.dir, this.port);
  }

  /** Fast shutdown (killed if it does not stop within 20 s). */
  async stop(): Promise<void> {
    await run(join(repoRoot, 'scripts/postgres-down.sh'), ['--data', this.dir], { timeout: 30_000 });
  }

  /** Stops it, kills what is left and removes the directory. */
  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      const pidFile = join(this.dir, 'pgdata/postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      rmSync(join(this.dir, '..'), { recursive: true, force: true });
    }
  }
}

async function up(dir: string, port: number): Promise<string> {
  const r = await run(join(repoRoot, 'scripts/postgres-up.sh'), ['--data', dir, '--port', String(port), '--fast'], {
    timeout: 60_000,
  });
  const url = r.stdout.trim().split('\n').pop() ?? '';
  if (!url.startsWith('postgres://')) throw new Error(`postgres-up.sh printed no URL: ${r.stdout} ${r.stderr}`);
  return url;
}
