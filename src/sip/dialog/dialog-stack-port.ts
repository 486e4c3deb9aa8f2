/**
 * What the dialog layer needs from the SIP stack below it (transaction + transport layers,
 * RFC 3261 §17, §18). The stack facade implements it; tests may provide a loopback one.
 */
import type { SipRequest, SipResponse, TransportAddress } from '../message/types.js';
import type { ClientTransactionUser } from '../transaction/transaction-types.js';

/** A request sent through a client transaction; `cancel` sends CANCEL for an INVITE (RFC 3261 §9.1). */
export interface SentRequest {
  /** The request as it went out, Via included. */
  readonly request: SipRequest;
}

/** The UAS context of one incoming request (implemented by the stack's `IncomingRequest`). */
export interface UasContext {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  /** The To tag every response to this request carries (RFC 3261 §8.2.6.2). */
  readonly toTag: string;
  readonly finalSent: boolean;
  createResponse(
    status: number,
    reason?: string,
    headers?: Array<[string, string]>,
    body?: Buffer | string,
  ): SipResponse;
  /** Answer through the server transaction; undefined when it refused (a final answer already went out). */
  reply(
    status: number,
    reason?: string,
    headers?: Array<[string, string]>,
    body?: Buffer | string,
  ): SipResponse | undefined;
  /** Send an already built response through the server transaction (2xx retransmissions included). */
  send(response: SipResponse): boolean | void;
  onCancel(listener: (cancel: SipRequest) => void): void;
}

/** The stack operations dialogs use. */
export interface DialogStackPort {
  /** Send a request in a new client transaction; the stack adds the Via (RFC 3261 §8.1.1.7). */
  sendRequest(request: SipRequest, dest: TransportAddress, user: ClientTransactionUser): SentRequest;
  /** Send CANCEL for an INVITE sent with `sendRequest` (RFC 3261 §9.1: same Via branch). */
  sendCancel(invite: SentRequest, dest: TransportAddress): void;
  /** Send an ACK for a 2xx outside any transaction (RFC 3261 §13.2.2.4, §17.1.1.3); the stack adds a new Via. */
  sendAck(ack: SipRequest, dest: TransportAddress): void;
  /** The Contact we put in requests and 2xx towards this peer, e.g. `<sip:sipserver@127.0.0.1:5060>`. */
  localContact(peer: TransportAddress): string;
}
