/**
 * The SIP stack facade: transports + transaction layer + UAS core, and the UAC entry points
 * every upper layer (registrar, B2BUA, OOS prober) uses to send and receive SIP.
 */
import { systemClock, type Clock } from '../../util/clock.js';
import { silentLogger, type Logger } from '../../util/logger.js';
import { createRequest, generateBranch, generateCallId, generateTag } from '../message/index.js';
import type { HeaderField, SipRequest, SipResponse, TransportAddress, Via } from '../message/types.js';
import type { TimerSettings } from '../transaction/transaction-timers.js';
import {
  TransactionManager,
  type ClientTransaction,
  type ServerTransaction,
} from '../transaction/transaction-manager.js';
import type { ClientTransactionUser, ServerTransactionSender } from '../transaction/transaction-types.js';
import { buildCancel } from '../transaction/build-cancel.js';
import { TransactionState } from '../transaction/transaction-state.js';
import { formatAddress, hostForUri, parseListenSpec } from '../transport/listen-spec.js';
import { TransportLayer, type ResponseRoute, type ResponseTarget } from '../transport/transport-layer.js';
import type { TlsSettings } from '../transport/transport-tls.js';
import type { TransportLimits } from '../transport/transport-types.js';
import { IncomingRequest } from './incoming-request.js';
import { UasCore, type CancelTarget, type RequestHandler } from './uas-core.js';

/** Construction options of {@link SipStack}. */
export interface SipStackOptions {
  /** Listen specs `transport:host:port` (IPv6 in brackets; port 0 = ephemeral). */
  listen: string[];
  /** T1, T2, T4 (and Timer D, the 100 Trying delay) in ms; RFC 3261 defaults. */
  timers?: Partial<TimerSettings>;
  clock?: Clock;
  logger?: Logger;
  /** Certificate and key (PEM file paths) for `tls:` listeners. */
  tls?: TlsSettings;
  limits?: Partial<TransportLimits>;
  /** Host to advertise in Via/Contact for wildcard listeners. */
  advertisedHost?: string;
  /** Answer requests at their source port even without `;rport` (NAT; Kamailio `force_rport`). */
  forceRport?: boolean;
  /**
   * Hosts of trusted proxies (a cluster's Kamailio): for a request from one of them,
   * `IncomingRequest.origin` is the previous hop's address as the proxy recorded it in Via.
   */
  trustedProxy?: (host: string) => boolean;
  /** Option tags we support (RFC 3261 §8.2.2.3). */
  supported?: string[];
  /** Value of the `Server` / `User-Agent` header on what the stack writes itself. */
  userAgent?: string;
  /** Gate asked for each UDP datagram before parsing; false drops it (flood limits from above). */
  admitDatagram?: (source: TransportAddress, datagram: Buffer) => boolean;
}

/** Things the stack hands up that are not new requests. */
export interface SipStackDelegate {
  /** ACK for a 2xx (no transaction matches it, RFC 3261 §17.2.3 / §13.3.1.4). */
  onAck?(ack: SipRequest, source: TransportAddress): void;
  /** A response no client transaction matched (e.g. a 2xx retransmission after Timer M). */
  onStrayResponse?(response: SipResponse, source: TransportAddress): void;
}

/** Fields for {@link SipStack.createRequest}. */
export interface OutgoingRequestInit {
  method: string;
  /** Request-URI. */
  uri: string;
  /** To header value (name-addr); default `<uri>`. */
  to?: string;
  /** From header value without tag; default `<sip:{advertised host}>`. A tag is added unless `fromTag` is ''. */
  from?: string;
  fromTag?: string;
  callId?: string;
  cseq?: number;
  /** Contact header value; default none (OPTIONS/REGISTER callers set one). */
  contact?: string;
  maxForwards?: number;
  /** Extra headers appended in order. */
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  contentType?: string;
}

/** Client-transaction callbacks of {@link SipStack.sendRequest} (RFC 3261 §17.1). */
export type RequestDelegate = ClientTransactionUser;

/**
 * A ServerTransactionSender that remembers the route of its request and, after the first
 * response, the resolved target (RFC 3261 §18.2.2), so retransmissions are plain byte sends.
 */
class RouteSender implements ServerTransactionSender {
  readonly reliable: boolean;
  private target: ResponseTarget | undefined;
  /** For stream requests: where to send if the connection closes (the Via, RFC 3261 §18.2.2). */
  private fallback: ResponseTarget | undefined;
  constructor(
    private readonly transport: TransportLayer,
    readonly route: ResponseRoute,
  ) {
    this.reliable = route.transport.reliable;
  }
  send(response: SipResponse, onError: (err: Error) => void): Buffer {
    const buf = response.toBuffer();
    if (!this.target) {
      const t = this.transport.responseTarget(response, this.route);
      if (t instanceof Error) {
        onError(t);
        return buf;
      }
      this.target = t;
      if (t.connection) {
        const f = this.transport.responseTarget(response, {
          transport: this.route.transport,
          source: this.route.source,
        });
        if (!(f instanceof Error)) this.fallback = f;
      }
    }
    this.resend(buf, onError);
    return buf;
  }
  resend(bytes: Buffer, onError: (err: Error) => void): void {
    const t = this.target?.connection?.closed && this.fallback ? this.fallback : this.target;
    if (t) this.transport.sendTo(t, bytes, onError);
  }
}

/**
 * The SIP stack. Typical use:
 * ```ts
 * const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
 * stack.handle('REGISTER', (ctx) => { ctx.reply(200); return true; });
 * await stack.start();
 * ```
 */
export class SipStack {
  /** Delegate for 2xx ACKs and stray responses. */
  delegate: SipStackDelegate = {};
  readonly clock: Clock;
  readonly logger: Logger;
  private readonly transport: TransportLayer;
  private readonly transactions: TransactionManager;
  private readonly core: UasCore;
  private readonly contexts = new WeakMap<ServerTransaction, IncomingRequest>();
  private readonly userAgent: string;
  private readonly trustedProxy: ((host: string) => boolean) | undefined;
  private started = false;
  private cseqCounter = 1;

  constructor(opts: SipStackOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.userAgent = opts.userAgent ?? 'sipserver';
    this.trustedProxy = opts.trustedProxy;
    const specs = opts.listen.map(parseListenSpec);
    this.transport = new TransportLayer({
      listen: specs,
      logger: this.logger,
      limits: opts.limits,
      tls: opts.tls,
      advertisedHost: opts.advertisedHost,
      forceRport: opts.forceRport,
      admitDatagram: opts.admitDatagram,
      delegate: {
        onRequest: (req, route) =>
          this.transactions.receiveRequest(req, route.source, new RouteSender(this.transport, route)),
        onResponse: (res, source) => this.transactions.receiveResponse(res, source),
      },
    });
    this.transactions = new TransactionManager({
      clock: this.clock,
      logger: this.logger,
      timers: opts.timers,
      lazyNonInvite: true,
      delegate: {
        onRequest: (req, tx, source, sender) => this.onNewRequest(req, tx, source, sender),
        onAck: (ack, source) => this.delegate.onAck?.(ack, source),
        onStrayResponse: (res, source) => {
          if (this.delegate.onStrayResponse) this.delegate.onStrayResponse(res, source);
          else this.logger.debug({ source, status: res.status }, 'response matched no transaction, dropped');
        },
      },
    });
    this.core = new UasCore({ logger: this.logger, supported: opts.supported, serverHeader: undefined });
  }

  /** Bind every listener. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.transport.start();
    this.started = true;
  }

  /** Terminate every transaction and close every socket. */
  async stop(): Promise<void> {
    this.transactions.dispose();
    await this.transport.stop();
    this.started = false;
  }

  /** Bound addresses, with the real ports when 0 was asked for. */
  addresses(): TransportAddress[] {
    return this.transport.addresses();
  }

  /** Bound addresses as `transport:host:port` strings. */
  addressStrings(): string[] {
    return this.addresses().map(formatAddress);
  }

  /** Timer settings in force. */
  get timers(): TimerSettings {
    return this.transactions.timers;
  }

  /** Live transaction counts (diagnostics, leak tests). */
  get transactionCount(): { server: number; client: number } {
    return this.transactions.size;
  }

  /** Messages the transport refused as malformed (diagnostics). */
  get malformedCount(): number {
    return this.transport.malformedCount;
  }

  /** Responses dropped because their top Via was not ours (RFC 3261 §18.1.2; diagnostics). */
  get foreignResponseCount(): number {
    return this.transport.foreignResponseCount;
  }

  /** Register a request handler by method (or `*`); see {@link UasCore}. Returns an unregister function. */
  handle(method: string, handler: RequestHandler): () => void {
    return this.core.handle(method, handler);
  }

  /** Methods answered in Allow. */
  get allowedMethods(): string[] {
    return this.core.allowedMethods;
  }

  private onNewRequest(
    req: SipRequest,
    tx: ServerTransaction | undefined,
    source: TransportAddress,
    sender: ServerTransactionSender,
  ): void {
    const route = sender instanceof RouteSender ? sender.route : undefined;
    if (!route) throw new Error('request without route');
    const ctx = new IncomingRequest(
      req,
      source,
      tx,
      route,
      this,
      () => this.transactions.createServerTransaction(req, sender),
      this.trustedProxy,
    );
    if (tx && req.method === 'INVITE') {
      this.contexts.set(tx, ctx);
      ctx.finalHook = () => this.contexts.delete(tx);
    }
    this.core.dispatch(ctx, this.findCancelTarget);
  }

  /**
   * What a CANCEL refers to (RFC 3261 §9.2), one function for every request: the INVITE's
   * context while it is unanswered; once answered, only the To tag the 200 to the CANCEL
   * must carry (the transaction keeps it).
   */
  private readonly findCancelTarget = (cancel: SipRequest): CancelTarget | undefined => {
    const inviteTx = this.transactions.findInviteForCancel(cancel);
    if (!inviteTx) return undefined;
    const ctx = this.contexts.get(inviteTx);
    if (ctx) return ctx;
    if (inviteTx.kind === 'ist' && inviteTx.lastStatus >= 200)
      return { answered: true, toTag: inviteTx.lastToTag, finalSent: true };
    return undefined;
  };

  // ---- UAC side ---------------------------------------------------------------------------

  /**
   * Build a new out-of-dialog request (RFC 3261 §8.1.1): Request-URI, To, From with a tag,
   * Call-ID, CSeq, Max-Forwards 70. The Via is added by {@link sendRequest}.
   */
  createRequest(init: OutgoingRequestInit): SipRequest {
    const host = this.defaultHost();
    const headers: HeaderField[] = [];
    const fromTag = init.fromTag ?? generateTag();
    headers.push({ name: 'Max-Forwards', value: String(init.maxForwards ?? 70) });
    headers.push({
      name: 'From',
      value: `${init.from ?? `<sip:${hostForUri(host)}>`}${fromTag ? `;tag=${fromTag}` : ''}`,
    });
    headers.push({ name: 'To', value: init.to ?? `<${init.uri}>` });
    headers.push({ name: 'Call-ID', value: init.callId ?? generateCallId() });
    headers.push({ name: 'CSeq', value: `${init.cseq ?? this.cseqCounter++} ${init.method}` });
    if (init.contact) headers.push({ name: 'Contact', value: init.contact });
    headers.push({ name: 'User-Agent', value: this.userAgent });
    for (const [name, value] of init.headers ?? []) headers.push({ name, value });
    if (init.body !== undefined) headers.push({ name: 'Content-Type', value: init.contentType ?? 'application/sdp' });
    return createRequest({ method: init.method, uri: init.uri, headers, body: init.body });
  }

  /** A Contact URI for ourselves on the transport that reaches `dest` (`<sip:host:port;transport=x>`). */
  contactFor(dest: TransportAddress, user?: string): string {
    const t = this.transport.pickTransport(dest.transport, dest.host);
    if (!t) throw new Error(`no ${dest.transport} transport to reach ${dest.host}`);
    const sentBy = this.transport.sentBy(t);
    const tp = t.protocol === 'udp' ? '' : `;transport=${t.protocol}`;
    return `<sip:${user ? `${user}@` : ''}${sentBy}${tp}>`;
  }

  private defaultHost(): string {
    const t = this.transport.all[0];
    return t ? this.transport.advertisedHost(t) : '127.0.0.1';
  }

  /**
   * Send a request in a new client transaction (RFC 3261 §17.1): our Via (fresh branch,
   * `rport`) is prepended, the request goes to `dest` (connection reused or opened), and
   * `delegate` hears 1xx, the final response, Timer B/F timeout or a transport error.
   * Throws if we have no transport of `dest.transport`.
   */
  sendRequest(request: SipRequest, dest: TransportAddress, delegate: RequestDelegate): ClientTransaction {
    const t = this.transport.addVia(request, dest);
    const transport = this.transport;
    return this.transactions.sendRequest(
      request,
      { reliable: t.reliable, send: (m, onError) => transport.sendRequest(m, dest, onError) },
      delegate,
    );
  }

  /**
   * Cancel an INVITE sent with {@link sendRequest} (RFC 3261 §9.1). The CANCEL copies the
   * INVITE's Request-URI, Call-ID, From, To, CSeq number, Route and top Via (same branch) and
   * goes in a non-INVITE client transaction of its own to `dest`; `user` hears its outcome (the
   * INVITE's own delegate then gets the 487). Returns:
   * - `sent` when the INVITE had a provisional response;
   * - `deferred` when it had none yet: the CANCEL goes out on the first 1xx (a CANCEL must not
   *   precede it), and is dropped if a final response comes first;
   * - `not-needed` when the INVITE transaction is over (final response received).
   */
  sendCancel(
    invite: SipRequest,
    dest: TransportAddress,
    user?: ClientTransactionUser,
  ): 'sent' | 'deferred' | 'not-needed' {
    const tx = this.transactions.findClientTransaction(invite);
    if (!tx || tx.kind !== 'ict') return 'not-needed';
    const state = tx.state;
    if (state !== TransactionState.Calling && state !== TransactionState.Proceeding) return 'not-needed';
    const cuser: ClientTransactionUser = user ?? {
      onFinal: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    };
    const send = (): void => {
      const cancel = buildCancel(invite);
      const t = this.transport.pickTransport(dest.transport, dest.host);
      const transport = this.transport;
      try {
        this.transactions.sendRequest(
          cancel,
          { reliable: t ? t.reliable : false, send: (m, onError) => transport.sendRequest(m, dest, onError) },
          cuser,
        );
      } catch (err) {
        this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'CANCEL not sent');
      }
    };
    tx.whenProceeding(send);
    return state === TransactionState.Proceeding ? 'sent' : 'deferred';
  }

  /**
   * Send the ACK for a 2xx (RFC 3261 §13.2.2.4): a transaction of its own, so it gets a new
   * Via branch here; no retransmission (the TU re-sends it on each 2xx retransmission).
   */
  sendAck(ack: SipRequest, dest: TransportAddress, onError?: (err: Error) => void): void {
    // The TU re-sends the same ACK object for each 2xx retransmission: it gets our Via once,
    // and goes out again unchanged (same branch), as RFC 3261 §13.2.2.4 asks.
    if (!this.ackVias.has(ack)) {
      this.transport.addVia(ack, dest, generateBranch());
      this.ackVias.add(ack);
    }
    this.transport.sendRequest(ack, dest, onError);
  }

  /** ACKs that already carry our Via (see {@link sendAck}). */
  private readonly ackVias = new WeakSet<SipRequest>();

  /**
   * Send a response outside the transaction layer: the TU's 2xx retransmissions
   * (RFC 3261 §13.3.1.4) and stateless replies. `route` is the request's `ctx.route`; without
   * it the response is routed by its top Via alone (§18.2.2).
   */
  sendResponse(response: SipResponse, route?: ResponseRoute, onError?: (err: Error) => void): void {
    this.transport.sendResponse(response, route, onError);
  }

  /** Send response bytes whose top Via is `via` (a stateless answer built as text, RFC 3261 §8.2.7). */
  sendResponseBytes(bytes: Buffer, via: Via, route: ResponseRoute, onError?: (err: Error) => void): void {
    this.transport.sendResponseBytes(bytes, via, route, onError);
  }
}
