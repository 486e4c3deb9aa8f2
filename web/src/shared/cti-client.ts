/**
 * A browser client of the CTI protocol (docs/cti-protocol.md): one WebSocket, requests answered
 * by the first event carrying their `referenceId` (or rejected with the `EventError`), every event
 * handed to `onEvent`, and reconnection with back-off after a drop (`onReconnected` then re-opens
 * the session on the new connection).
 */
import type { CtiErrorCode, CtiServerEvent } from '../../../src/api/cti/cti-wire-types.js';

/** Where the connection stands. */
export type CtiConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A request refused by the server (`EventError`) or one that got no answer. */
export class CtiRequestError extends Error {
  constructor(
    /** The `errorCode` of the EventError; 0 when the connection failed or timed out. */
    readonly code: CtiErrorCode | 0,
    message: string,
  ) {
    super(message);
    this.name = 'CtiRequestError';
  }
}

/** Construction options of {@link CtiClient}. */
export interface CtiClientOptions {
  /** `ws:`/`wss:` address of the CTI endpoint (`ctiUrl()` of urls.ts). */
  readonly url: string;
  /** Every event the server sends, answers included, in order. */
  readonly onEvent: (event: CtiServerEvent) => void;
  readonly onState: (state: CtiConnectionState) => void;
  /**
   * Called on each new connection after a drop, before the state turns `open` again: re-open the
   * session (RequestOpen, RequestRegisterAddress, RequestQueryAddress). A rejection drops that
   * connection and retries, unless {@link CtiClient.close} was called.
   */
  readonly onReconnected: () => Promise<void>;
  /** Milliseconds a request waits for its answer (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Back-off delays between reconnection attempts, ms (the last one repeats). */
  readonly backoffMs?: readonly number[];
  /**
   * After this many ms without any message from the server, a `RequestQueryServer` is sent; no
   * answer within `heartbeatTimeoutMs` and the connection counts as lost (reconnection starts). A
   * network that vanished without closing the TCP connection is found this way. Default 20 s.
   */
  readonly heartbeatMs?: number;
  /** Default 5 s. */
  readonly heartbeatTimeoutMs?: number;
}

interface Pending {
  resolve: (e: CtiServerEvent) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_BACKOFF = [250, 500, 1000, 2000, 4000, 8000];

/** One CTI connection that comes back after network drops until {@link close}. */
export class CtiClient {
  private socket: WebSocket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextRef = 1;
  private attempts = 0;
  private closedByUser = false;
  /** The first connection opened: later drops are reconnected. */
  private established = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** `Date.now()` of the last message from the server (the heartbeat is sent after silence). */
  private lastMessageAt = 0;

  constructor(private readonly opts: CtiClientOptions) {}

  /** Opens the first connection; rejects when the server cannot be reached. */
  connect(): Promise<void> {
    this.opts.onState('connecting');
    return new Promise((resolve, reject) => {
      const ws = this.open();
      ws.addEventListener(
        'open',
        () => {
          this.established = true;
          this.opts.onState('open');
          resolve();
        },
        { once: true },
      );
      ws.addEventListener(
        'close',
        () => reject(new CtiRequestError(0, `cannot reach the server at ${this.opts.url}`)),
        { once: true },
      );
    });
  }

  /** Sends `request` and resolves with its first answer (rejects with the EventError). */
  request(
    request: string,
    attributes: Record<string, unknown> = {},
    timeoutMs = this.opts.requestTimeoutMs ?? 10_000,
  ): Promise<CtiServerEvent> {
    const ws = this.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new CtiRequestError(0, 'not connected to the server'));
    }
    const referenceId = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(referenceId);
        reject(new CtiRequestError(0, `${request}: no answer from the server`));
      }, timeoutMs);
      this.pending.set(referenceId, { resolve, reject, timer });
      ws.send(JSON.stringify({ request, referenceId, ...attributes }));
    });
  }

  /** Closes for good (logout, page left): no reconnection. */
  close(): void {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'closed by the agent');
    this.socket = undefined;
    this.failPending('connection closed');
    this.opts.onState('closed');
  }

  private open(): WebSocket {
    const ws = new WebSocket(this.opts.url);
    this.socket = ws;
    ws.addEventListener('message', (m) => this.onMessage(m));
    ws.addEventListener('close', () => this.onClose(ws));
    ws.addEventListener('open', () => this.startHeartbeat(ws), { once: true });
    return ws;
  }

  /** While `ws` is the connection: a RequestQueryServer after each silence; unanswered → lost. */
  private startHeartbeat(ws: WebSocket): void {
    const every = this.opts.heartbeatMs ?? 20_000;
    if (every <= 0) return;
    this.lastMessageAt = Date.now();
    const timer = setInterval(() => {
      if (this.socket !== ws) {
        clearInterval(timer);
        return;
      }
      if (Date.now() - this.lastMessageAt < every) return;
      this.request('RequestQueryServer', {}, this.opts.heartbeatTimeoutMs ?? 5000).catch((err: unknown) => {
        // Only silence means a dead connection; a refusal is an answer.
        if (this.socket !== ws || !(err instanceof CtiRequestError) || err.code !== 0) return;
        ws.close();
        this.onClose(ws);
      });
    }, every / 2);
  }

  private onMessage(m: MessageEvent): void {
    this.lastMessageAt = Date.now();
    if (typeof m.data !== 'string') return;
    let event: CtiServerEvent;
    try {
      event = JSON.parse(m.data) as CtiServerEvent;
    } catch {
      return;
    }
    const ref = event.referenceId;
    const p = typeof ref === 'number' ? this.pending.get(ref) : undefined;
    if (p) {
      this.pending.delete(ref as number);
      clearTimeout(p.timer);
      if (event.event === 'EventError') p.reject(new CtiRequestError(event.errorCode, event.errorMessage));
      else p.resolve(event);
    }
    this.opts.onEvent(event);
  }

  private onClose(ws: WebSocket): void {
    if (this.socket !== ws) return;
    this.socket = undefined;
    this.failPending('connection lost');
    if (this.closedByUser) return;
    if (!this.established) {
      this.opts.onState('closed');
      return;
    }
    this.opts.onState('reconnecting');
    const delays = this.opts.backoffMs ?? DEFAULT_BACKOFF;
    const delay = delays[Math.min(this.attempts, delays.length - 1)]!;
    this.attempts++;
    this.retryTimer = setTimeout(() => this.reconnect(), delay);
  }

  private reconnect(): void {
    if (this.closedByUser) return;
    const ws = this.open();
    ws.addEventListener(
      'open',
      () => {
        this.opts.onReconnected().then(
          () => {
            if (this.socket !== ws) return;
            this.attempts = 0;
            this.opts.onState('open');
          },
          () => {
            if (this.socket === ws) ws.close();
          },
        );
      },
      { once: true },
    );
  }

  private failPending(why: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CtiRequestError(0, why));
    }
    this.pending.clear();
  }
}
