/**
 * Incremental index normalised number → DN (interfaces §2: numbers are normalised; two DNs
 * with the same normalised number cannot exist). Lookups accept the number as written.
 */
import type { DnConfig } from './config-model.js';
import { normaliseNumber } from './number-normalise.js';

/** The number → DN map, updated per change, never rebuilt. Iterates in configuration order. */
export class DnNumberIndex {
  private readonly map = new Map<string, DnConfig>();

  /** Number of DNs. */
  get size(): number {
    return this.map.size;
  }

  /** The DN for a number, as written or normalised. */
  get(number: string): DnConfig | undefined {
    return this.map.get(number) ?? this.map.get(normaliseNumber(number));
  }

  /** True when a DN with this (normalised) number exists. */
  has(number: string): boolean {
    return this.get(number) !== undefined;
  }

  /** Applies one DN change (old and new value, null = absent). */
  applyDnChange(old: DnConfig | null, neu: DnConfig | null): void {
    if (neu) this.map.set(neu.number, neu);
    else if (old) this.map.delete(old.number);
  }

  /** DNs in configuration order. */
  values(): IterableIterator<DnConfig> {
    return this.map.values();
  }
}
