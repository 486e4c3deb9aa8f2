/**
 * What a CTI error means for the person at the desktop, by the server's error code
 * (`CTI_ERROR` in src/api/cti/cti-error-codes.ts, docs/cti-protocol.md): the codes are typed
 * from the server's table, so a code that does not exist there does not compile.
 */
import type { CtiErrorCode } from '../../../src/api/cti/cti-wire-types.js';
import { CtiRequestError } from './cti-client.js';

const WORDS: Partial<Record<CtiErrorCode, string>> = {
  1003: 'Wrong agent ID or password.',
  1014: 'Too many requests: wait a moment and try again.',
  1020: 'This place is not allowed for this agent.',
  1021: 'Unknown place: no such DN on this server.',
  1022: 'Another agent is logged in at this place.',
  1030: 'This agent is already logged in at another place.',
  1031: 'You are not logged in at this place.',
  1032: 'Not possible in the current state.',
  1033: 'This work mode is not possible here.',
  1040: 'Phone number invalid: use digits, with an optional leading +.',
  1041: 'Phone number invalid: it is an internal number of the switch.',
  1042: 'Phone number already used by another logged-in agent.',
  1043: 'Phone number not reachable: no softswitch serves it.',
  1050: 'This call no longer exists.',
  1051: 'Not supported for this phone or call.',
  1052: 'The call operation failed.',
  1099: 'Server error: see the server log.',
};

/** A sentence for an error of a CTI request (the server's own message for codes without one). */
export function describeCtiError(err: unknown): string {
  if (err instanceof CtiRequestError) {
    if (err.code === 0) return `Server unreachable: ${err.message}.`;
    const words = WORDS[err.code];
    return words ?? `${err.message} (error ${err.code}).`;
  }
  return err instanceof Error ? err.message : String(err);
}
