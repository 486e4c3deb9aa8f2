import { isAgentDnType, type DnConfig } from '../config/config-model.js';
import { softswitchPrefixes } from '../config/softswitch-prefix-table.js';

/** What {@link SoftswitchDnIndex} reads besides the DN changes it is fed. */
export interface SoftswitchDnIndexDeps {
  /** The `agent-phone` bound to a DN (its calls are routed by that number, behaviour §7). */
  phoneOf(dn: string): string | undefined;
  /**
   * The softswitch a DN's calls prefer when all are in service (first softswitch candidate of its
   * routing number, behaviour §3.3), or undefined when it is not routed through a softswitch.
   */
  preferred(dn: string): string | undefined;
}

/** Per-DN entry: configuration order and the number its calls are routed by. */
interface Entry {
  /** Position in configuration order (the store's insertion order). */
  seq: number;
  /** Extension or ACD position: the only DN types `oos-propagate-to-dns` reports (behaviour §5.1). */
  agentType: boolean;
  /** The DN has a non-empty `contact` (static or `*`): not behind a softswitch unless an agent-phone is bound. */
  hasContact: boolean;
}

/**
 * Reverse index softswitch → DNs behind it, for `oos-propagate-to-dns` (behaviour §5.1): which
 * extensions / ACD positions get `outOfService`/`backInService` when a softswitch changes state.
 *
 * Every active softswitch prefix keeps the set of DNs whose routing number (agent-phone, else
 * the DN's own number when it has no `contact`) starts with it: the DNs whose longest-prefix
 * candidates (behaviour §3.3) include a softswitch with that prefix. {@link dnsBehind} filters
 * the sets of the softswitch's prefixes by the preferred softswitch, so a transition costs
 * O(DNs under its prefixes), not O(all DNs). Kept incrementally from DN changes (add, delete,
 * type/contact change, softswitch prefix change; priority changes need no update because the
 * sets do not depend on priority) and agent-phone bindings ({@link refresh}), never rebuilt.
 * A prefix that no softswitch had before is filled from the set of its longest active ancestor
 * prefix, or from every routed DN when it has none.
 */
export class SoftswitchDnIndex {
  private readonly entries = new Map<string, Entry>();
  private nextSeq = 0;
  /** DN → routing number, for the DNs that have one (agent types only). */
  private readonly routed = new Map<string, string>();
  /** Active softswitch prefix → DNs whose routing number starts with it. */
  private readonly byPrefix = new Map<string, Set<string>>();
  /** Active prefix → how many softswitches have it. */
  private readonly prefixUsers = new Map<string, number>();
  /** Softswitch DN → its normalised prefixes. */
  private readonly prefixesOf = new Map<string, string[]>();
  /** Prefix length → how many active prefixes have it (lengths to try when matching a number). */
  private readonly lengths = new Map<number, number>();

  constructor(private readonly deps: SoftswitchDnIndexDeps) {}

  /** Number of DNs indexed (every DN type). */
  get size(): number {
    return this.entries.size;
  }

  /** Applies one DN change (old and new value, null = absent), as the change feed gives it. */
  applyDnChange(old: DnConfig | null, neu: DnConfig | null): void {
    if (old && (!neu || neu.number !== old.number)) this.removeDn(old.number);
    if (!neu) return;
    // Softswitch prefixes: add the new ones before dropping the old ones, so that a prefix kept
    // by the change is never emptied and refilled.
    const before = this.prefixesOf.get(neu.number) ?? [];
    const after = softswitchPrefixes(neu);
    for (const p of after) this.usePrefix(p);
    for (const p of before) this.releasePrefix(p);
    if (after.length > 0) this.prefixesOf.set(neu.number, after);
    else this.prefixesOf.delete(neu.number);

    let e = this.entries.get(neu.number);
    if (!e) {
      e = { seq: this.nextSeq++, agentType: false, hasContact: false };
      this.entries.set(neu.number, e);
    }
    e.agentType = isAgentDnType(neu.type);
    e.hasContact = (neu.options.contact?.trim() ?? '') !== '';
    this.reroute(neu.number, e);
  }

  /** Re-reads the agent-phone binding of a DN (call after a bind or an unbind). */
  refresh(dn: string): void {
    const e = this.entries.get(dn);
    if (e) this.reroute(dn, e);
  }

  /**
   * The extensions / ACD positions whose preferred softswitch is `softswitch`, in configuration
   * order: exactly those the full walk "every DN whose preferred softswitch is this one" finds.
   */
  dnsBehind(softswitch: string): string[] {
    const prefixes = this.prefixesOf.get(softswitch);
    if (!prefixes) return [];
    const seen = new Set<string>();
    const out: string[] = [];
    for (const p of prefixes) {
      for (const dn of this.byPrefix.get(p) ?? []) {
        if (seen.has(dn)) continue;
        seen.add(dn);
        if (this.deps.preferred(dn) === softswitch) out.push(dn);
      }
    }
    if (prefixes.length > 1 || out.length > 1) out.sort((a, b) => this.entries.get(a)!.seq - this.entries.get(b)!.seq);
    return out;
  }

  /** DNs whose routing number starts with one of the softswitch's prefixes (before the preferred filter). */
  candidatesOf(softswitch: string): Set<string> {
    const out = new Set<string>();
    for (const p of this.prefixesOf.get(softswitch) ?? []) for (const dn of this.byPrefix.get(p) ?? []) out.add(dn);
    return out;
  }

  private removeDn(dn: string): void {
    const e = this.entries.get(dn);
    if (!e) return;
    this.setRoute(dn, undefined);
    for (const p of this.prefixesOf.get(dn) ?? []) this.releasePrefix(p);
    this.prefixesOf.delete(dn);
    this.entries.delete(dn);
  }

  private reroute(dn: string, e: Entry): void {
    let route: string | undefined;
    if (e.agentType) {
      const phone = this.deps.phoneOf(dn);
      route = phone ?? (e.hasContact ? undefined : dn);
    }
    this.setRoute(dn, route);
  }

  private setRoute(dn: string, route: string | undefined): void {
    const prev = this.routed.get(dn);
    if (prev === route) return;
    if (prev !== undefined) {
      for (const set of this.bucketsOf(prev)) set.delete(dn);
      this.routed.delete(dn);
    }
    if (route !== undefined) {
      for (const set of this.bucketsOf(route)) set.add(dn);
      this.routed.set(dn, route);
    }
  }

  /** The sets of the active prefixes that start `route`: O(number of distinct prefix lengths). */
  private *bucketsOf(route: string): Generator<Set<string>> {
    for (const len of this.lengths.keys()) {
      if (len > route.length) continue;
      const set = this.byPrefix.get(route.slice(0, len));
      if (set) yield set;
    }
  }

  private usePrefix(p: string): void {
    const n = this.prefixUsers.get(p) ?? 0;
    this.prefixUsers.set(p, n + 1);
    if (n > 0) return;
    // A new active prefix: its DNs are among those of its longest active ancestor prefix.
    let source: Iterable<string> | undefined;
    for (let len = p.length - 1; len >= 1 && !source; len--) source = this.byPrefix.get(p.slice(0, len));
    const set = new Set<string>();
    if (source) {
      for (const dn of source) if (this.routed.get(dn)!.startsWith(p)) set.add(dn);
    } else {
      for (const [dn, route] of this.routed) if (route.startsWith(p)) set.add(dn);
    }
    this.byPrefix.set(p, set);
    this.lengths.set(p.length, (this.lengths.get(p.length) ?? 0) + 1);
  }

  private releasePrefix(p: string): void {
    const n = (this.prefixUsers.get(p) ?? 1) - 1;
    if (n > 0) {
      this.prefixUsers.set(p, n);
      return;
    }
    this.prefixUsers.delete(p);
    this.byPrefix.delete(p);
    const c = (this.lengths.get(p.length) ?? 1) - 1;
    if (c > 0) this.lengths.set(p.length, c);
    else this.lengths.delete(p.length);
  }
}
