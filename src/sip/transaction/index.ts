/** Public surface of the transaction layer (RFC 3261 §17). */
export { TransactionState, type TransactionKind } from './transaction-state.js';
export { defaultTimerSettings, resolveTimerSettings, type TimerSettings } from './transaction-timers.js';
export type {
  ClientTransactionSender,
  ClientTransactionUser,
  ServerTransactionSender,
  ServerTransactionUser,
  TransactionContext,
} from './transaction-types.js';
export { Transaction, type TimerName } from './transaction.js';
export { InviteClientTransaction } from './transaction-client-invite.js';
export { NonInviteClientTransaction } from './transaction-client-non-invite.js';
export { InviteServerTransaction } from './transaction-server-invite.js';
export { NonInviteServerTransaction } from './transaction-server-non-invite.js';
export {
  TransactionManager,
  type ClientTransaction,
  type ServerTransaction,
  type TransactionManagerDelegate,
  type TransactionManagerOptions,
} from './transaction-manager.js';
export { clientTransactionKey, serverTransactionKey, hasRfc3261Branch, MAGIC_COOKIE } from './transaction-key.js';
export { buildNon2xxAck } from './build-ack.js';
export { buildCancel } from './build-cancel.js';
