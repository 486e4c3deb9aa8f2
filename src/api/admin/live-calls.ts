/**
 * The live calls as the contact-centre bus shows them (`GET /api/calls`, the console stream):
 * each call event updates the state of one of the server's DNs on a call; a call ends when its
 * last DN released it.
 */
import type { CallDomainEvent } from '../../contact-center/events.js';
import type { ActiveCall, ActiveCallState } from './live-types.js';

const RANK: Record<ActiveCallState, number> = { dialing: 0, ringing: 1, held: 2, established: 3 };

const PARTY_STATE: Partial<Record<CallDomainEvent['name'], ActiveCallState>> = {
  EventDialing: 'dialing',
  EventNetworkReached: 'dialing',
  EventRinging: 'ringing',
  EventEstablished: 'established',
  EventRetrieved: 'established',
  EventHeld: 'held',
};

const PARTY_GONE = new Set<CallDomainEvent['name']>(['EventReleased', 'EventAbandoned', 'EventDestinationBusy']);

interface Tracked {
  call: ActiveCall;
  /** The server's DNs on the call and their state. */
  dns: Map<string, ActiveCallState>;
}

/** What one event did to the calls. */
export type CallChange = { changed: ActiveCall } | { ended: string } | undefined;

/** Follows call events into a table of live calls. */
export class LiveCalls {
  private readonly calls = new Map<string, Tracked>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Applies one call event; says which call changed or ended (undefined: nothing visible changed). */
  apply(e: CallDomainEvent): CallChange {
    let t = this.calls.get(e.connId);
    if (PARTY_GONE.has(e.name)) {
      if (!t) return undefined;
      t.dns.delete(e.thisDN);
      if (t.dns.size > 0) return { changed: this.refresh(t) };
      this.calls.delete(e.connId);
      return { ended: e.connId };
    }
    const state = PARTY_STATE[e.name];
    if (!t) {
      if (!state) return undefined;
      t = {
        call: { connId: e.connId, callType: e.callType, state, parties: [], start: new Date(this.now()).toISOString() },
        dns: new Map(),
      };
      this.calls.set(e.connId, t);
    }
    if (state) t.dns.set(e.thisDN, state);
    for (const p of [e.thisDN, e.otherDN]) if (p && !t.call.parties.includes(p)) t.call.parties.push(p);
    if (e.ani !== undefined) t.call.ani = e.ani;
    if (e.dnis !== undefined) t.call.dnis = e.dnis;
    return { changed: this.refresh(t) };
  }

  /** Forgets every call (the server has none left); returns their connIds. */
  clear(): string[] {
    const ids = [...this.calls.keys()];
    this.calls.clear();
    return ids;
  }

  /** Number of calls followed. */
  get size(): number {
    return this.calls.size;
  }

  /** Every live call, oldest first. */
  list(): ActiveCall[] {
    return [...this.calls.values()].map((t) => ({ ...t.call, parties: [...t.call.parties] }));
  }

  private refresh(t: Tracked): ActiveCall {
    let best: ActiveCallState = 'dialing';
    for (const s of t.dns.values()) if (RANK[s] > RANK[best]) best = s;
    t.call.state = best;
    return { ...t.call, parties: [...t.call.parties] };
  }
}
