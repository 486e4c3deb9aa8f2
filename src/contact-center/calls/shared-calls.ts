/**
 * Calls that outlive their node (docs/cluster.md, "Calls of a dead node"). In a cluster each node
 * keeps a record of its established calls where every node can read it (the port
 * {@link SharedCallStore}; Redis in `src/cluster`): for each leg, the dialog's state (RFC 3261
 * §12.1) and transport. When the node dies, its calls go on: no node relays their media. What is
 * left to do is to end them properly once a party hangs up, and to keep their agents busy until
 * then:
 *
 * - the node that takes the dead node's agents over takes its call records too, as **orphans**: an
 *   agent on a routed orphan call stays Busy, and its DN counts as on a call;
 * - the parties' in-dialog requests reach a live node (Kamailio sends a request for a dead node
 *   to another one); a node that gets a request for a dialog it does not hold looks the dialog
 *   up. A BYE is answered 200 at once; once the call's node is known dead, the node that wins the
 *   record (compare-and-delete) sends BYE to the other parties from their stored dialogs and
 *   tells the cluster; the holder of the orphan then reports EventReleased on the call's DNs, which
 *   ends the agent's Busy state like any call's end.
 *
 * Other requests in an orphan dialog cannot be relayed (nothing holds the call): a re-INVITE or
 * UPDATE gets 488 (the session is unchanged, RFC 3261 §14.2), OPTIONS 200, the rest 403. The
 * holder asks the parties of its orphans every `cluster-orphan-check` seconds with an in-dialog
 * OPTIONS: one that answers 481 or nothing has lost the call, which is then ended for the others.
 */
import type { DialogInit } from '../../sip/dialog/dialog.js';
import { tagOf } from '../../sip/dialog/dialog-id.js';
import type { UasContext } from '../../sip/dialog/dialog-stack-port.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { TransportProtocol } from '../../sip/message/types.js';
import type { Logger } from '../../util/logger.js';
import type { CallType, ContactCenterEventBus } from '../events.js';
import { CallState, type Call } from './call.js';
import type { CallJournal } from './call-journal.js';

/** One party of a shared call record. */
export interface SharedLeg {
  /** The party's internal DN, if it is one. */
  readonly dn?: string;
  /** The party's number as the others see it. */
  readonly address: string;
  /** The call reached this party through a routing point. */
  readonly routed?: boolean;
  readonly transport: TransportProtocol;
  /** The leg's dialog as the call's node held it ({@link Dialog.snapshot}). */
  readonly dialog: DialogInit;
}

/** What a node shares of one of its established calls. */
export interface SharedCallRecord {
  readonly connId: string;
  readonly callType: CallType;
  readonly ani?: string;
  readonly dnis?: string;
  /** The established legs. */
  readonly legs: readonly SharedLeg[];
}

/** A record as the store holds it: who holds the call now, and whether its node died. */
export interface StoredCall {
  readonly record: SharedCallRecord;
  /** The record's stored text: {@link SharedCallStore.claim} deletes it only if unchanged. */
  readonly text: string;
  /** The node that holds the call: its own node, or the node that took it over. */
  readonly holder: string;
  /** True once taken over from a dead node. */
  readonly orphan: boolean;
}

/** Where the nodes of a cluster keep their call records (Redis: `src/cluster/redis-shared-calls.ts`). */
export interface SharedCallStore {
  /** This node's name. */
  readonly self: string;
  /** Whether `node` holds a lease now. */
  isAlive(node: string): boolean;
  /**
   * Keeps (or replaces) the record of a call this node holds; `stale`: Call-IDs no longer in it;
   * `orphan`: a call taken over from a dead node. Never throws.
   */
  put(record: SharedCallRecord, stale: readonly string[], orphan?: boolean): void;
  /** Forgets a record of this node (the call ended here). Never throws. */
  remove(connId: string, callIds: readonly string[]): void;
  /** The record of the call that has a leg with this Call-ID. */
  find(callId: string): Promise<StoredCall | undefined>;
  /** Deletes the record if it is still `stored`: true when this node won it. */
  claim(stored: StoredCall): Promise<boolean>;
  /** Marks the records of a dead node as orphans held by this node; answers them. */
  takeOver(dead: string): Promise<SharedCallRecord[]>;
  /** Which of these connIds still have a record. */
  exist(connIds: readonly string[]): Promise<boolean[]>;
  /** Tells every node that an orphan call ended (its holder reports the release). Never throws. */
  announceEnded(connId: string): void;
  /** Called with the connId of every orphan call some node ended (this node's included). */
  onEnded(listener: (connId: string) => void): void;
}

/** Construction options of {@link SharedCalls}. */
export interface SharedCallsOptions {
  readonly ua: DialogUserAgent;
  readonly bus: ContactCenterEventBus;
  readonly logger: Logger;
  /** The B2BUA's calls (written again when the store lost them). */
  readonly calls: () => Iterable<Call>;
  /** How long a node waits for a call's node to be known dead before giving its BYE up (ms; default 30 s). */
  readonly waitForDeathMs?: number;
  /** Between two looks at the record while waiting (ms; default 500). */
  readonly pollMs?: number;
}

/**
 * CSeq numbers skipped when ending a stored dialog: the call's node may have sent in-dialog
 * requests (a hold's re-INVITE) after its record was last written.
 */
const CSEQ_GAP = 100;

/** What one call's record was last written with. */
interface Written {
  readonly fingerprint: string;
  readonly callIds: readonly string[];
}

/** This node's side of the shared calls: a {@link CallJournal} of the B2BUA, plus the orphans it holds. */
export class SharedCalls implements CallJournal {
  private store: SharedCallStore | undefined;
  private readonly written = new Map<string, Written>();
  private readonly orphans = new Map<string, SharedCallRecord>();
  private readonly orphanDns = new Map<string, Set<string>>();
  /** Orphan connId → when its parties were last asked (performance.now()) and CSeq numbers used since the record. */
  private readonly checks = new Map<string, { at: number; used: number }>();
  private sweep: ReturnType<typeof setInterval> | undefined;
  private sweeping = false;
  private orphanCheckS: (() => number) | undefined;

  constructor(private readonly o: SharedCallsOptions) {}

  /**
   * Starts sharing this node's calls in `store`, and answering for the dialogs of dead nodes;
   * `orphanCheckS`: seconds between the in-dialog OPTIONS sent to the parties of the orphans held
   * here (`cluster-orphan-check`; 0: none), read at each tick.
   */
  attach(store: SharedCallStore, orphanCheckS?: () => number): void {
    this.store = store;
    this.orphanCheckS = orphanCheckS;
    store.onEnded((connId) => this.orphanEnded(connId));
    this.o.ua.useUnknownDialogHandler((ctx) => this.onUnknownDialog(ctx));
  }

  /** Stops (the node leaves the cluster). */
  detach(): void {
    this.o.ua.useUnknownDialogHandler(undefined);
    this.store = undefined;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
  }

  // ------------------------------------------------------------------ journal

  opened(): void {}

  changed(call: Call): void {
    if (!this.store || call.state !== CallState.Established) return;
    // Cheap first: most events of a call change nothing of its dialogs.
    let fingerprint = '';
    let legs = 0;
    for (const leg of call.liveLegs) {
      const s = leg.session;
      if (!s || !s.active) continue;
      const d = s.dialog;
      fingerprint += `${d.key}\u0000${d.localSeq ?? ''} `;
      legs++;
    }
    if (legs < 2) return;
    const before = this.written.get(call.connId);
    if (before?.fingerprint === fingerprint) return;
    const record = recordOf(call);
    const callIds = record.legs.map((l) => l.dialog.id.callId);
    this.written.set(call.connId, { fingerprint, callIds });
    this.store.put(record, before ? before.callIds.filter((id) => !callIds.includes(id)) : []);
  }

  closed(call: Call): void {
    const w = this.written.get(call.connId);
    if (!w) return;
    this.written.delete(call.connId);
    this.store?.remove(call.connId, w.callIds);
  }

  /** Writes every record this node holds again, its orphans included (Redis came back empty). */
  rewrite(): void {
    this.written.clear();
    for (const call of this.o.calls()) this.changed(call);
    for (const r of this.orphans.values()) this.store?.put(r, [], true);
  }

  // ------------------------------------------------------------------ orphans

  /**
   * Takes the calls of a dead node over (before its agents): they are held here as orphans.
   * @returns the connIds of those calls
   */
  async takeOver(dead: string): Promise<Set<string>> {
    if (!this.store) return new Set();
    const records = await this.store.takeOver(dead);
    for (const r of records) {
      this.orphans.set(r.connId, r);
      for (const l of r.legs) {
        if (!l.dn) continue;
        let set = this.orphanDns.get(l.dn);
        if (!set) this.orphanDns.set(l.dn, (set = new Set()));
        set.add(r.connId);
      }
    }
    if (records.length > 0) {
      this.o.logger.warn({ node: dead, calls: records.length }, 'calls of a dead node taken over (orphans)');
      // An announcement lost while Redis was away must not leave an agent Busy for ever.
      this.sweep ??= setInterval(() => void this.sweepOrphans(), 1000);
      this.sweep.unref?.();
    }
    return new Set(records.map((r) => r.connId));
  }

  /** True when `dn` is a party of an orphan call held here. */
  hasOrphanOn(dn: string): boolean {
    return this.orphanDns.has(dn);
  }

  /** Orphan calls held here. */
  get orphanCount(): number {
    return this.orphans.size;
  }

  private orphanEnded(connId: string): void {
    const r = this.orphans.get(connId);
    if (!r) return;
    this.orphans.delete(connId);
    this.checks.delete(connId);
    for (const l of r.legs) {
      if (!l.dn) continue;
      const set = this.orphanDns.get(l.dn);
      set?.delete(connId);
      if (set?.size === 0) this.orphanDns.delete(l.dn);
    }
    for (const l of r.legs) {
      if (!l.dn) continue;
      this.o.bus.publish({
        kind: 'call',
        name: 'EventReleased',
        thisDN: l.dn,
        connId,
        otherDN: r.legs.find((x) => x !== l)?.address,
        callType: r.callType,
        ani: r.ani,
        dnis: r.dnis,
        routed: l.routed || undefined,
      });
    }
    this.o.logger.info({ connId }, 'orphan call ended');
    if (this.orphans.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  /** Every second: orphans whose record is gone are released; due ones have their parties asked. */
  private async sweepOrphans(): Promise<void> {
    const store = this.store;
    if (!store || this.orphans.size === 0 || this.sweeping) return;
    this.sweeping = true;
    try {
      const ids = [...this.orphans.keys()];
      const exist = await store.exist(ids);
      ids.forEach((id, i) => {
        if (!exist[i]) this.orphanEnded(id);
      });
      const everyS = this.orphanCheckS?.() ?? 0;
      if (everyS > 0) await this.checkOrphans(everyS * 1000);
    } catch {
      // Redis away: next time
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Asks each party of the due orphans with an in-dialog OPTIONS: one that answers 481 or does not
   * answer has lost the call (a BYE that never came), which is then ended for the others.
   */
  private async checkOrphans(everyMs: number): Promise<void> {
    const now = performance.now();
    const due = [...this.orphans.values()].filter((r) => {
      const c = this.checks.get(r.connId);
      if (!c) this.checks.set(r.connId, { at: now, used: 0 });
      return c !== undefined && now - c.at >= everyMs;
    });
    await Promise.all(
      due.map(async (r) => {
        const c = this.checks.get(r.connId)!;
        c.at = now;
        c.used++;
        const answers = await Promise.all(
          r.legs.map((l) => this.o.ua.requestDetached(l.dialog, l.transport, 'OPTIONS', CSEQ_GAP + c.used)),
        );
        const gone = r.legs.find((_, i) => answers[i]!.status === 481 || answers[i]!.status === 408);
        if (!gone || !this.orphans.has(r.connId)) return;
        const stored = await this.store?.find(gone.dialog.id.callId);
        if (!stored || stored.record.connId !== r.connId) return;
        this.o.logger.info(
          { connId: r.connId, callId: gone.dialog.id.callId, status: answers[r.legs.indexOf(gone)]!.status },
          'a party of an orphan call no longer has it: ending the call',
        );
        await this.endOrphan(stored, gone);
      }),
    );
  }

  // ------------------------------------------------------------------ dialogs of other nodes

  private onUnknownDialog(ctx: UasContext): boolean {
    if (!this.store) return false;
    void this.answerForOtherNode(ctx).catch((err: unknown) => {
      this.o.logger.warn({ err, callId: ctx.request.callId }, 'in-dialog request of another node: lookup failed');
      if (!ctx.finalSent) ctx.reply(481, 'Call/Transaction Does Not Exist');
    });
    return true;
  }

  private async answerForOtherNode(ctx: UasContext): Promise<void> {
    const store = this.store!;
    const req = ctx.request;
    const stored = await store.find(req.callId);
    const localTag = tagOf(req.to.params);
    const remoteTag = tagOf(req.from.params) ?? '';
    const leg = stored?.record.legs.find(
      (l) => l.dialog.id.localTag === localTag && l.dialog.id.remoteTag === remoteTag,
    );
    if (!stored || !leg) {
      ctx.reply(481, 'Call/Transaction Does Not Exist');
      return;
    }
    switch (req.method) {
      case 'BYE':
        // The party has ended its side whatever happens to the rest (RFC 3261 §15.1.2).
        ctx.reply(200, 'OK');
        await this.endOrphan(stored, leg);
        return;
      case 'OPTIONS':
        ctx.reply(200, 'OK');
        return;
      case 'INVITE':
      case 'UPDATE':
        ctx.reply(488, 'Not Acceptable Here');
        return;
      default:
        ctx.reply(403, 'Forbidden (call of a failed node)');
    }
  }

  /**
   * One party of a stored call hung up: once the call's node is known dead (or the call is an
   * orphan already), win the record and send BYE to the other parties.
   */
  private async endOrphan(first: StoredCall, gone: SharedLeg): Promise<void> {
    const store = this.store!;
    const waitMs = this.o.waitForDeathMs ?? 30_000;
    const pollMs = this.o.pollMs ?? 500;
    let stored: StoredCall | undefined = first;
    const deadline = performance.now() + waitMs;
    while (stored && !stored.orphan && store.isAlive(stored.holder) && stored.holder !== store.self) {
      if (performance.now() > deadline) {
        this.o.logger.warn(
          { connId: stored.record.connId, node: stored.holder },
          'BYE for a call of a node that still holds its lease: the other parties were not told',
        );
        return;
      }
      await new Promise((r) => setTimeout(r, pollMs));
      stored = await store.find(gone.dialog.id.callId);
    }
    if (!stored || !(await store.claim(stored))) return; // another node ended it
    const connId = stored.record.connId;
    const checks = this.checks.get(connId);
    const others = stored.record.legs.filter((l) => l.dialog.id.callId !== gone.dialog.id.callId);
    this.o.logger.info({ connId, node: stored.holder, parties: others.length }, 'call of a dead node ended by a party');
    store.announceEnded(connId);
    this.orphanEnded(connId);
    await Promise.all(
      others.map(async (l) => {
        const r = await this.o.ua.endDetached(l.dialog, l.transport, CSEQ_GAP + (checks?.used ?? 0) + 1);
        if (r.status >= 300)
          this.o.logger.info(
            { connId, callId: l.dialog.id.callId, status: r.status },
            'BYE to a party of an orphan call',
          );
      }),
    );
  }
}

/** The record of an established call: its established legs with their dialogs. */
function recordOf(call: Call): SharedCallRecord {
  const legs: SharedLeg[] = [];
  for (const leg of call.liveLegs) {
    const s = leg.session;
    if (!s || !s.active) continue;
    legs.push({
      ...(leg.dn ? { dn: leg.dn } : {}),
      address: leg.address,
      ...(leg.routed ? { routed: true } : {}),
      transport: s.transport,
      dialog: s.dialog.snapshot(),
    });
  }
  return {
    connId: call.connId,
    callType: call.callType,
    ...(call.ani !== undefined ? { ani: call.ani } : {}),
    ...(call.dnis !== undefined ? { dnis: call.dnis } : {}),
    legs,
  };
}

/** Journals that are all told the same. */
export function bothJournals(a: CallJournal, b: CallJournal): CallJournal {
  return {
    opened(call) {
      a.opened(call);
      b.opened(call);
    },
    changed(call) {
      a.changed(call);
      b.changed(call);
    },
    closed(call) {
      a.closed(call);
      b.closed(call);
    },
  };
}
