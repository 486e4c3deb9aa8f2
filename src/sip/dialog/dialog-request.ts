/**
 * The shape of a request the dialog layer builds (RFC 3261 §12.2.1.1, §13.2.2.4). The Via is
 * not part of it: the transaction layer adds its own (RFC 3261 §8.1.1.7, §17.1.1.3).
 */
import type { HeaderField } from '../message/types.js';

/** An in-dialog request ready to be turned into a `SipRequest` by `dialog-message-factory.ts`. */
export interface DialogRequestSpec {
  method: string;
  /** Request-URI (RFC 3261 §12.2.1.1: the remote target, or the first route for a strict router). */
  uri: string;
  /** Headers in order: Route…, Max-Forwards, From, To, Call-ID, CSeq, Contact, extras, Content-Type. */
  headers: HeaderField[];
  body: Buffer;
  /**
   * Where the request goes first (RFC 3261 §8.1.2, §12.2.1.1): the first Route URI if there is
   * one, else the remote target. Resolve it with RFC 3263 (`resolveUriDestination`).
   */
  nextHop: string;
}

/** Options for `Dialog.createRequest`. */
export interface DialogRequestOptions {
  body?: Buffer | string;
  contentType?: string;
  /** Extra headers, appended after the dialog headers. */
  headers?: HeaderField[];
  /** Include our Contact (default: yes for INVITE, UPDATE, SUBSCRIBE, NOTIFY, REFER — target refresh, RFC 3261 §12.2.1.1). */
  contact?: boolean;
}
