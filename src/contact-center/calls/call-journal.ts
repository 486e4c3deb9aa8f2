/**
 * The journal of active calls: what the B2BUA tells it so that, after a restart, the server
 * can say which calls were lost (issue "A server restart keeps agents' logins and says which
 * calls were lost"). SIP dialogs themselves are not restored: the media and transactions are
 * gone with the process, so a lost call is only reported, never resumed.
 */
import type { Call } from './call.js';

/** A call that was active when the server stopped (read back at the next start). */
export interface LostCall {
  connId: string;
  /** The parties as DN numbers (internal parties) or addresses (external ones), in leg order. */
  parties: string[];
  ani?: string;
  dnis?: string;
  callType: string;
  /** ISO time the call was created. */
  startedAt: string;
  /**
   * `crash`: the process ended without stopping (SIGKILL, power loss);
   * `shutdown`: an orderly stop released the call (BYE) on its way out.
   */
  cause: 'crash' | 'shutdown';
}

/** Where the B2BUA records call life (cheap: called on the signalling hot path). */
export interface CallJournal {
  /** A call was created. */
  opened(call: Call): void;
  /** The call's parties (or attributes) may have changed. */
  changed(call: Call): void;
  /** The call ended (no live leg left). */
  closed(call: Call): void;
}

/** A journal that records nothing (tests, in-memory servers). */
export const noCallJournal: CallJournal = {
  opened() {},
  changed() {},
  closed() {},
};

/** The parties of a call as the journal stores them: DN number, else the address. */
export function callParties(call: Call): string[] {
  const live = call.liveLegs;
  return (live.length > 0 ? live : call.legs).map((l) => l.dn ?? l.address);
}
