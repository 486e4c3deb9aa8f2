/**
 * WAL checkpoints of the configuration store in a worker thread. SQLite's automatic checkpoint
 * runs inside the commit that crosses 1,000 WAL pages: it copies them into the database file and
 * syncs it, 10 - 20 ms of the event loop in the migrate bench (a migration writes a few hundred
 * KB per change-set), which delays the calls of that moment. With the server's store the main
 * connection stops checkpointing (`wal_autocheckpoint = 0`) and, after each commit, asks a second
 * connection in a worker thread for a PASSIVE checkpoint, which never blocks the writer.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../util/logger.js';

/** The worker: plain CommonJS, run with `eval` (no module to find in `dist/` or under tsx). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
let timer;
parentPort.on('message', (m) => {
  if (m === 'close') {
    clearTimeout(timer);
    db.close();
    parentPort.close();
    return;
  }
  if (timer) return;
  timer = setTimeout(() => {
    timer = undefined;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (e) {
      parentPort.postMessage({ error: String(e && e.message || e) });
    }
  }, workerData.delayMs);
});
`;

/** Options of {@link WalCheckpointer}. */
export interface WalCheckpointerOptions {
  logger: Logger;
  /** Called once if the worker fails: the caller checkpoints itself again. */
  onFailure: () => void;
  /** Requests within this long make one checkpoint (ms, default 50). */
  delayMs?: number;
}

/** A worker thread that checkpoints one SQLite database in WAL mode when asked. */
export class WalCheckpointer {
  private readonly worker: Worker;
  private failed = false;

  /** @param file the database file (in WAL mode) */
  constructor(
    file: string,
    private readonly options: WalCheckpointerOptions,
  ) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'config-checkpoint',
      workerData: { file, sqlite, delayMs: options.delayMs ?? 50 },
    });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error) options.logger.warn({ err: m.error }, 'configuration store checkpoint failed');
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`checkpoint worker exited with code ${code}`));
    });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.options.logger.error({ err }, 'configuration store checkpoint worker failed; checkpointing in the commits');
    this.options.onFailure();
  }

  /** Asks for a checkpoint soon (requests close together make one). */
  request(): void {
    if (!this.failed) this.worker.postMessage('checkpoint');
  }

  /** Closes the worker's connection and ends the worker. */
  close(): void {
    this.failed = true;
    this.worker.postMessage('close');
  }
}
