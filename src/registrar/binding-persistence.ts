import type { Binding } from './binding.js';

/** Where bindings survive a restart. Implementations may write behind (batching). */
export interface BindingPersistence {
  /** Every stored binding (the caller drops expired ones). */
  loadAll(): Binding[];
  /** Insert or replace the binding (dn, key). */
  save(binding: Binding): void;
  /** Remove the binding (dn, key). */
  remove(dn: string, key: string): void;
  /** Write everything pending now. */
  flush(): void;
  /** Flush and release. */
  close(): void;
}

/** Persistence that keeps nothing (tests, benchmarks without disk). */
export const noPersistence: BindingPersistence = {
  loadAll: () => [],
  save: () => undefined,
  remove: () => undefined,
  flush: () => undefined,
  close: () => undefined,
};
