import { createHash, timingSafeEqual } from 'node:crypto';
import { isAgentDnType } from '../../config/config-model.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type {
  AgentDomainEvent,
  AgentEventName,
  AgentWorkMode,
  ContactCenterEvent,
  ContactCenterEventBus,
  EventOrigin,
} from '../events.js';
import { AgentError } from './agent-error.js';
import type { AgentPhoneReachability } from './agent-phone-reachability.js';
import { validateAgentPhone } from './agent-phone-validator.js';
import type { AgentSession } from './agent-session.js';
import type { AgentSessionRepository } from './agent-session-repository.js';
import { AgentState, type AgentStatus, LOGGED_OUT } from './agent-state.js';
import { type AgentInput, transitionAgent } from './agent-state-machine.js';
import type { ContactCenterDirectory, DirectoryAgent } from './contact-center-directory.js';

function samePassword(expected: string, given: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(expected), h(given));
}

/** A login as the CTI gateway (or any caller) asks for it. */
export interface AgentLoginRequest {
  readonly agentId: string;
  /** Checked when given; may be omitted by a connection that already authenticated. */
  readonly password?: string;
  readonly thisDN: string;
  readonly workMode?: AgentWorkMode;
  readonly reasonCode?: string;
  /** Raw `extensions.agent-phone`; when absent the agent's own `agent-phone` option is used. */
  readonly agentPhone?: string;
  /** True for application scope: any agent DN may be used, not only the agent's own `dn`. */
  readonly allowAnyDn?: boolean;
  /** Who makes the login ({@link AgentSession.loggedInBy}). */
  readonly loggedInBy?: 'agent' | 'application';
}

/**
 * Extensions other layers add to the agent events of a DN (behaviour §10.3: call control's
 * `nailed-up` state), asked when each event is published.
 */
export type AgentEventExtensions = (dn: string, event: AgentEventName) => Readonly<Record<string, string>> | undefined;

/** Called after every change of a session (`session` undefined after a logout). */
export type AgentSessionListener = (agentId: string, session: AgentSession | undefined, previous: AgentStatus) => void;

/** Construction parameters of {@link AgentService}. */
export interface AgentServiceOptions {
  readonly directory: ContactCenterDirectory;
  readonly reachability: AgentPhoneReachability;
  readonly bus: ContactCenterEventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where logins are persisted; none = in memory only. */
  readonly repository?: AgentSessionRepository;
}

/**
 * Agent sessions: login/logout on a DN, Ready/NotReady work modes, the Busy variants while on
 * routed calls (behaviour §12.2), session `agent-phone` bindings (behaviour §7), longest-idle
 * bookkeeping for the router, and persistence of logins across restarts.
 *
 * Busy tracking listens to the bus: a routed `EventEstablished` makes the agent Busy; the
 * `EventReleased`/`EventAbandoned` of that connId ends it. The router may also call
 * {@link routedCallEstablished} directly when a delivery is answered.
 */
export class AgentService {
  private readonly byAgent = new Map<string, AgentSession>();
  private readonly byDn = new Map<string, string>();
  private readonly listeners = new Set<AgentSessionListener>();
  private readonly unsubscribers: Array<() => void> = [];
  private eventExtensions: AgentEventExtensions | undefined;
  private loginGuard: ((agentId: string) => string | undefined) | undefined;

  constructor(private readonly opts: AgentServiceOptions) {
    this.unsubscribers.push(opts.bus.subscribe((e) => this.onDomainEvent(e)));
    const sub = opts.directory.subscribe?.(() => this.onConfigChange());
    if (sub) this.unsubscribers.push(sub);
  }

  /**
   * Add `provider`'s extensions to EventAgentLogin, EventAgentReady and EventAgentNotReady (set
   * by call control once it exists; it sits above this layer).
   */
  useEventExtensions(provider: AgentEventExtensions): void {
    this.eventExtensions = provider;
  }

  /** The configuration port this service reads. */
  get directory(): ContactCenterDirectory {
    return this.opts.directory;
  }

  /**
   * Reloads persisted logins (after a restart). Sessions whose agent or DN disappeared from the
   * configuration are dropped; Busy states become their after-call state (calls do not survive a
   * restart; the repository keeps no routed calls); an agent-phone that no longer binds is dropped with a warning, the login kept.
   * Emits no events (no desktop is connected yet).
   * @returns the number of sessions restored
   */
  restore(): number {
    const repo = this.opts.repository;
    if (!repo) return 0;
    let n = 0;
    for (const stored of repo.loadAll()) if (this.restoreOne(stored)) n++;
    return n;
  }

  /**
   * Takes over logins another node of a cluster held (docs/cluster.md), as {@link restore} does
   * after a restart: the agents stay logged in here, in the state they had, and are persisted
   * here. A Busy agent stays Busy on its routed calls that `liveCall` says go on (taken over
   * with the node; their EventReleased ends it as usual); with none left it is in its after-call
   * state. Emits no agent events (their desktops are not connected to this node yet); session
   * listeners are told.
   * @returns the sessions taken
   */
  adopt(sessions: readonly AgentSession[], liveCall?: (connId: string) => boolean): AgentSession[] {
    const out: AgentSession[] = [];
    for (const stored of sessions) {
      if (this.byAgent.has(stored.agentId)) continue;
      const routedCalls = liveCall ? stored.status.routedCalls.filter(liveCall) : [];
      const session = this.restoreOne({ ...stored, status: { ...stored.status, routedCalls } });
      if (!session) continue;
      out.push(session);
      this.notify(session.agentId, session, LOGGED_OUT);
    }
    return out;
  }

  /**
   * Drops a login from this node without logging the agent out (another node of a cluster owns
   * it now): no agent event; session listeners are told.
   */
  forget(agentId: string): void {
    const session = this.byAgent.get(agentId);
    if (!session) return;
    this.remove(session);
    this.notify(agentId, undefined, session.status);
  }

  /**
   * A check every login passes first (a cluster: the agent is logged in on another node): it
   * answers why the login is refused, or undefined.
   */
  useLoginGuard(guard: ((agentId: string) => string | undefined) | undefined): void {
    this.loginGuard = guard;
  }

  /** One persisted or adopted login, put back; undefined when it was dropped. */
  private restoreOne(stored: AgentSession): AgentSession | undefined {
    const repo = this.opts.repository;
    const agent = this.opts.directory.getAgent(stored.agentId);
    const dn = this.opts.directory.getDn(stored.dn);
    if (!agent || !dn || this.byDn.has(dn.number)) {
      this.opts.logger.warn({ agentId: stored.agentId, dn: stored.dn }, 'dropping persisted login: agent or DN gone');
      repo?.delete(stored.agentId);
      return undefined;
    }
    let status: AgentStatus = stored.status;
    if (status.routedCalls.length > 0) {
      // still on calls (taken over with a dead node): Busy until they end
    } else if (status.state === AgentState.BusyReady) {
      status =
        status.readyMode === 'AutoIn'
          ? { ...status, state: AgentState.Ready, workMode: 'AutoIn' }
          : { ...status, state: AgentState.AfterCallWork, workMode: 'AfterCallWork' };
    } else if (status.state === AgentState.BusyNotReady) status = { ...status, state: AgentState.NotReady };
    else if (status.state === AgentState.BusyAfterCallWork) status = { ...status, state: AgentState.AfterCallWork };
    let agentPhone = stored.agentPhone;
    if (agentPhone !== undefined) {
      try {
        this.opts.reachability.bindAgentPhone(dn.number, agentPhone);
      } catch (err) {
        this.opts.logger.warn(
          { agentId: stored.agentId, agentPhone, err },
          'persisted agent-phone no longer binds; dropped',
        );
        agentPhone = undefined;
      }
    }
    const session: AgentSession = { ...stored, dn: dn.number, status, agentPhone };
    this.put(session);
    repo?.save(session);
    return session;
  }

  /** Checks an agent's credentials (constant-time compare). @throws AgentError `bad-credentials` */
  authenticate(agentId: string, password: string): DirectoryAgent {
    const agent = this.opts.directory.getAgent(agentId);
    if (!agent || !samePassword(agent.password, password))
      throw new AgentError('bad-credentials', 'unknown agent or wrong password');
    return agent;
  }

  /**
   * Logs an agent in (behaviour §7 pseudo-code, §12.2). A repeated login of the same agent on
   * the same DN is accepted and re-reports the current state (several logins with the same
   * DN+AgentID are allowed [C:S17]).
   * @throws AgentError
   */
  login(req: AgentLoginRequest, origin?: EventOrigin): AgentSession {
    const { directory } = this.opts;
    const agent = directory.getAgent(req.agentId);
    if (!agent || (req.password !== undefined && !samePassword(agent.password, req.password))) {
      throw new AgentError('bad-credentials', 'unknown agent or wrong password');
    }
    const dnObj = directory.getDn(req.thisDN);
    if (!dnObj) throw new AgentError('unknown-dn', `DN ${req.thisDN} is not provisioned`);
    const dn = dnObj.number;
    if (!isAgentDnType(dnObj.type)) {
      throw new AgentError('dn-not-allowed', `agents cannot log in on a ${dnObj.type} DN`);
    }
    if (!req.allowAnyDn && directory.normaliseNumber(agent.dn) !== dn) {
      throw new AgentError('dn-not-allowed', `agent ${agent.id} may only log in on DN ${agent.dn}`);
    }
    const existing = this.byAgent.get(agent.id);
    const elsewhere = existing ? undefined : this.loginGuard?.(agent.id);
    if (elsewhere !== undefined) throw new AgentError('already-logged-in', elsewhere);
    if (existing) {
      if (existing.dn !== dn)
        throw new AgentError('already-logged-in', `agent ${agent.id} is logged in on DN ${existing.dn}`);
      const stateEvent: AgentEventName =
        existing.status.state === AgentState.Ready || existing.status.state === AgentState.BusyReady
          ? 'EventAgentReady'
          : 'EventAgentNotReady';
      this.emit(existing, ['EventAgentLogin', stateEvent], origin);
      return existing;
    }
    const holder = this.byDn.get(dn);
    if (holder !== undefined) throw new AgentError('dn-in-use', `another agent is logged in on DN ${dn}`);

    const rawPhone = req.agentPhone ?? agent.options['agent-phone'];
    let agentPhone: string | undefined;
    if (rawPhone !== undefined && rawPhone.trim() !== '') {
      agentPhone = validateAgentPhone(rawPhone, agent.id, directory, this.opts.reachability, (p) => this.phoneOwner(p));
    }
    const { status, events } = transitionAgent(LOGGED_OUT, {
      type: 'login',
      ...(req.workMode ? { workMode: req.workMode } : {}),
      ...(req.reasonCode ? { reasonCode: req.reasonCode } : {}),
    });
    if (agentPhone !== undefined) {
      try {
        this.opts.reachability.bindAgentPhone(dn, agentPhone);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        throw new AgentError(
          'agent-phone-invalid',
          `agent-phone refused: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    const now = this.opts.clock.now();
    const session: AgentSession = {
      agentId: agent.id,
      dn,
      status,
      agentPhone,
      loggedInAt: now,
      idleSince: now,
      ...(req.loggedInBy ? { loggedInBy: req.loggedInBy } : {}),
    };
    this.put(session);
    this.opts.repository?.save(session);
    this.opts.logger.info({ agentId: agent.id, dn, state: status.state, agentPhone }, 'agent logged in');
    this.emit(session, events, origin);
    this.notify(agent.id, session, LOGGED_OUT);
    return session;
  }

  /** RequestAgentReady on `dn`. @throws AgentError */
  ready(dn: string, workMode?: AgentWorkMode, origin?: EventOrigin): AgentSession {
    return this.apply(dn, { type: 'ready', ...(workMode ? { workMode } : {}) }, origin);
  }

  /** RequestAgentNotReady on `dn`. @throws AgentError */
  notReady(dn: string, workMode?: AgentWorkMode, reasonCode?: string, origin?: EventOrigin): AgentSession {
    return this.apply(
      dn,
      { type: 'not-ready', ...(workMode ? { workMode } : {}), ...(reasonCode ? { reasonCode } : {}) },
      origin,
    );
  }

  /** RequestAgentLogout on `dn`: drops the agent-phone binding (behaviour §7). @throws AgentError */
  logout(dn: string, origin?: EventOrigin): void {
    const session = this.requireSession(dn);
    transitionAgent(session.status, { type: 'logout' });
    this.remove(session);
    this.emit({ ...session }, ['EventAgentLogout'], origin);
    this.notify(session.agentId, undefined, session.status);
  }

  /** A routed (ACD) call was established on `dn`: Busy variant (behaviour §12.2). */
  routedCallEstablished(dn: string, connId: string): void {
    if (!this.sessionByDn(dn)) return;
    this.apply(dn, { type: 'routed-call-established', connId });
  }

  /** A routed call on `dn` ended. */
  routedCallEnded(dn: string, connId: string): void {
    if (!this.sessionByDn(dn)) return;
    this.apply(dn, { type: 'routed-call-ended', connId });
  }

  /** The session on a DN, if an agent is logged in there. */
  sessionByDn(dn: string): AgentSession | undefined {
    const id = this.byDn.get(this.opts.directory.normaliseNumber(dn));
    return id === undefined ? undefined : this.byAgent.get(id);
  }

  /** The session of an agent, if logged in. */
  sessionByAgent(agentId: string): AgentSession | undefined {
    return this.byAgent.get(agentId);
  }

  /** Every session, in login order. */
  sessions(): AgentSession[] {
    return [...this.byAgent.values()];
  }

  /** Subscribes to session changes; returns the unsubscribe function. */
  onSessionChange(listener: AgentSessionListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Stops listening to the bus and the configuration (does not log anyone out). */
  close(): void {
    for (const u of this.unsubscribers.splice(0)) u();
  }

  private apply(dn: string, input: AgentInput, origin?: EventOrigin): AgentSession {
    const session = this.requireSession(dn);
    const { status, events } = transitionAgent(session.status, input);
    if (status === session.status) return session;
    const now = this.opts.clock.now();
    const becameReady = status.state === AgentState.Ready && session.status.state !== AgentState.Ready;
    const finishedCall = input.type === 'routed-call-ended' && status.routedCalls.length === 0;
    const next: AgentSession = { ...session, status, idleSince: becameReady || finishedCall ? now : session.idleSince };
    this.put(next);
    this.opts.repository?.save(next);
    this.emit(next, events, origin);
    this.notify(next.agentId, next, session.status);
    return next;
  }

  private requireSession(dn: string): AgentSession {
    const s = this.sessionByDn(dn);
    if (!s) throw new AgentError('not-logged-in', `no agent is logged in on DN ${dn}`);
    return s;
  }

  private put(session: AgentSession): void {
    this.byAgent.set(session.agentId, session);
    this.byDn.set(session.dn, session.agentId);
  }

  private remove(session: AgentSession): void {
    this.byAgent.delete(session.agentId);
    this.byDn.delete(session.dn);
    if (session.agentPhone !== undefined) {
      try {
        this.opts.reachability.unbindAgentPhone(session.dn);
      } catch (err) {
        this.opts.logger.warn({ err, dn: session.dn }, 'unbinding agent-phone failed');
      }
    }
    this.opts.repository?.delete(session.agentId);
    this.opts.logger.info({ agentId: session.agentId, dn: session.dn }, 'agent logged out');
  }

  private phoneOwner(phone: string): string | undefined {
    for (const s of this.byAgent.values()) if (s.agentPhone === phone) return s.agentId;
    return undefined;
  }

  private emit(session: AgentSession, names: readonly AgentEventName[], origin?: EventOrigin): void {
    for (const name of names) {
      const event: AgentDomainEvent = {
        kind: 'agent',
        name,
        thisDN: session.dn,
        agentId: session.agentId,
        workMode: name === 'EventAgentLogout' ? 'Unknown' : session.status.workMode,
        ...(name === 'EventAgentNotReady' && session.status.reasonCode
          ? { reasonCode: session.status.reasonCode }
          : {}),
        ...this.extensionsOf(session, name),
        ...(origin ? { origin } : {}),
      };
      this.opts.bus.publish(event);
    }
  }

  private extensionsOf(session: AgentSession, name: AgentEventName): { extensions?: Record<string, string> } {
    const extra = name === 'EventAgentLogout' ? undefined : this.eventExtensions?.(session.dn, name);
    const phone = name === 'EventAgentLogin' && session.agentPhone ? { 'agent-phone': session.agentPhone } : undefined;
    return phone || extra ? { extensions: { ...phone, ...extra } } : {};
  }

  private notify(agentId: string, session: AgentSession | undefined, previous: AgentStatus): void {
    for (const l of [...this.listeners]) {
      try {
        l(agentId, session, previous);
      } catch (err) {
        this.opts.logger.error({ err }, 'agent session listener failed');
      }
    }
  }

  private onDomainEvent(e: ContactCenterEvent): void {
    if (e.kind !== 'call') return;
    if (e.name === 'EventEstablished' && e.routed) this.routedCallEstablished(e.thisDN, e.connId);
    else if (e.name === 'EventReleased' || e.name === 'EventAbandoned') this.routedCallEnded(e.thisDN, e.connId);
  }

  /** Agents or DNs removed from the configuration are logged out (with EventAgentLogout). */
  private onConfigChange(): void {
    for (const s of this.sessions()) {
      if (!this.opts.directory.getAgent(s.agentId) || !this.opts.directory.getDn(s.dn)) {
        this.opts.logger.warn({ agentId: s.agentId, dn: s.dn }, 'agent or DN removed from configuration: logging out');
        this.logout(s.dn);
      }
    }
  }
}
