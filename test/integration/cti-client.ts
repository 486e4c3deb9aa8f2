/**
 * A CTI test client over a real WebSocket (package `ws`): sends requests, keeps every event in
 * an inbox, and awaits the ones a test expects (bounded waits).
 */
import WebSocket from 'ws';

/** One JSON frame. */
export type Msg = Record<string, unknown>;

/** A CTI client over a real WebSocket, with an inbox to await events from. */
export class CtiClient {
  readonly inbox: Msg[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.inbox.push(JSON.parse(d.toString()) as Msg);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }
  static async connect(url: string): Promise<CtiClient> {
    const ws = new WebSocket(url);
    const c = new CtiClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  send(msg: Msg | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
  /** Removes and returns the first message matching `pred`, waiting up to `ms`. */
  async next(pred: (m: Msg) => boolean = () => true, ms = 3000): Promise<Msg> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`no matching message; inbox: ${JSON.stringify(this.inbox)}; closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async request(msg: Msg): Promise<Msg> {
    this.send(msg);
    return this.next((m) => m.referenceId === msg.referenceId);
  }
  async waitClosed(ms = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closed) throw new Error('not closed');
    return this.closed;
  }
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

