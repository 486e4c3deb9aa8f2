import type { Clock, TimerHandle } from '../../util/clock.js';

/**
 * `agent-desktop-grace` (application option, seconds; default 60, 0 = never) in milliseconds:
 * how long an agent stays logged in once its last desktop connection closed.
 */
export function desktopGraceMsFromOptions(options: Readonly<Record<string, string>>): number {
  const raw = options['agent-desktop-grace'];
  const n = raw === undefined || raw === '' ? 60 : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : 60_000;
}

/** What {@link AgentDisconnectGrace} needs from the agents and calls. */
export interface AgentGraceDeps {
  readonly clock: Clock;
  /** `agent-desktop-grace` in milliseconds; 0 = never log out on disconnect. */
  readonly graceMs: number;
  /** The DN the agent is logged in on, or undefined. */
  dnOf(agentId: string): string | undefined;
  /** True while the DN is a party of a live call. */
  hasCalls(dn: string): boolean;
  /** Logs the agent out of `dn` (EventAgentLogout to the DN's subscribers). */
  logout(agentId: string, dn: string): void;
}

/**
 * The grace period of an agent whose desktop went away (docs/agent-desktop.md): when the last
 * agent-scope connection of an agent logged in by such a connection closes, a timer of
 * `agent-desktop-grace` starts; a new RequestOpen by that agent cancels it; when it fires the
 * agent is logged out, or, while on a call, as soon as its DN has no call left. Logins made by
 * application-scope connections (integrations) are never logged out here.
 */
export class AgentDisconnectGrace {
  /** Agents logged in by one of their own (agent-scope) connections. */
  private readonly desktopLogins = new Set<string>();
  private readonly timers = new Map<string, TimerHandle>();
  /** Agents whose grace ran out while on a call: logged out when the DN's last call ends. */
  private readonly afterCall = new Set<string>();
  private closed = false;

  constructor(private readonly deps: AgentGraceDeps) {}

  /** Agents whose timer runs or who wait for the end of their call. */
  get pending(): number {
    return this.timers.size + this.afterCall.size;
  }

  /** The agent logged in: by its own connection (`byDesktop`) or by an application. */
  loggedIn(agentId: string, byDesktop: boolean): void {
    if (byDesktop) this.desktopLogins.add(agentId);
    else {
      this.desktopLogins.delete(agentId);
      this.cancel(agentId);
    }
  }

  /** The agent logged out (by any means): nothing left to do for it. */
  loggedOut(agentId: string): void {
    this.desktopLogins.delete(agentId);
    this.cancel(agentId);
  }

  /** A RequestOpen by the agent succeeded: its desktop is back. */
  opened(agentId: string): void {
    this.cancel(agentId);
  }

  /** The last agent-scope connection of the agent closed. */
  lastConnectionClosed(agentId: string): void {
    if (this.closed || this.deps.graceMs <= 0 || !this.desktopLogins.has(agentId)) return;
    if (this.deps.dnOf(agentId) === undefined) return;
    this.cancel(agentId);
    this.timers.set(
      agentId,
      this.deps.clock.setTimeout(() => this.expire(agentId), this.deps.graceMs),
    );
  }

  /** A call on `dn` ended: logs out an agent of that DN waiting for it, once no call is left. */
  callEnded(dn: string): void {
    for (const agentId of [...this.afterCall]) {
      if (this.deps.dnOf(agentId) === dn) this.tryLogout(agentId);
    }
  }

  /** Stops every timer, and starts none from now on (server shutdown: logins persist). */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) this.deps.clock.clearTimeout(t);
    this.timers.clear();
    this.afterCall.clear();
  }

  private expire(agentId: string): void {
    this.timers.delete(agentId);
    this.afterCall.add(agentId);
    this.tryLogout(agentId);
  }

  private tryLogout(agentId: string): void {
    const dn = this.deps.dnOf(agentId);
    if (dn === undefined) {
      this.afterCall.delete(agentId);
      return;
    }
    if (this.deps.hasCalls(dn)) return;
    this.afterCall.delete(agentId);
    this.desktopLogins.delete(agentId);
    this.deps.logout(agentId, dn);
  }

  private cancel(agentId: string): void {
    this.deps.clock.clearTimeout(this.timers.get(agentId));
    this.timers.delete(agentId);
    this.afterCall.delete(agentId);
  }
}
