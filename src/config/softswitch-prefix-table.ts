/**
 * Incremental index of softswitch DNs by prefix (behaviour §3.3). Updated per DN change from
 * the change feed (`applyDnChange(old, new)`), never rebuilt; a lookup costs O(longest prefix).
 * Other layers (reachability) can keep their own instance fed by `ConfigStore.subscribe`.
 */
import type { DnConfig } from './config-model.js';
import { normaliseNumber } from './number-normalise.js';
import { splitList } from './option-table.js';

/** One softswitch that may serve a number, with the prefix that matched. */
export interface SoftswitchCandidate {
  /** The softswitch DN number (normalised name, e.g. `Softswitch`). */
  dn: string;
  /** The normalised prefix that matched. */
  prefix: string;
  /** `priority` option (lower preferred); Infinity when absent. */
  priority: number;
}

/** True when the DN is a softswitch: VoIP Service with `service-type = softswitch` (behaviour §3.1). */
export function isSoftswitch(dn: DnConfig | null | undefined): dn is DnConfig {
  return !!dn && dn.type === 'voip-service' && dn.options['service-type'] === 'softswitch';
}

/** Normalised prefixes of a softswitch DN (empty for any other DN). */
export function softswitchPrefixes(dn: DnConfig | null | undefined): string[] {
  if (!isSoftswitch(dn)) return [];
  const raw = dn.options.prefix;
  if (!raw) return [];
  return [
    ...new Set(
      splitList(raw)
        .map(normaliseNumber)
        .filter((p) => p !== ''),
    ),
  ];
}

function priorityOf(dn: DnConfig): number {
  const p = dn.options.priority;
  return p !== undefined && /^\d+$/.test(p) ? Number(p) : Infinity;
}

/** The softswitch prefix table. */
export class SoftswitchPrefixTable {
  /** prefix → softswitch DN number → priority */
  private readonly byPrefix = new Map<string, Map<string, number>>();
  /** softswitch DN number → its prefixes */
  private readonly prefixesOf = new Map<string, string[]>();
  /** prefix length → how many prefixes have it */
  private readonly lengths = new Map<number, number>();
  private maxLength = 0;

  /** Number of softswitches indexed. */
  get size(): number {
    return this.prefixesOf.size;
  }

  /** Applies one DN change (old and new value, null = absent). */
  applyDnChange(old: DnConfig | null, neu: DnConfig | null): void {
    if (old && this.prefixesOf.has(old.number)) this.remove(old.number);
    if (neu) {
      const prefixes = softswitchPrefixes(neu);
      if (prefixes.length > 0) this.add(neu.number, prefixes, priorityOf(neu));
    }
  }

  private add(dn: string, prefixes: string[], priority: number): void {
    this.prefixesOf.set(dn, prefixes);
    for (const p of prefixes) {
      let m = this.byPrefix.get(p);
      if (!m) this.byPrefix.set(p, (m = new Map()));
      m.set(dn, priority);
      this.lengths.set(p.length, (this.lengths.get(p.length) ?? 0) + 1);
      if (p.length > this.maxLength) this.maxLength = p.length;
    }
  }

  private remove(dn: string): void {
    const prefixes = this.prefixesOf.get(dn) ?? [];
    this.prefixesOf.delete(dn);
    let shrink = false;
    for (const p of prefixes) {
      const m = this.byPrefix.get(p);
      m?.delete(dn);
      if (m && m.size === 0) this.byPrefix.delete(p);
      const c = (this.lengths.get(p.length) ?? 1) - 1;
      if (c <= 0) {
        this.lengths.delete(p.length);
        if (p.length === this.maxLength) shrink = true;
      } else this.lengths.set(p.length, c);
    }
    if (shrink) this.maxLength = Math.max(0, ...this.lengths.keys());
  }

  /**
   * Every softswitch whose prefix is a string prefix of `number` (normalised here), ordered by
   * matching prefix length (longest first), then `priority` (lower first), then DN name
   * (behaviour §3.3). A softswitch appears once, with its longest matching prefix.
   */
  candidates(number: string): SoftswitchCandidate[] {
    const n = normaliseNumber(number);
    const out: SoftswitchCandidate[] = [];
    const seen = new Set<string>();
    for (let len = Math.min(this.maxLength, n.length); len >= 1; len--) {
      const p = n.slice(0, len);
      const m = this.byPrefix.get(p);
      if (!m) continue;
      const level: SoftswitchCandidate[] = [];
      for (const [dn, priority] of m) if (!seen.has(dn)) level.push({ dn, prefix: p, priority });
      level.sort((a, b) => a.priority - b.priority || (a.dn < b.dn ? -1 : a.dn > b.dn ? 1 : 0));
      for (const c of level) {
        seen.add(c.dn);
        out.push(c);
      }
    }
    return out;
  }

  /** The preferred softswitch for `number` (first candidate), ignoring service state. */
  select(number: string): string | undefined {
    const n = normaliseNumber(number);
    for (let len = Math.min(this.maxLength, n.length); len >= 1; len--) {
      const m = this.byPrefix.get(n.slice(0, len));
      if (!m) continue;
      let best: string | undefined;
      let bestPriority = Infinity;
      for (const [dn, priority] of m) {
        if (best === undefined || priority < bestPriority || (priority === bestPriority && dn < best)) {
          best = dn;
          bestPriority = priority;
        }
      }
      return best;
    }
    return undefined;
  }
}
