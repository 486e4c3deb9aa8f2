/**
 * {@link DialogStackPort} over the process's `SipStack`.
 */

import { createRequest } from '../message/index.js';
import type { HeaderField, SipRequest, TransportAddress } from '../message/types.js';
import type { SipStack } from '../stack/sip-stack.js';
import type { TransactionManager } from '../transaction/transaction-manager.js';
import type { ClientTransactionUser } from '../transaction/transaction-types.js';
import type { TransportLayer } from '../transport/transport-layer.js';
import type { DialogStackPort, SentRequest } from './dialog-stack-port.js';

/** A stack that can send CANCEL itself (preferred when the facade offers it). */
interface CancelCapable {
  sendCancel(invite: SipRequest, dest: TransportAddress, user?: ClientTransactionUser): void;
}

/**
 * The CANCEL for a sent INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, To, From, top Via
 * (so the same branch), Route, CSeq number; method CANCEL.
 */
export function buildCancel(invite: SipRequest): SipRequest {
  const headers: HeaderField[] = [];
  const via = invite.getHeaders('Via')[0];
  if (via) headers.push({ name: 'Via', value: via });
  for (const r of invite.getHeaders('Route')) headers.push({ name: 'Route', value: r });
  headers.push({ name: 'Max-Forwards', value: '70' });
  headers.push({ name: 'From', value: invite.getHeader('From') ?? '' });
  headers.push({ name: 'To', value: invite.getHeader('To') ?? '' });
  headers.push({ name: 'Call-ID', value: invite.callId });
  headers.push({ name: 'CSeq', value: `${invite.cseq.seq} CANCEL` });
  return createRequest({ method: 'CANCEL', uri: invite.uri, headers });
}

/** Adapts `SipStack` to the dialog layer. */
export class DialogStackAdapter implements DialogStackPort {
  constructor(
    readonly stack: SipStack,
    private readonly contactUser = 'sipserver',
  ) {}

  sendRequest(request: SipRequest, dest: TransportAddress, user: ClientTransactionUser): SentRequest {
    this.stack.sendRequest(request, dest, user);
    return { request };
  }

  sendCancel(invite: SentRequest, dest: TransportAddress): void {
    const user: ClientTransactionUser = { onFinal: () => undefined, onTimeout: () => undefined, onTransportError: () => undefined };
    const capable = this.stack as unknown as Partial<CancelCapable>;
    if (typeof capable.sendCancel === 'function') {
      capable.sendCancel(invite.request, dest, user);
      return;
    }
    // FIXME(RFC 3261 §9.1): the stack facade has no CANCEL entry point yet and always adds a fresh
    // Via; we reach its transport and transaction layers to send the CANCEL with the INVITE's Via.
    const inner = this.stack as unknown as { transport?: TransportLayer; transactions?: TransactionManager };
    const cancel = buildCancel(invite.request);
    const transport = inner.transport;
    const transactions = inner.transactions;
    if (!transport || !transactions) {
      this.stack.logger.error({ callId: cancel.callId }, 'cannot send CANCEL: the SIP stack offers no way to send one');
      return;
    }
    const t = transport.pickTransport(dest.transport, dest.host);
    transactions.sendRequest(
      cancel,
      { reliable: t ? t.reliable : false, send: (m, onError) => transport.sendRequest(m, dest, onError) },
      user,
    );
  }

  sendAck(ack: SipRequest, dest: TransportAddress): void {
    this.stack.sendAck(ack, dest);
  }

  localContact(peer: TransportAddress): string {
    return this.stack.contactFor(peer, this.contactUser);
  }
}

