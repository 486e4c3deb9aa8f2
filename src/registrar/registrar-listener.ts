import type { Binding } from './binding.js';

/** Why a DN lost its last binding. */
export type UnregisterReason = 'expired' | 'unregistered' | 'deconfigured';

/**
 * Domain events of the registrar (delegate interface, not an emitter). The CTI layer turns
 * them into `EventDNBackInService` / `EventDNOutOfService` (behaviour §3.5, §12.3).
 */
export interface RegistrarListener {
  /** The DN went from no binding to at least one (RFC 3261 §10.3 step 7 added a binding). */
  registered?(dn: string, binding: Binding): void;
  /** The DN has no binding any more. */
  unregistered?(dn: string, reason: UnregisterReason): void;
  /** Any change of the DN's bindings (add, refresh, remove), for status views. */
  bindingsChanged?(dn: string): void;
}
