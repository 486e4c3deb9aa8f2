/**
 * The one CTI test client: a small desktop over a real WebSocket (package `ws`) for the
 * integration and end-to-end tests and the benchmarks. It sends requests with an automatic (or a
 * given) `referenceId`, keeps every frame received in order, and awaits frames by name or
 * predicate with a bounded wait, each frame at most once (docs/cti-protocol.md).
 */
import WebSocket from 'ws';

/** One CTI frame (request or event) as plain JSON. */
export type CtiFrame = Record<string, unknown>;

/** Await predicate: an event name or a function of the frame. */
export type CtiMatch = string | ((frame: CtiFrame) => boolean);

/** A CTI client; every received frame is kept in {@link CtiTestClient.events}. */
export class CtiTestClient {
  /** Every frame received, in arrival order. */
  readonly events: CtiFrame[] = [];
  /** Close code and reason once the server closed the connection. */
  closed: { code: number; reason: string } | undefined;
  private readonly consumed = new Set<number>();
  private nextRef = 1;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let frame: CtiFrame;
      try {
        frame = JSON.parse(data.toString()) as CtiFrame;
      } catch {
        frame = { event: '<non-json>', raw: data.toString() };
      }
      this.events.push(frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /**
   * Open a WebSocket to `url` (e.g. `ws://127.0.0.1:PORT/cti`); `options.autoPong: false` makes a
   * client that never answers the server's pings (a peer whose network vanished).
   */
  static async connect(url: string, timeoutMs = 5000, options?: { autoPong?: boolean }): Promise<CtiTestClient> {
    const ws = new WebSocket(url, options);
    const client = new CtiTestClient(ws);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`CTI connect to ${url} timed out`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(t);
        resolve();
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    return client;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Send a request frame with a fresh integer `referenceId` (or the one given in `attributes`);
   * returns that id.
   */
  send(request: string, attributes: CtiFrame = {}): number {
    const referenceId = typeof attributes.referenceId === 'number' ? attributes.referenceId : this.nextRef++;
    this.ws.send(JSON.stringify({ request, referenceId, ...attributes }));
    return referenceId;
  }

  /** Send a frame exactly as given (no `referenceId` added: a frame without one…). */
  sendFrame(frame: CtiFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Send raw text (garbage, broken JSON…). */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /**
   * Send a request and wait for the first event carrying its `referenceId` (the success event
   * or `EventError`).
   */
  async request(request: string, attributes: CtiFrame = {}, timeoutMs = 5000): Promise<CtiFrame> {
    const ref = this.send(request, attributes);
    return this.waitFor((f) => f.referenceId === ref, timeoutMs);
  }

  /**
   * Wait for the first not-yet-awaited event matching `match` (received before or after the
   * call), mark it as awaited and return it. Rejects after `timeoutMs` or when the connection
   * closes without one, listing what was received.
   */
  async waitFor(match: CtiMatch, timeoutMs = 5000): Promise<CtiFrame> {
    const pred = typeof match === 'string' ? (f: CtiFrame) => f.event === match : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.events.length; i++) {
        if (this.consumed.has(i)) continue;
        if (pred(this.events[i]!)) {
          this.consumed.add(i);
          return this.events[i]!;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        throw new Error(
          `no matching CTI event (${typeof match === 'string' ? match : 'predicate'}) within ${timeoutMs} ms; ` +
            `closed: ${JSON.stringify(this.closed)}; received: ${this.names().join(', ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The oldest frame not yet awaited (received before or after the call). */
  next(timeoutMs = 5000): Promise<CtiFrame> {
    return this.waitFor(() => true, timeoutMs);
  }

  /** Frames received and not yet awaited, in arrival order. */
  pending(): CtiFrame[] {
    return this.events.filter((_, i) => !this.consumed.has(i));
  }

  /** Mark every event received so far as awaited: later {@link waitFor} calls see only newer ones. */
  skipReceived(): void {
    for (let i = 0; i < this.events.length; i++) this.consumed.add(i);
  }

  /** Names of every event received so far, in order (`event` attribute). */
  names(filter?: (f: CtiFrame) => boolean): string[] {
    return this.events.filter(filter ?? (() => true)).map((f) => String(f.event));
  }

  /** Wait until the server closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (!this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        const check = (): void => {
          if (this.closed) {
            clearTimeout(t);
            resolve();
          } else this.waiters.push(check);
        };
        this.waiters.push(check);
      });
    }
    if (!this.closed)
      throw new Error(`CTI connection not closed within ${timeoutMs} ms; received: ${this.names().join(', ')}`);
    return this.closed;
  }

  /** Close the socket (idempotent). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
