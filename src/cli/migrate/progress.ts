/**
 * Progress of `migrate apply`: one updating line on a TTY (agents done/total, batch size, server
 * CPU, event-loop lag, ETA), one line per batch otherwise.
 */

/** What one progress report shows. */
export interface ProgressInfo {
  done: number;
  total: number;
  batch: number;
  batchSize: number;
  cpu: number | null;
  lag: number | null;
  deferred: number;
}

const fmt = (v: number | null, unit: string): string => (v === null ? '?' : `${v.toFixed(1)}${unit}`);

/** Formats seconds as `1m05s`. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Writes progress to a stream. */
export class Progress {
  private started = Date.now();
  private startDone: number | undefined;
  private onLine = false;

  constructor(private readonly stream: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown }) {}

  /** Starts the clock of the ETA; `done` agents were moved by earlier runs. */
  begin(done: number): void {
    this.started = Date.now();
    this.startDone = done;
  }

  /** The line for `p`. */
  line(p: ProgressInfo): string {
    this.startDone ??= p.done;
    const rate = (p.done - this.startDone) / Math.max(0.001, (Date.now() - this.started) / 1000);
    const eta = rate > 0 ? formatEta((p.total - p.done) / rate) : '?';
    const width = 20;
    const filled = p.total ? Math.round((p.done / p.total) * width) : width;
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    return (
      `${bar} ${p.done}/${p.total} agents  batch ${p.batch} (size ${p.batchSize})  ` +
      `server cpu ${fmt(p.cpu, '%')} lag ${fmt(p.lag, ' ms')}  ` +
      `${p.deferred ? `deferred ${p.deferred}  ` : ''}ETA ${eta}`
    );
  }

  /** Reports progress after a batch. */
  update(p: ProgressInfo): void {
    const l = this.line(p);
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${l}`);
      this.onLine = true;
    } else this.stream.write(l + '\n');
  }

  /** Prints a message on its own line (ends an updating line first). */
  say(msg: string): void {
    this.end();
    this.stream.write(msg + '\n');
  }

  /** Ends the updating line. */
  end(): void {
    if (this.onLine) this.stream.write('\n');
    this.onLine = false;
  }
}
