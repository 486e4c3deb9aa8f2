/**
 * The journal of active calls: what the B2BUA tells it so that, after a restart, the server
 * can say which calls were lost (issue "A server restart keeps agents' logins and says which
 * calls were lost"). SIP dialogs themselves are not restored: the media and transactions are
 * gone with the process, so a lost call is only reported, never resumed.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../util/logger.js';
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

/**
 * Reports the calls the previous process lost, once, at start: a warning per call and the
 * counter `sipserver_calls_lost_in_restart_total{cause}` in `registry`.
 */
export function reportLostCalls(lost: readonly LostCall[], logger: Logger, registry: Registry): void {
  const counter = new Counter({
    name: 'sipserver_calls_lost_in_restart_total',
    help: 'Calls that were active when the previous server process stopped (counted at start)',
    labelNames: ['cause'],
    registers: [registry],
  });
  for (const c of lost) {
    logger.warn(
      {
        layer: 'calls',
        connId: c.connId,
        parties: c.parties,
        ani: c.ani,
        dnis: c.dnis,
        startedAt: c.startedAt,
        cause: c.cause,
      },
      'call lost in restart',
    );
    counter.inc({ cause: c.cause });
  }
}
