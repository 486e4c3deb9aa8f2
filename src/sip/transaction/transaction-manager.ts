/**
 * The transaction layer's entry point: matches incoming messages to transactions
 * (RFC 3261 §17.1.3, §17.2.3), creates server transactions for new requests and client
 * transactions for the TU's requests.
 */
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { SipRequest, SipResponse, TransportAddress } from '../message/types.js';
import { InviteClientTransaction } from './transaction-client-invite.js';
import { NonInviteClientTransaction } from './transaction-client-non-invite.js';
import { InviteServerTransaction } from './transaction-server-invite.js';
import { NonInviteServerTransaction } from './transaction-server-non-invite.js';
import { clientTransactionKey, hasRfc3261Branch, serverTransactionKey, toTag } from './transaction-key.js';
import { TransactionState } from './transaction-state.js';
import { resolveTimerSettings, type TimerSettings } from './transaction-timers.js';
import type {
  ClientTransactionSender,
  ClientTransactionUser,
  ServerTransactionSender,
  TerminationHook,
  TransactionContext,
} from './transaction-types.js';

/** Either client transaction. */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
/** Either server transaction. */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

/** What the transaction layer hands to the TU (the UAS core). */
export interface TransactionManagerDelegate {
  /**
   * A request that matched no transaction (ACK never gets here). A server transaction was
   * created for it, except for non-INVITE requests when the manager is `lazyNonInvite`: then
   * `tx` is undefined and the TU calls {@link TransactionManager.createServerTransaction} when
   * it decides to answer statefully (or answers statelessly, RFC 3261 §8.2.7). `sender` is the
   * one given to `receiveRequest` (it carries the route back to the peer).
   */
  onRequest(
    request: SipRequest,
    tx: ServerTransaction | undefined,
    source: TransportAddress,
    sender: ServerTransactionSender,
  ): void;
  /**
   * An ACK that matched no transaction: the ACK of a 2xx (RFC 3261 §17.2.3 / §13.3.1.4), or a
   * stray one. The TU (dialog layer) decides.
   */
  onAck(ack: SipRequest, source: TransportAddress): void;
  /** A response that matched no client transaction (RFC 3261 §18.1.2: to the core, which may drop it). */
  onStrayResponse?(response: SipResponse, source: TransportAddress): void;
}

/** Construction options of {@link TransactionManager}. */
export interface TransactionManagerOptions {
  clock: Clock;
  logger: Logger;
  timers?: Partial<TimerSettings>;
  delegate: TransactionManagerDelegate;
  /**
   * Create non-INVITE server transactions only when the TU asks (see
   * {@link TransactionManagerDelegate.onRequest}). Default false: every request gets one.
   */
  lazyNonInvite?: boolean;
}

/**
 * Owns the client and server transaction tables. Transactions remove themselves when they
 * terminate.
 */
export class TransactionManager {
  private readonly ctx: TransactionContext;
  private readonly delegate: TransactionManagerDelegate;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly lazyNonInvite: boolean;
  /** Termination hooks shared by every transaction (no closure per transaction: they live 32 s). */
  private readonly dropServer: TerminationHook = (tx) => {
    if (this.servers.get(tx.id) === tx) this.servers.delete(tx.id);
  };
  private readonly dropClient: TerminationHook = (tx) => {
    if (this.clients.get(tx.id) === tx) this.clients.delete(tx.id);
  };

  constructor(opts: TransactionManagerOptions) {
    this.ctx = { clock: opts.clock, logger: opts.logger, timers: resolveTimerSettings(opts.timers) };
    this.delegate = opts.delegate;
    this.lazyNonInvite = opts.lazyNonInvite ?? false;
  }

  /** The resolved timer settings. */
  get timers(): TimerSettings {
    return this.ctx.timers;
  }

  /** Number of live server / client transactions. */
  get size(): { server: number; client: number } {
    return { server: this.servers.size, client: this.clients.size };
  }

  /**
   * An incoming request (RFC 3261 §17.2.3). `sender` routes the transaction's responses back.
   */
  receiveRequest(request: SipRequest, source: TransportAddress, sender: ServerTransactionSender): void {
    // A request without the headers a transaction is made of (Via, From, To, Call-ID, CSeq) gets
    // none: the TU answers it at most once, statelessly (RFC 3261 §8.2.7), instead of an INVITE
    // server transaction retransmitting its 400 until Timer H (no reflection).
    if (request.method !== 'ACK' && !formsTransaction(request)) {
      this.delegate.onRequest(request, undefined, source, sender);
      return;
    }
    // No server transaction at all (a registrar answering statelessly): no key to build and look up.
    const key = this.servers.size === 0 ? undefined : serverTransactionKey(request);
    const tx = key === undefined ? undefined : this.servers.get(key);
    if (tx) {
      if (request.method === 'ACK') {
        if (tx.kind !== 'ist') return;
        // RFC 2543 matching also needs the To tag of our response (RFC 3261 §17.2.3).
        if (!hasRfc3261Branch(request) && tx.lastStatus > 0 && tx.lastToTag !== toTag(request)) {
          this.delegate.onAck(request, source);
          return;
        }
      }
      tx.receiveRequest(request);
      return;
    }
    if (request.method === 'ACK') {
      this.delegate.onAck(request, source);
      return;
    }
    if (this.lazyNonInvite && request.method !== 'INVITE') {
      this.delegate.onRequest(request, undefined, source, sender);
      return;
    }
    this.delegate.onRequest(
      request,
      this.create(request, sender, key ?? serverTransactionKey(request)),
      source,
      sender,
    );
  }

  /**
   * The server transaction of a request: the existing one, or a new one (started). For TUs
   * of a `lazyNonInvite` manager that decided to answer a request statefully.
   */
  createServerTransaction(request: SipRequest, sender: ServerTransactionSender): ServerTransaction {
    const key = serverTransactionKey(request);
    return this.servers.get(key) ?? this.create(request, sender, key);
  }

  private create(request: SipRequest, sender: ServerTransactionSender, key: string): ServerTransaction {
    const created =
      request.method === 'INVITE'
        ? new InviteServerTransaction(this.ctx, request, key, sender)
        : new NonInviteServerTransaction(this.ctx, request, key, sender);
    this.servers.set(key, created);
    created.onTermination(this.dropServer);
    created.start();
    return created;
  }

  /** The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2), if still alive. */
  findInviteForCancel(cancel: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverTransactionKey(cancel, 'INVITE'));
    return tx && tx.kind === 'ist' && tx.state !== TransactionState.Terminated ? tx : undefined;
  }

  /** The live client transaction a request was sent in (by top Via branch + method), if any. */
  findClientTransaction(request: SipRequest): ClientTransaction | undefined {
    const tx = this.clients.get(clientTransactionKey(request));
    return tx && tx.state !== TransactionState.Terminated ? tx : undefined;
  }

  /** An incoming response (RFC 3261 §17.1.3). */
  receiveResponse(response: SipResponse, source: TransportAddress): void {
    const tx = this.clients.get(clientTransactionKey(response));
    if (tx) tx.receiveResponse(response);
    else this.delegate.onStrayResponse?.(response, source);
  }

  /**
   * Create and start a client transaction for a request whose top Via (with a unique
   * `z9hG4bK` branch) is already in place (RFC 3261 §17.1). ACK is not a transaction: send it
   * through the transport directly.
   */
  sendRequest(request: SipRequest, sender: ClientTransactionSender, user: ClientTransactionUser): ClientTransaction {
    if (request.method === 'ACK') throw new Error('ACK is sent outside any client transaction (RFC 3261 §17.1)');
    const key = clientTransactionKey(request);
    if (this.clients.has(key)) throw new Error(`a client transaction with branch/method ${key} already exists`);
    const tx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(this.ctx, request, key, sender, user)
        : new NonInviteClientTransaction(this.ctx, request, key, sender, user);
    this.clients.set(key, tx);
    tx.onTermination(this.dropClient);
    tx.start();
    return tx;
  }

  /** Terminate every transaction (stack shutdown). */
  dispose(): void {
    for (const tx of [...this.servers.values()]) tx.dispose();
    for (const tx of [...this.clients.values()]) tx.dispose();
    this.servers.clear();
    this.clients.clear();
  }
}

/**
 * Whether `request` can form a server transaction: Via (with a host), From, To, Call-ID and CSeq
 * present once and parseable (RFC 3261 §8.1.1, §17.2.3). The lazy typed headers throw otherwise.
 */
export function formsTransaction(request: SipRequest): boolean {
  try {
    void request.via.host;
    void request.from.uri;
    void request.to.uri;
    void request.callId;
    void request.cseq.seq;
    return true;
  } catch {
    return false;
  }
}
