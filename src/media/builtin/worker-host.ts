/**
 * The main thread's side of the media worker: starts it, matches responses to requests by id,
 * and restarts it when it dies (pending requests are rejected; its endpoints are lost).
 *
 * The worker file is `media-worker.js` next to this module when running compiled (`dist/`); when
 * this module is TypeScript source (vitest, tsx), a small bootstrap registers tsx in the worker
 * and imports `media-worker.ts`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../util/logger.js';
import type { RequestMessage, WorkerMessage, WorkerRequest, WorkerResult, WorkerSettings } from './worker-protocol.js';

/** Restarts in a row after which a worker that dies within a second of starting is given up. */
const MAX_QUICK_RESTARTS = 5;

/**
 * The ESM entry of `tsx/esm/api` resolved from this module (not from the working directory, as a
 * bare specifier in an eval'd worker would be). Its `import` condition is read from tsx's
 * package.json because `require.resolve` gives the CommonJS one and vitest has no
 * `import.meta.resolve`.
 */
function tsxEsmApi(): string {
  try {
    const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
      exports: Record<string, { import: string | { default: string } }>;
    };
    const entry = pkg.exports['./esm/api'].import;
    return pathToFileURL(join(dirname(pkgPath), typeof entry === 'string' ? entry : entry.default)).href;
  } catch {
    return 'tsx/esm/api';
  }
}

/**
 * A worker thread running the module `url`, compiled JavaScript or TypeScript source: for a
 * `.ts` module a bootstrap registers tsx in the worker first (vitest, `tsx` runs, benchmarks).
 */
export function startModuleWorker(url: URL, workerData: unknown, name: string): Worker {
  if (url.pathname.endsWith('.ts')) {
    const tsx = tsxEsmApi();
    const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
    return new Worker(bootstrap, { eval: true, workerData, name });
  }
  return new Worker(url, { workerData, name });
}

function spawn(settings: WorkerSettings): Worker {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return startModuleWorker(new URL(`./media-worker.${ext}`, import.meta.url), settings, 'media');
}

/** The worker seen from the main thread. */
export class MediaWorkerHost {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (r: WorkerResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closing = false;
  private startedAt = 0;
  private quickRestarts = 0;
  /** Incremented at each (re)start: endpoints of an older generation are gone. */
  generation = 0;
  /** Times the worker died and was restarted. */
  restarts = 0;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly logger: Logger,
    private readonly onRestart: () => void,
  ) {
    this.start();
  }

  private start(): void {
    const w = spawn(this.settings);
    this.worker = w;
    this.generation++;
    this.startedAt = Date.now();
    w.on('message', (m: WorkerMessage) => this.onMessage(m));
    w.on('error', (e) => this.logger.error({ err: e }, 'media worker failed'));
    w.on('exit', (code) => this.onExit(w, code));
  }

  private onMessage(m: WorkerMessage): void {
    if ('log' in m) {
      const { level, msg, ...rest } = m.log;
      this.logger[level](rest, msg);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
  }

  private onExit(w: Worker, code: number): void {
    if (w !== this.worker) return;
    this.worker = undefined;
    const lost = new Error(`media worker exited (code ${code})`);
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    if (this.closing) return;
    this.quickRestarts = Date.now() - this.startedAt < 1000 ? this.quickRestarts + 1 : 0;
    if (this.quickRestarts > MAX_QUICK_RESTARTS) {
      this.logger.error({ code }, 'media worker keeps dying at start; media is unavailable');
      return;
    }
    this.logger.error({ code }, 'media worker exited; restarting it (its endpoints are lost)');
    this.restarts++;
    this.start();
    this.onRestart();
  }

  /** Sends a request; rejects when the worker dies first or is not running. */
  request<T extends WorkerResult>(request: WorkerRequest): Promise<T> {
    const w = this.worker;
    if (!w) return Promise.reject(new Error('the media worker is not running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: WorkerResult) => void, reject });
      w.postMessage({ id, request } satisfies RequestMessage);
    });
  }

  /** Closes every endpoint (RTCP BYE) and stops the worker. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const w = this.worker;
    if (!w) return;
    try {
      await this.request({ op: 'shutdown' });
    } catch {
      // the worker is gone already
    }
    await w.terminate();
  }
}
