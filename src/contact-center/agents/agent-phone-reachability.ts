/**
 * What agents and routing need from reachability (`src/reachability`), as a narrow port
 * (behaviour §3, §5, §7, §12.3).
 */
export interface AgentPhoneReachability {
  /** True when some softswitch's prefix matches `phone` (behaviour §3.3 `selectSoftswitch != NONE`). */
  hasSoftswitchFor(phone: string): boolean;
  /**
   * Binds the normalised `phone` to `dn` for the login session: calls for `dn` then go to the
   * phone through its softswitch (behaviour §7). May throw if reachability refuses it.
   */
  bindAgentPhone(dn: string, phone: string): void;
  /** Drops the session binding of `dn` (logout, behaviour §7). */
  unbindAgentPhone(dn: string): void;
  /** True when a call for `dn` can be delivered now: reachable and in service (behaviour §12.3). */
  isAvailable(dn: string): boolean;
  /** Optional: service changes of DNs (OOS / back in service); returns an unsubscribe function. */
  onServiceChange?(listener: (dn: string, inService: boolean) => void): () => void;
}
