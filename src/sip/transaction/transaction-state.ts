/**
 * States of the four transaction state machines (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1,
 * §17.2.2) plus the `Accepted` state that RFC 6026 §7.1/§7.2 adds to both INVITE machines.
 */
export enum TransactionState {
  /** INVITE client: request sent, waiting for any response (RFC 3261 §17.1.1.2). */
  Calling = 'Calling',
  /** Non-INVITE client and server: request sent / received, nothing else yet. */
  Trying = 'Trying',
  /** Provisional response received (client) or sent / pending (server). */
  Proceeding = 'Proceeding',
  /** Non-2xx final response received (client) or sent (server); absorbing retransmissions. */
  Completed = 'Completed',
  /** INVITE server only: ACK received for a non-2xx final response (RFC 3261 §17.2.1). */
  Confirmed = 'Confirmed',
  /** INVITE client and server after a 2xx (RFC 6026 §7.1, §7.2). */
  Accepted = 'Accepted',
  /** Done; the transaction is removed from the manager. */
  Terminated = 'Terminated',
}

/** Which of the four machines a transaction is. */
export type TransactionKind = 'ict' | 'nict' | 'ist' | 'nist';
