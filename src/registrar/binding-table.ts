import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Binding } from './binding.js';
import { noPersistence, type BindingPersistence } from './binding-persistence.js';
import type { BindingReplica, RemoteBindingChange } from './binding-replica.js';
import { ExpiryHeap } from './expiry-heap.js';
import type { RegistrarListener, UnregisterReason } from './registrar-listener.js';

/** A change to one binding, applied atomically with others (RFC 3261 §10.3 step 7). */
export type BindingChange = { op: 'put'; binding: Binding } | { op: 'remove'; dn: string; key: string };

const MAX_TIMER_MS = 2_000_000_000;

/**
 * The location service: bindings per DN, expiry through one min-heap and one Clock timer,
 * persistence, and the registered/unregistered events (RFC 3261 §10.3).
 */
export class BindingTable {
  private readonly byDn = new Map<string, Binding[]>();
  private readonly heap = new ExpiryHeap();
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;
  private count = 0;
  private readonly listeners: RegistrarListener[] = [];
  private replica: BindingReplica | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly persistence: BindingPersistence = noPersistence,
    private readonly logger?: Logger,
  ) {}

  /** Subscribe to domain events; returns an unsubscribe function. */
  addListener(l: RegistrarListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Share the changes of this node's REGISTERs with the other nodes of a cluster. */
  replicateTo(replica: BindingReplica | undefined): void {
    this.replica = replica;
  }

  /** Total number of bindings. */
  get size(): number {
    return this.count;
  }

  /** Current (non-expired) bindings of a DN, most recently refreshed first. */
  get(dn: string): readonly Binding[] {
    const list = this.byDn.get(dn);
    if (!list) return [];
    const now = this.clock.now();
    // The usual DN has one phone: no filter and sort closures for it.
    if (list.length === 1) return list[0].expiresAt > now ? [list[0]] : [];
    return list.filter((b) => b.expiresAt > now).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /** Every DN with at least one binding. */
  dns(): IterableIterator<string> {
    return this.byDn.keys();
  }

  /** Load persisted bindings, dropping expired ones (run once at start). */
  restore(): number {
    const now = this.clock.now();
    let n = 0;
    for (const b of this.persistence.loadAll()) {
      if (b.expiresAt <= now) {
        this.persistence.remove(b.dn, b.key);
        continue;
      }
      this.insert(b);
      n++;
    }
    this.persistence.flush();
    this.arm();
    return n;
  }

  /**
   * Apply changes of one REGISTER as one unit (all were validated beforehand) and emit events.
   */
  apply(dn: string, changes: readonly BindingChange[]): void {
    const before = this.byDn.get(dn)?.length ?? 0;
    for (const c of changes) {
      if (c.op === 'put') {
        this.insert(c.binding);
        this.persistence.save(c.binding);
      } else {
        this.delete(c.dn, c.key);
        this.persistence.remove(c.dn, c.key);
      }
    }
    this.arm();
    const after = this.byDn.get(dn)?.length ?? 0;
    if (this.replica) {
      const at = this.clock.now();
      this.replica.publish(
        dn,
        changes.map((c) => (c.op === 'put' ? c : { op: 'remove', dn: c.dn, key: c.key, at })),
      );
    }
    this.emitChange(dn, before, after, 'unregistered');
  }

  /**
   * Changes another node made (docs/cluster.md): applied like a REGISTER's, without persisting
   * them here (the node that took the REGISTER persists them) and without sharing them again. A
   * change older than what this table holds for the binding (a late message) is ignored; an
   * already expired binding is not added.
   */
  applyRemote(dn: string, changes: readonly RemoteBindingChange[]): void {
    const before = this.byDn.get(dn)?.length ?? 0;
    const now = this.clock.now();
    for (const c of changes) {
      const held = this.byDn.get(dn)?.find((b) => b.key === (c.op === 'put' ? c.binding.key : c.key));
      if (c.op === 'put') {
        if (c.binding.dn !== dn || c.binding.expiresAt <= now) continue;
        if (held && held.updatedAt > c.binding.updatedAt) continue;
        this.insert(c.binding);
      } else if (held && held.updatedAt <= c.at) {
        this.delete(dn, c.key);
      }
    }
    this.arm();
    const after = this.byDn.get(dn)?.length ?? 0;
    this.emitChange(dn, before, after, 'unregistered');
  }

  /** Remove every binding of a DN (configuration change: DN gone or no longer `contact = *`). */
  removeDn(dn: string, reason: UnregisterReason): void {
    const list = this.byDn.get(dn);
    if (!list) return;
    const before = list.length;
    for (const b of [...list]) {
      this.delete(dn, b.key);
      this.persistence.remove(dn, b.key);
    }
    this.emitChange(dn, before, 0, reason);
  }

  /** Stop the expiry timer and flush persistence. */
  close(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.persistence.close();
  }

  private insert(b: Binding): void {
    let list = this.byDn.get(b.dn);
    if (!list) {
      list = [];
      this.byDn.set(b.dn, list);
    }
    const i = list.findIndex((x) => x.key === b.key);
    if (i >= 0) list[i] = b;
    else {
      list.push(b);
      this.count++;
    }
    this.heap.push({ at: b.expiresAt, dn: b.dn, key: b.key });
    if (this.heap.size > 2 * this.count + 1024) {
      this.heap.compact((e) => this.byDn.get(e.dn)?.some((x) => x.key === e.key && x.expiresAt === e.at) ?? false);
    }
  }

  private delete(dn: string, key: string): void {
    const list = this.byDn.get(dn);
    if (!list) return;
    const i = list.findIndex((x) => x.key === key);
    if (i < 0) return;
    list.splice(i, 1);
    this.count--;
    if (list.length === 0) this.byDn.delete(dn);
  }

  private emitChange(dn: string, before: number, after: number, reason: UnregisterReason): void {
    for (const l of this.listeners) {
      try {
        l.bindingsChanged?.(dn);
        if (before === 0 && after > 0) l.registered?.(dn, this.byDn.get(dn)![0]);
        if (before > 0 && after === 0) l.unregistered?.(dn, reason);
      } catch (err) {
        this.logger?.error({ err, dn }, 'registrar listener failed');
      }
    }
  }

  /** (Re)arm the single expiry timer for the earliest entry. */
  private arm(): void {
    const top = this.heap.peek();
    if (!top) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDue = Infinity;
      return;
    }
    if (this.timer && this.timerDue <= top.at) return;
    this.clock.clearTimeout(this.timer);
    this.timerDue = top.at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, top.at - this.clock.now()));
    this.timer = this.clock.setTimeout(() => this.expire(), delay);
  }

  private expire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = this.clock.now();
    const touched = new Map<string, number>();
    for (let guard = 0; guard < 1_000_000; guard++) {
      const top = this.heap.peek();
      if (!top || top.at > now) break;
      this.heap.pop();
      const list = this.byDn.get(top.dn);
      const b = list?.find((x) => x.key === top.key);
      if (!b || b.expiresAt !== top.at) continue; // refreshed or removed since
      if (!touched.has(top.dn)) touched.set(top.dn, list!.length);
      this.delete(top.dn, top.key);
      this.persistence.remove(top.dn, top.key);
      this.logger?.info({ dn: top.dn, contact: b.contact }, 'registration expired');
    }
    for (const [dn, before] of touched) this.emitChange(dn, before, this.byDn.get(dn)?.length ?? 0, 'expired');
    this.arm();
  }
}
