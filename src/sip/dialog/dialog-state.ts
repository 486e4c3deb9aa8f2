/**
 * Dialog states and roles (RFC 3261 §12).
 */

/** State of a dialog (RFC 3261 §12: "early" after a 1xx with a To tag, "confirmed" after a 2xx). */
export enum DialogState {
  /** Created by a provisional response carrying a To tag (RFC 3261 §12.1). */
  Early = 'Early',
  /** Created or confirmed by a 2xx (RFC 3261 §12.1). */
  Confirmed = 'Confirmed',
  /** Ended by BYE, a non-2xx final to the initial INVITE, or an error (RFC 3261 §12.3, §15). */
  Terminated = 'Terminated',
}

/** Which side created the dialog: the UAC sent the dialog-creating request, the UAS received it (RFC 3261 §12.1). */
export type DialogRole = 'uac' | 'uas';
