/**
 * Dialog identifiers (RFC 3261 §12: Call-ID + local tag + remote tag).
 */

/** The identifier of a dialog as seen from this side (RFC 3261 §12). */
export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

/** A string key for maps. Tags are compared case-sensitively, as the Call-ID (RFC 3261 §19.3, §20.8). */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\u0000${id.localTag}\u0000${id.remoteTag}`;
}

/** The `tag` parameter of a From/To header value, or undefined (RFC 3261 §19.3). */
export function tagOf(params: Array<[string, string | null]>): string | undefined {
  for (const [name, value] of params) {
    if (name.toLowerCase() === 'tag') return value ?? undefined;
  }
  return undefined;
}
