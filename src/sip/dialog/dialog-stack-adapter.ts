/**
 * {@link DialogStackPort} over the process's `SipStack`.
 */

import type { SipRequest, TransportAddress } from '../message/types.js';
import type { SipStack } from '../stack/sip-stack.js';
import type { ClientTransactionUser } from '../transaction/transaction-types.js';
import type { DialogStackPort, SentRequest } from './dialog-stack-port.js';

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

  /** CANCEL through the stack, which reuses the INVITE's branch and waits for a 1xx (RFC 3261 §9.1). */
  sendCancel(invite: SentRequest, dest: TransportAddress): void {
    const user: ClientTransactionUser = {
      onFinal: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    };
    this.stack.sendCancel(invite.request, dest, user);
  }

  sendAck(ack: SipRequest, dest: TransportAddress): void {
    this.stack.sendAck(ack, dest);
  }

  localContact(peer: TransportAddress): string {
    return this.stack.contactFor(peer, this.contactUser);
  }
}
