/**
 * The transport layer of RFC 3261 §18: owns the listening transports, turns framed bytes into
 * messages, stamps `received`/`rport` on incoming requests (§18.2.1, RFC 3581 §4), routes
 * responses (§18.2.2, RFC 3581 §4) and sends requests (§18.1.1).
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../util/logger.js';
import {
  SipMessageBaseImpl,
  createResponse,
  formatVia,
  generateBranch,
  generateTag,
  reasonPhrase,
} from '../message/index.js';
import {
  SipParseError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
  type TransportProtocol,
  type Via,
} from '../message/types.js';
import { hostForUri, hostWithoutBrackets, type ListenSpec } from './listen-spec.js';
import { buildRawErrorResponse } from './stateless-error-reply.js';
import { TcpTransport } from './transport-tcp.js';
import { TlsTransport, type TlsSettings } from './transport-tls.js';
import { UdpTransport } from './transport-udp.js';
import { WsTransport } from './transport-ws.js';
import {
  defaultTransportLimits,
  type Connection,
  type Transport,
  type TransportDelegate,
  type TransportLimits,
} from './transport-types.js';

/** Where a request came from, kept so that its responses go back the same way (RFC 3261 §18.2.2). */
export interface ResponseRoute {
  /** The transport the request arrived on. */
  transport: Transport;
  /** The connection it arrived on (stream transports). */
  connection?: Connection;
  /** Source address of the request. */
  source: TransportAddress;
}

/** Where the responses of one request go (computed once per server transaction). */
export interface ResponseTarget {
  transport: Transport;
  dest: TransportAddress;
  connection?: Connection;
}

/** What the transport layer hands up. */
export interface TransportLayerDelegate {
  /** A request that parsed; its top Via already carries `received`/`rport` as needed. */
  onRequest(request: SipRequest, route: ResponseRoute): void;
  /** A response that parsed (RFC 3261 §18.1.2). */
  onResponse(response: SipResponse, source: TransportAddress): void;
}

/** Construction options of {@link TransportLayer}. */
export interface TransportLayerOptions {
  listen: ListenSpec[];
  logger: Logger;
  delegate: TransportLayerDelegate;
  limits?: Partial<TransportLimits>;
  tls?: TlsSettings;
  /**
   * Host written in our Via sent-by and Contact for transports bound to a wildcard address
   * (`0.0.0.0`, `::`). Default: the first non-internal interface address of that family.
   */
  advertisedHost?: string;
  /**
   * Answer every request at its source port as if it carried `;rport` (Kamailio `force_rport`,
   * Asterisk `force_rport`): for clients behind NAT that do not ask for RFC 3581. Default false.
   */
  forceRport?: boolean;
  /** Gate asked for each UDP datagram before parsing; false drops it (flood limits). Default: all pass. */
  admitDatagram?: (source: TransportAddress, datagram: Buffer) => boolean;
}

const VIA_TRANSPORT: Record<TransportProtocol, string> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS', ws: 'WS', wss: 'WSS' };

/** Lower-case protocol of a Via transport token (`UDP` → `udp`), or undefined for SCTP and unknown ones. */
export function protocolOfVia(via: Via): TransportProtocol | undefined {
  const t = via.transport.toLowerCase();
  return t === 'udp' || t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' ? t : undefined;
}

/** One or more ASCII digits. */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Index of the last `;rport` in a Via line, or -1. A plain backward scan: V8 runs
 * `String.prototype.lastIndexOf` in C++ (a runtime call per request on this path).
 */
function lastRportAt(line: string): number {
  for (let i = line.length - 6; i >= 0; i--) if (line.charCodeAt(i) === 0x3b && line.startsWith(';rport', i)) return i;
  return -1;
}

/** Compare two IP literals, ignoring brackets and case. */
function sameIp(a: string, b: string): boolean {
  return a === b || hostWithoutBrackets(a).toLowerCase() === hostWithoutBrackets(b).toLowerCase();
}

/**
 * The SIP transport layer. Malformed input is logged at debug level with its source and, if it
 * is a request whose Via/From/To/Call-ID/CSeq could be read, answered statelessly with the
 * parser's status, back to the source address; other garbage is dropped. None of this touches
 * any transaction.
 */
export class TransportLayer implements TransportDelegate {
  private readonly transports: Transport[] = [];
  private readonly logger: Logger;
  private readonly delegate: TransportLayerDelegate;
  private readonly advertised: string | undefined;
  private readonly forceRport: boolean;
  /** {@link TransportDelegate.admitDatagram}: the gate from the options, if any. */
  admitDatagram?: (source: TransportAddress, datagram: Buffer) => boolean;
  /** Messages dropped or answered statelessly because they did not parse (diagnostics). */
  malformedCount = 0;
  /** Responses dropped because their top Via is not ours (RFC 3261 §18.1.2; diagnostics). */
  foreignResponseCount = 0;
  /** `host:port` values we write as Via sent-by, lower-case. */
  private readonly ourSentBy = new Set<string>();

  constructor(opts: TransportLayerOptions) {
    this.logger = opts.logger;
    this.delegate = opts.delegate;
    this.advertised = opts.advertisedHost;
    this.forceRport = opts.forceRport ?? false;
    if (opts.admitDatagram) this.admitDatagram = opts.admitDatagram;
    const limits: TransportLimits = { ...defaultTransportLimits, ...(opts.limits ?? {}) };
    for (const spec of opts.listen) {
      switch (spec.transport) {
        case 'udp':
          this.transports.push(new UdpTransport(spec, this, this.logger));
          break;
        case 'tcp':
          this.transports.push(new TcpTransport(spec, this, this.logger, limits));
          break;
        case 'tls':
          if (!opts.tls) throw new Error(`listen tls:${spec.host}:${spec.port} needs tls.cert and tls.key`);
          this.transports.push(new TlsTransport(spec, this, this.logger, limits, opts.tls));
          break;
        case 'ws':
        case 'wss':
          this.transports.push(new WsTransport(spec.transport, spec, this, this.logger, limits, opts.tls));
          break;
      }
    }
  }

  /** The listening transports. */
  get all(): readonly Transport[] {
    return this.transports;
  }

  /** Bind every transport; on failure close the ones already bound. */
  async start(): Promise<void> {
    try {
      for (const t of this.transports) await t.listen();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ourSentBy.clear();
    for (const t of this.transports) this.ourSentBy.add(this.sentBy(t).toLowerCase());
  }

  async stop(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.close()));
  }

  /** Bound addresses (with real ports). */
  addresses(): TransportAddress[] {
    return this.transports.map((t) => ({ ...t.local }));
  }

  /** The transport to use for `protocol` towards `host` (same address family), if we listen on one. */
  pickTransport(protocol: TransportProtocol, host: string): Transport | undefined {
    const fam = isIP(hostWithoutBrackets(host));
    let fallback: Transport | undefined;
    for (const t of this.transports) {
      if (t.protocol !== protocol) continue;
      const tf = isIP(t.local.host);
      if (fam === 0 || tf === fam) return t;
      fallback ??= t;
    }
    return fam === 0 ? fallback : undefined;
  }

  /** The host we advertise for a transport (Via sent-by, Contact). */
  advertisedHost(t: Transport): string {
    const h = t.local.host;
    if (h !== '0.0.0.0' && h !== '::') return h;
    if (this.advertised) return this.advertised;
    const want = h === '::' ? 'IPv6' : 'IPv4';
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && a.family === want) return a.address;
    }
    return h === '::' ? '::1' : '127.0.0.1';
  }

  /** `host:port` we write in Via and Contact for a transport. */
  sentBy(t: Transport): string {
    return `${hostForUri(this.advertisedHost(t))}:${t.local.port}`;
  }

  /**
   * Prepend our Via (`SIP/2.0/<T> <sent-by>;branch=z9hG4bK…;rport`, RFC 3261 §8.1.1.7,
   * RFC 3581 §3) for sending to `dest`, and return the transport to use.
   */
  addVia(request: SipRequest, dest: TransportAddress, branch: string = generateBranch()): Transport {
    const t = this.pickTransport(dest.transport, dest.host);
    if (!t) throw new Error(`no ${dest.transport} transport to reach ${dest.host}`);
    request.prependHeader('Via', `SIP/2.0/${VIA_TRANSPORT[t.protocol]} ${this.sentBy(t)};branch=${branch};rport`);
    return t;
  }

  /** Send a request (or an ACK) to `dest` (RFC 3261 §18.1.1). */
  sendRequest(request: SipRequest, dest: TransportAddress, onError?: (err: Error) => void): void {
    const t = this.pickTransport(dest.transport, dest.host);
    if (!t) {
      onError?.(new Error(`no ${dest.transport} transport to reach ${dest.host}`));
      return;
    }
    t.send(
      request.toBuffer(),
      { transport: dest.transport, host: hostWithoutBrackets(dest.host), port: dest.port },
      onError,
    );
  }

  /**
   * Where a response goes, per RFC 3261 §18.2.2 and RFC 3581 §4: over the connection the
   * request came on while it is open; otherwise to `received` (or the sent-by host) at `rport`
   * (or the sent-by port, or the transport's default port), over the transport the request
   * arrived on (or, without a route, the Via's sent-protocol). An Error when it cannot be routed.
   */
  responseTarget(response: SipResponse, route: ResponseRoute | undefined): ResponseTarget | Error {
    if (route?.connection && !route.connection.closed)
      return { transport: route.transport, dest: route.connection.remote, connection: route.connection };
    let via: Via;
    try {
      via = response.via;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    return this.viaTarget(via, route);
  }

  /** {@link responseTarget} from the top Via the response carries (not over a connection). */
  private viaTarget(via: Via, route: ResponseRoute | undefined): ResponseTarget | Error {
    const protocol = route?.transport.protocol ?? protocolOfVia(via) ?? 'udp';
    // `received` and `rport` in one pass over the parameters (the first of each counts).
    let received: string | null | undefined;
    let rport: string | null | undefined;
    const ps = via.params;
    for (let i = 0; i < ps.length; i++) {
      const n = ps[i][0];
      if (n.length === 8 && received === undefined && n.toLowerCase() === 'received') received = ps[i][1];
      else if (n.length === 5 && rport === undefined && n.toLowerCase() === 'rport') rport = ps[i][1];
    }
    // FIXME(RFC 3261 §18.2.2): maddr (multicast) is not supported; the response goes to received/sent-by.
    const host = hostWithoutBrackets(received ?? via.host);
    let port: number;
    if (rport && isDigits(rport)) port = Number(rport);
    else port = via.port ?? (protocol === 'tls' || protocol === 'wss' ? 5061 : 5060);
    // The usual case: back to the address the request came from, over the same transport.
    if (route !== undefined && host === route.source.host)
      return { transport: route.transport, dest: { transport: protocol, host, port } };
    if (isIP(host) === 0) {
      // FIXME(RFC 3263 §5): no DNS for sent-by host names; every request we received has `received`.
      return new Error(`cannot route response to host name ${host}`);
    }
    const t =
      route && isIP(host) === isIP(route.transport.local.host) ? route.transport : this.pickTransport(protocol, host);
    if (!t) return new Error(`no ${protocol} transport for response to ${host}`);
    return { transport: t, dest: { transport: protocol, host, port } };
  }

  /** Send bytes to a target from {@link responseTarget} (reopening a closed connection to its peer). */
  sendTo(target: ResponseTarget, buf: Buffer, onError?: (err: Error) => void): void {
    if (target.connection && !target.connection.closed) target.connection.send(buf, onError);
    else target.transport.send(buf, target.dest, onError);
  }

  /** Send a response per RFC 3261 §18.2.2 (see {@link responseTarget}). */
  sendResponse(response: SipResponse, route: ResponseRoute | undefined, onError?: (err: Error) => void): void {
    const target = this.responseTarget(response, route);
    if (target instanceof Error) {
      onError?.(target);
      return;
    }
    this.sendTo(target, response.toBuffer(), onError);
  }

  /**
   * Send the bytes of a response whose top Via is `via` (the request's, stamped), routed as
   * {@link sendResponse} routes a response object (RFC 3261 §18.2.2, RFC 3581 §4).
   */
  sendResponseBytes(bytes: Buffer, via: Via, route: ResponseRoute | undefined, onError?: (err: Error) => void): void {
    const conn = route?.connection;
    if (conn && !conn.closed) {
      conn.send(bytes, onError);
      return;
    }
    const target = this.viaTarget(via, route);
    if (target instanceof Error) {
      onError?.(target);
      return;
    }
    this.sendTo(target, bytes, onError);
  }

  /** Send raw bytes back to where a message came from (stateless replies to malformed input). */
  sendRaw(buf: Buffer, route: ResponseRoute): void {
    if (route.connection && !route.connection.closed) route.connection.send(buf);
    else route.transport.send(buf, route.source);
  }

  /** TransportDelegate: one framed, parsed message arrived. */
  onMessage(msg: SipMessage, source: TransportAddress, connection: Connection | undefined, transport: Transport): void {
    try {
      if (msg.kind === 'request') {
        this.stampVia(msg, source);
      } else {
        // Touch the mandatory fields so that a broken response is dropped here (§18.1.2).
        const via = msg.via;
        void msg.cseq;
        // RFC 3261 §18.1.2: a response whose top Via sent-by is not what we write is discarded.
        const sentBy = `${hostForUri(via.host)}:${via.port ?? ''}`.toLowerCase();
        if (this.ourSentBy.size > 0 && !this.ourSentBy.has(sentBy)) {
          this.foreignResponseCount++;
          this.logger.debug({ source, sentBy }, 'response not for us (top Via sent-by), dropped');
          return;
        }
      }
    } catch (err) {
      const e = err instanceof SipParseError ? err : new SipParseError(400, String(err));
      this.onMalformed(
        msg.kind === 'request' ? new SipParseError(e.status, e.message, msg) : new SipParseError(0, e.message),
        msg.toBuffer(),
        source,
        connection,
        transport,
      );
      return;
    }
    try {
      if (msg.kind === 'request') this.delegate.onRequest(msg, { transport, connection, source });
      else this.delegate.onResponse(msg, source);
    } catch (err) {
      // A bug above us must not take the transport down; the message is lost, not the server.
      this.logger.error({ err, source }, 'error while processing a SIP message');
    }
  }

  /**
   * TransportDelegate: a message that did not parse. Logged once at debug level with its
   * source; a request is answered statelessly with the parser's status when its Via, From, To,
   * Call-ID and CSeq can be read (from the parser's partial message, else from the raw lines),
   * back to the source address; anything else is dropped. No transaction is involved.
   */
  onMalformed(
    error: SipParseError,
    raw: Buffer,
    source: TransportAddress,
    connection: Connection | undefined,
    transport: Transport,
  ): void {
    this.malformedCount++;
    const route: ResponseRoute = { transport, connection, source };
    this.logger.debug({ source, status: error.status, err: error.message }, 'malformed SIP message');
    if (error.status <= 0) return;
    try {
      const reply = this.errorReply(error, raw);
      if (reply) this.sendRaw(reply, route);
    } catch (err) {
      this.logger.error({ err, source }, 'error while answering a malformed message');
    }
  }

  private errorReply(error: SipParseError, raw: Buffer): Buffer | undefined {
    const p = error.partial;
    if (p && p.kind === 'request') {
      try {
        // Validate the fields a client needs to match the response (RFC 3261 §17.1.3).
        void p.vias;
        void p.cseq;
        void p.callId;
        return createResponse(p, error.status, reasonPhrase(error.status), { toTag: true }).toBuffer();
      } catch {
        /* fall through to the raw lines */
      }
    }
    return buildRawErrorResponse(raw, error.status, reasonPhrase(error.status), generateTag());
  }

  /**
   * RFC 3261 §18.2.1: add `received` when the sent-by host is not the source IP; RFC 3581 §4:
   * fill in an empty `rport` with the source port (and then always add `received`).
   */
  private stampVia(request: SipRequest, source: TransportAddress): void {
    const via = request.via;
    let rport: string | null | undefined;
    let rportAt = -1;
    let hasReceived = false;
    const ps = via.params;
    for (let i = 0; i < ps.length; i++) {
      const n = ps[i][0];
      if (n.length === 5 && rportAt < 0 && n.toLowerCase() === 'rport') {
        rport = ps[i][1];
        rportAt = i;
      } else if (n.length === 8 && n.toLowerCase() === 'received') hasReceived = true;
    }
    const needReceived = !sameIp(via.host, source.host);
    const needRport = rport === null || rport === '' || (this.forceRport && rport === undefined);
    if (!needReceived && !needRport) return;
    if (
      !hasReceived &&
      request instanceof SipMessageBaseImpl &&
      this.stampViaText(request, via, source, needRport, rportAt)
    )
      return;
    const params: Array<[string, string | null]> = [];
    for (const [n, v] of via.params) {
      const ln = n.toLowerCase();
      if (ln === 'received') continue;
      if (ln === 'rport' && needRport) continue;
      params.push([n, v]);
    }
    params.push(['received', source.host]);
    if (needRport) params.push(['rport', String(source.port)]);
    const stamped: Via = { ...via, params };
    const all = request.getHeaders('Via');
    all[0] = formatVia(stamped);
    request.setHeader('Via', all.join(', '));
  }

  /**
   * The usual stamp, done on the text: the top Via alone on its line, without `received`,
   * its `rport` (if any) written `;rport` in lower case. The line gets `;rport=PORT` in place
   * and `;received=IP` at its end; the parsed Via is updated in place, so nothing is formatted
   * or parsed again. False (nothing changed) when the line is not of that shape.
   */
  private stampViaText(
    request: SipMessageBaseImpl,
    via: Via,
    source: TransportAddress,
    needRport: boolean,
    rportAt: number,
  ): boolean {
    const line = request.firstLine('Via');
    if (line === undefined || line.indexOf(',') >= 0) return false;
    let text = line;
    let tail = ';received=' + source.host;
    if (needRport) {
      const port = String(source.port);
      if (rportAt >= 0) {
        const at = lastRportAt(line);
        const after = at < 0 ? -1 : line.charCodeAt(at + 6);
        // `;rport` must end there (end of line or next parameter; no spaces around `;`).
        if (at < 0 || !(Number.isNaN(after) || after === 0x3b)) return false;
        text = line.slice(0, at) + ';rport=' + port + line.slice(at + 6);
        via.params[rportAt] = [via.params[rportAt][0], port];
        via.params.push(['received', source.host]);
      } else {
        tail += ';rport=' + port;
        via.params.push(['received', source.host], ['rport', port]);
      }
    } else via.params.push(['received', source.host]);
    request.replaceFirstLine('Via', text + tail, via);
    return true;
  }
}
