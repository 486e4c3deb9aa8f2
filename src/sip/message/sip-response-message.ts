/** A SIP response (RFC 3261 §7.2). */
import type { HeaderField, SipResponse } from './types.js';
import { SipMessageBaseImpl } from './sip-message-base.js';

/** A SIP response: `SIP-Version SP Status-Code SP Reason-Phrase` plus headers and body (RFC 3261 §7.2). */
export class SipResponseMessage extends SipMessageBaseImpl implements SipResponse {
  readonly kind = 'response' as const;
  private _status: number;
  private _reason: string;
  private _version: string;

  constructor(
    status: number,
    reason: string,
    headers: HeaderField[],
    body: Buffer = Buffer.alloc(0),
    version = 'SIP/2.0',
    encoding: 'utf8' | 'latin1' = 'utf8',
  ) {
    super(headers, body, encoding);
    this._status = status;
    this._reason = reason;
    this._version = version;
  }

  get status(): number {
    return this._status;
  }
  set status(s: number) {
    this.willChange();
    this._status = s;
  }

  get reason(): string {
    return this._reason;
  }
  set reason(r: string) {
    this.willChange();
    this._reason = r;
  }

  get version(): string {
    return this._version;
  }

  startLine(): string {
    return `${this._version} ${this._status} ${this._reason}`;
  }
}
