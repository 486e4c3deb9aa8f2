/**
 * A client of rtpengine's ng control protocol over UDP (rtpengine's own protocol, no RFC): a
 * request is one datagram `COOKIE <bencoded dictionary>` with a `command` key, the reply is
 * `COOKIE <bencoded dictionary>` with `result` `ok`, `pong` or `error` (and `error-reason`).
 * rtpengine caches replies by cookie, so a request that got no answer is sent again with the same
 * cookie (a repeated `offer` is not executed twice).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import bencode from 'bencode';
import type { NgAddress } from './ng-address.js';

export { parseNgAddress, type NgAddress } from './ng-address.js';

/** An ng reply, byte strings decoded as UTF-8. */
export type NgValue = string | number | NgValue[] | { [key: string]: NgValue };
/** A reply dictionary. */
export type NgReply = { [key: string]: NgValue };

/** rtpengine did not answer a request, after every retransmission. */
export class NgTimeoutError extends Error {
  constructor(
    readonly address: string,
    readonly command: string,
    tries: number,
    ms: number,
  ) {
    super(`rtpengine at ${address} did not answer '${command}' (${tries} tries in ${ms} ms)`);
    this.name = 'NgTimeoutError';
  }
}

/** rtpengine answered `result: error`. */
export class NgCommandError extends Error {
  constructor(
    readonly address: string,
    readonly command: string,
    readonly reason: string,
  ) {
    super(`rtpengine at ${address} refused '${command}': ${reason}`);
    this.name = 'NgCommandError';
  }
}

/** Timing of {@link NgClient} requests. */
export interface NgTiming {
  /** Wait this long for a reply before sending the request again (default 500 ms). */
  readonly retransmitMs?: number;
  /** Send a request at most this many times (default 4). */
  readonly tries?: number;
}

const decoder = new TextDecoder();

function toValue(v: unknown): NgValue {
  if (v instanceof Uint8Array) return decoder.decode(v);
  if (Array.isArray(v)) return v.map(toValue);
  if (v !== null && typeof v === 'object') {
    const o: { [key: string]: NgValue } = {};
    for (const [k, x] of Object.entries(v)) o[k] = toValue(x);
    return o;
  }
  return v as number;
}

interface Pending {
  readonly command: string;
  readonly resolve: (reply: NgReply) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** One rtpengine's ng port: requests with retransmission, replies matched by cookie. */
export class NgClient {
  /** `udp:host:port`, for messages. */
  readonly name: string;
  private socket: Socket | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = randomBytes(4).toString('hex');
  private seq = 0;
  private closed = false;
  private readonly retransmitMs: number;
  private readonly tries: number;

  constructor(
    readonly address: NgAddress,
    timing: NgTiming = {},
  ) {
    this.name = `udp:${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    this.retransmitMs = timing.retransmitMs ?? 500;
    this.tries = timing.tries ?? 4;
  }

  private open(): Socket {
    if (this.socket) return this.socket;
    const s = createSocket(isIP(this.address.host) === 6 ? 'udp6' : 'udp4');
    s.on('message', (msg) => this.onMessage(msg));
    // Send errors (an unreachable host) surface as timeouts of the requests.
    s.on('error', () => undefined);
    s.unref();
    this.socket = s;
    return s;
  }

  private onMessage(msg: Buffer): void {
    const space = msg.indexOf(0x20);
    if (space <= 0) return;
    const p = this.pending.get(msg.subarray(0, space).toString('latin1'));
    if (!p) return;
    let reply: NgValue;
    try {
      reply = toValue(bencode.decode(msg.subarray(space + 1)));
    } catch {
      return;
    }
    if (typeof reply !== 'object' || Array.isArray(reply)) return;
    const cookie = msg.subarray(0, space).toString('latin1');
    this.pending.delete(cookie);
    clearTimeout(p.timer);
    if (reply['result'] === 'error')
      p.reject(new NgCommandError(this.name, p.command, String(reply['error-reason'] ?? 'no reason given')));
    else p.resolve(reply);
  }

  /**
   * Sends `command` with `args` and resolves with the reply dictionary. Rejects with
   * {@link NgCommandError} on `result: error` and {@link NgTimeoutError} when no reply came.
   */
  request(command: string, args: Record<string, unknown> = {}): Promise<NgReply> {
    if (this.closed) return Promise.reject(new Error(`rtpengine client ${this.name} is closed`));
    const socket = this.open();
    const cookie = `${this.prefix}_${(this.seq++).toString(36)}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), bencode.encode({ ...args, command })]);
    return new Promise<NgReply>((resolve, reject) => {
      let sent = 0;
      const started = Date.now();
      const send = (): void => {
        if (sent === this.tries) {
          this.pending.delete(cookie);
          reject(new NgTimeoutError(this.name, command, sent, Date.now() - started));
          return;
        }
        sent += 1;
        socket.send(datagram, this.address.port, this.address.host);
        p.timer = setTimeout(send, this.retransmitMs);
      };
      const p: Pending = { command, resolve, reject };
      this.pending.set(cookie, p);
      send();
    });
  }

  /** `ping`: resolves when rtpengine answers `pong`. */
  async ping(): Promise<void> {
    const r = await this.request('ping');
    if (r['result'] !== 'pong') throw new Error(`rtpengine at ${this.name} answered ping with ${String(r['result'])}`);
  }

  /** Rejects what is in flight and closes the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`rtpengine client ${this.name} closed`));
    }
    this.pending.clear();
    this.socket?.close();
    this.socket = undefined;
  }
}
