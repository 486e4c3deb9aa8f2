/**
 * Dialogs indexed by their identifier, for matching in-dialog requests (RFC 3261 §12.2.2).
 */
import type { SipRequest, SipResponse } from '../message/types.js';
import { dialogKey, tagOf } from './dialog-id.js';

/** A map from dialog id to whatever the owner keeps per dialog (usually the dialog itself or a call leg). */
export class DialogStore<T> {
  private readonly byKey = new Map<string, T>();

  get size(): number {
    return this.byKey.size;
  }

  add(key: string, value: T): void {
    this.byKey.set(key, value);
  }

  delete(key: string): boolean {
    return this.byKey.delete(key);
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  values(): IterableIterator<T> {
    return this.byKey.values();
  }

  /**
   * The dialog a received request belongs to: Call-ID, To tag as our local tag, From tag as the
   * remote tag (RFC 3261 §12.2.2). A request without a To tag is out of dialog: undefined.
   */
  matchRequest(request: SipRequest): T | undefined {
    const localTag = tagOf(request.to.params);
    if (localTag === undefined) return undefined;
    return this.byKey.get(dialogKey({ callId: request.callId, localTag, remoteTag: tagOf(request.from.params) ?? '' }));
  }

  /** The dialog a received response belongs to: From tag = ours, To tag = the peer's (RFC 3261 §12.1.2). */
  matchResponse(response: SipResponse): T | undefined {
    const localTag = tagOf(response.from.params);
    const remoteTag = tagOf(response.to.params);
    if (localTag === undefined || remoteTag === undefined) return undefined;
    return this.byKey.get(dialogKey({ callId: response.callId, localTag, remoteTag }));
  }
}
