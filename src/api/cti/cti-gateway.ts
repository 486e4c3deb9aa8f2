import { createHash, timingSafeEqual } from 'node:crypto';
import type { AgentService } from '../../contact-center/agents/agent-service.js';
import type { AgentSession } from '../../contact-center/agents/agent-session.js';
import { AgentState } from '../../contact-center/agents/agent-state.js';
import type { ContactCenterEvent, ContactCenterEventBus, EventOrigin } from '../../contact-center/events.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { type Logger, silentLogger } from '../../util/logger.js';
import {
  type CallControl,
  type CallControlRequest,
  unsupportedCallControl,
} from '../../contact-center/call-control.js';
import { CTI_ERROR, CtiError, type CtiErrorName } from './cti-error-codes.js';
import { ctiErrorOf } from './cti-error-map.js';
import { type CtiLimits, ctiLimitsFromOptions, DEFAULT_CTI_LIMITS } from './cti-limits.js';
import { encodeDomainEvent, type CtiWireEvent } from './cti-event-encoder.js';
import { CALL_REQUEST_NAMES, type CtiRequest, parseCtiRequest, peekReferenceId } from './cti-request-schemas.js';
import { CtiSession } from './cti-session.js';
import type { CtiTransport } from './cti-transport.js';
import { OpenFailureLimiter } from './open-failure-limiter.js';
import { AgentDisconnectGrace, desktopGraceMsFromOptions } from './agent-disconnect-grace.js';
import type { CtiAddressInfoWireEvent } from './cti-wire-types.js';

/** WebSocket close codes used (RFC 6455 §7.4.1). */
export const CTI_CLOSE = { POLICY: 1008, TOO_BIG: 1009, GOING_AWAY: 1001 } as const;

/** Dependencies of the CTI gateway (and of the fastify plugin). */
export interface CtiGatewayDeps {
  readonly agents: AgentService;
  readonly bus: ContactCenterEventBus;
  /** Call control (the B2BUA); default: every call request answered NOT_SUPPORTED. */
  readonly callControl?: CallControl;
  /** The admin token of interfaces §5 (a function, so that a token generated later is seen). */
  readonly adminToken: string | (() => string | undefined);
  /** `server` attribute of every event (the application name, `server.name`). */
  readonly serverName?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * The application options (`server.options`); the `cti-*-rate`/`cti-*-burst` ones set the
   * request rates ({@link ctiLimitsFromOptions}). `limits` wins over them.
   */
  readonly applicationOptions?: Readonly<Record<string, string>>;
  readonly limits?: Partial<CtiLimits>;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The CTI protocol engine of interfaces §4, independent of the transport: authenticates
 * connections (RequestOpen), keeps DN registrations, validates every request, dispatches agent
 * requests to {@link AgentService} and call requests to {@link CallControl}, fans domain events
 * out to the connections registered on their DN, and protects itself (message size, per-connection
 * token bucket, disconnect after repeated garbage).
 */
export class CtiGateway {
  private readonly sessions = new Map<string, CtiSession>();
  private readonly limits: CtiLimits;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly callControl: CallControl;
  private readonly server: string;
  private readonly unsubscribe: () => void;
  private readonly openFailures: OpenFailureLimiter;
  private readonly grace: AgentDisconnectGrace;
  private seq = 0;

  constructor(private readonly deps: CtiGatewayDeps) {
    this.limits = { ...DEFAULT_CTI_LIMITS, ...ctiLimitsFromOptions(deps.applicationOptions ?? {}), ...deps.limits };
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.callControl = deps.callControl ?? unsupportedCallControl;
    this.server = deps.serverName ?? 'SIP_Server';
    this.grace = new AgentDisconnectGrace({
      clock: this.clock,
      graceMs: desktopGraceMsFromOptions(deps.applicationOptions ?? {}),
      dnOf: (agentId) => deps.agents.sessionByAgent(agentId)?.dn,
      hasCalls: (dn) => this.callControl.hasCalls?.(dn) ?? false,
      logout: (agentId, dn) => {
        this.logger.info({ agentId, dn }, 'agent desktop gone for agent-desktop-grace: logging the agent out');
        deps.agents.logout(dn);
      },
    });
    this.awaitDesktops(deps.agents.sessions());
    this.unsubscribe = deps.bus.subscribe((e) => this.onDomainEvent(e));
    this.openFailures = new OpenFailureLimiter(
      this.clock,
      this.limits.maxOpenFailuresPerAddress,
      this.limits.openFailureWindowMs,
    );
  }

  /**
   * Logins that an agent's own desktop made but whose desktop is not connected here: restored
   * after a restart, or taken over from a dead node of a cluster. Their grace starts now; an
   * agent whose desktop does not come back in time is logged out.
   */
  awaitDesktops(sessions: readonly AgentSession[]): void {
    for (const s of sessions) {
      if (s.loggedInBy !== 'agent') continue;
      this.grace.loggedIn(s.agentId, true);
      this.grace.lastConnectionClosed(s.agentId);
    }
  }

  /** Effective limits. */
  get effectiveLimits(): CtiLimits {
    return this.limits;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** A new client connection. */
  connect(transport: CtiTransport): CtiSession {
    const session = new CtiSession(`cti-${++this.seq}`, transport, this.clock, this.limits);
    this.sessions.set(session.id, session);
    return session;
  }

  /** The connection closed (by either side). */
  disconnect(session: CtiSession): void {
    if (!this.sessions.delete(session.id)) return;
    session.closed = true;
    const scope = session.scope;
    if (scope?.kind !== 'agent') return;
    for (const s of this.sessions.values()) {
      if (s.scope?.kind === 'agent' && s.scope.agentId === scope.agentId) return;
    }
    this.grace.lastConnectionClosed(scope.agentId);
  }

  /** Closes every connection (server shutdown) and stops listening to the bus. */
  close(): void {
    this.unsubscribe();
    this.grace.close();
    for (const s of [...this.sessions.values()]) this.closeSession(s, CTI_CLOSE.GOING_AWAY, 'server shutting down');
  }

  /** One text frame from a client. Answers are sent on the session's transport. */
  async handleMessage(session: CtiSession, text: string, byteLength = Buffer.byteLength(text)): Promise<void> {
    if (session.closed) return;
    if (byteLength > this.limits.maxMessageBytes) {
      // Frames above twice the limit never get here (cut by the WebSocket layer): parsing is bounded.
      this.sendError(
        session,
        'MESSAGE_TOO_LARGE',
        peekReferenceId(text),
        `message of ${byteLength} bytes exceeds ${this.limits.maxMessageBytes}`,
      );
      this.closeSession(session, CTI_CLOSE.TOO_BIG, 'message too large');
      return;
    }
    if (!session.bucket.take()) {
      // The refused request's referenceId is echoed so that the client knows which one to retry.
      this.protocolError(session, 'RATE_LIMITED', peekReferenceId(text));
      return;
    }
    const parsed = parseCtiRequest(text);
    if (!parsed.ok) {
      this.protocolError(
        session,
        parsed.error,
        parsed.referenceId,
        `${CTI_ERROR[parsed.error].message}: ${parsed.detail}`,
      );
      return;
    }
    const req = parsed.request;
    if (!session.scope && req.request !== 'RequestOpen') {
      this.protocolError(session, 'NOT_OPENED', req.referenceId);
      return;
    }
    try {
      await this.dispatch(session, req);
    } catch (err) {
      const cti = this.toCtiError(err);
      this.sendError(session, cti.errorName, req.referenceId, cti.message);
      if (!session.scope) this.countPreOpenError(session);
    }
  }

  private async dispatch(session: CtiSession, req: CtiRequest): Promise<void> {
    const origin: EventOrigin = { requesterId: session.id, referenceId: req.referenceId };
    const agents = this.deps.agents;
    switch (req.request) {
      case 'RequestOpen':
        return this.open(session, req);
      case 'RequestRegisterAddress': {
        const dn = this.allowedDn(session, req.thisDN);
        session.registered.add(dn);
        this.send(session, { event: 'EventRegistered', thisDN: dn }, req.referenceId);
        return;
      }
      case 'RequestUnregisterAddress': {
        const dn = this.allowedDn(session, req.thisDN);
        session.registered.delete(dn);
        this.send(session, { event: 'EventUnregistered', thisDN: dn }, req.referenceId);
        return;
      }
      case 'RequestQueryServer':
        // T-Library's TQueryServer: desktops send it as a heartbeat (docs/cti-protocol.md).
        this.send(session, { event: 'EventServerInfo' }, req.referenceId);
        return;
      case 'RequestQueryAddress': {
        const dn = this.allowedDn(session, req.thisDN);
        const s = agents.sessionByDn(dn);
        const info: Omit<CtiAddressInfoWireEvent, 'server' | 'time'> = {
          event: 'EventAddressInfo',
          thisDN: dn,
          agentState: s ? s.status.state : AgentState.LoggedOut,
          ...(s ? { agentId: s.agentId, workMode: s.status.workMode } : {}),
          ...(s?.status.reasonCode !== undefined ? { reasonCode: s.status.reasonCode } : {}),
          ...(s?.agentPhone !== undefined ? { extensions: { 'agent-phone': s.agentPhone } } : {}),
          calls: this.callControl.callsOnDn?.(dn) ?? [],
        };
        this.send(session, info, req.referenceId);
        return;
      }
      case 'RequestAgentLogin': {
        const dn = this.allowedDn(session, req.thisDN);
        const scope = session.scope;
        if (scope?.kind === 'agent' && scope.agentId !== req.agentId) {
          throw new CtiError('DN_NOT_ALLOWED', `this connection acts for agent ${scope.agentId} only`);
        }
        agents.login(
          {
            agentId: req.agentId,
            ...(req.password !== undefined ? { password: req.password } : {}),
            thisDN: dn,
            ...(req.workMode ? { workMode: req.workMode } : {}),
            ...((req.reasonCode ?? req.extensions?.ReasonCode)
              ? { reasonCode: req.reasonCode ?? req.extensions?.ReasonCode }
              : {}),
            ...(req.extensions?.['agent-phone'] !== undefined ? { agentPhone: req.extensions['agent-phone'] } : {}),
            allowAnyDn: scope?.kind === 'application',
            loggedInBy: scope?.kind === 'application' ? 'application' : 'agent',
          },
          origin,
        );
        this.grace.loggedIn(req.agentId, scope?.kind === 'agent');
        return;
      }
      case 'RequestAgentReady':
        agents.ready(this.allowedDn(session, req.thisDN), req.workMode, origin);
        return;
      case 'RequestAgentNotReady': {
        const reason = req.reasonCode ?? req.extensions?.ReasonCode;
        agents.notReady(this.allowedDn(session, req.thisDN), req.workMode, reason, origin);
        return;
      }
      case 'RequestAgentLogout':
        agents.logout(this.allowedDn(session, req.thisDN), origin);
        return;
      default: {
        if (!CALL_REQUEST_NAMES.has(req.request)) throw new CtiError('UNKNOWN_REQUEST');
        const dn = this.allowedDn(session, req.thisDN);
        const { referenceId: _ref, ...rest } = req;
        void _ref;
        await this.callControl.handle({ ...rest, thisDN: dn } as CallControlRequest, origin);
        return;
      }
    }
  }

  private open(session: CtiSession, req: Extract<CtiRequest, { request: 'RequestOpen' }>): void {
    if (session.scope) throw new CtiError('ALREADY_OPENED');
    const address = session.transport.remoteAddress;
    if (this.openFailures.blocked(address)) {
      throw new CtiError(
        req.token !== undefined ? 'BAD_TOKEN' : 'BAD_CREDENTIALS',
        'too many failed opens from this address; try later',
      );
    }
    try {
      this.checkOpen(session, req);
    } catch (err) {
      this.openFailures.fail(address);
      throw err;
    }
    this.openFailures.succeed(address);
  }

  private checkOpen(session: CtiSession, req: Extract<CtiRequest, { request: 'RequestOpen' }>): void {
    if (req.token !== undefined) {
      const expected = typeof this.deps.adminToken === 'function' ? this.deps.adminToken() : this.deps.adminToken;
      if (!expected || !timingSafeEqual(digest(req.token), digest(expected))) throw new CtiError('BAD_TOKEN');
      session.open(
        { kind: 'application' },
        { burst: this.limits.applicationBurst, ratePerSecond: this.limits.applicationRatePerSecond },
      );
      this.send(session, { event: 'EventOpened', scope: 'application' }, req.referenceId);
      return;
    }
    const agent = this.deps.agents.authenticate(req.agentId ?? '', req.password ?? '');
    session.open({ kind: 'agent', agentId: agent.id });
    this.grace.opened(agent.id);
    this.send(
      session,
      {
        event: 'EventOpened',
        scope: 'agent',
        agentId: agent.id,
        thisDN: this.deps.agents.directory.normaliseNumber(agent.dn),
      },
      req.referenceId,
    );
  }

  /**
   * Checks that the connection may act on `raw` and returns it normalised: agent scope the
   * agent's own (configured) DN, or the DN the agent is logged in on (a login outlives a change of
   * the agent's DN: the new one applies at the next login, behaviour §2.3 and §13); application
   * scope any provisioned DN.
   */
  private allowedDn(session: CtiSession, raw: string): string {
    const dir = this.deps.agents.directory;
    const dn = dir.normaliseNumber(raw);
    const scope = session.scope;
    if (scope?.kind === 'agent') {
      const agent = dir.getAgent(scope.agentId);
      const loggedInOn = this.deps.agents.sessionByAgent(scope.agentId)?.dn;
      if (!agent || (dir.normaliseNumber(agent.dn) !== dn && loggedInOn !== dn)) {
        throw new CtiError('DN_NOT_ALLOWED', `agent ${scope.agentId} may only use DN ${agent?.dn ?? '(none)'}`);
      }
    }
    const obj = dir.getDn(dn);
    if (!obj) throw new CtiError('UNKNOWN_DN', `DN ${dn} is not provisioned`);
    return obj.number;
  }

  private onDomainEvent(e: ContactCenterEvent): void {
    const dn = this.deps.agents.directory.normaliseNumber(e.thisDN);
    if (e.name === 'EventAgentLogout') this.grace.loggedOut(e.agentId);
    if (e.name === 'EventReleased' || e.name === 'EventAbandoned') this.grace.callEnded(dn);
    if (this.sessions.size === 0) return;
    const wire = encodeDomainEvent(e, this.server, this.now());
    const originId = e.kind === 'dn' ? undefined : e.origin?.requesterId;
    for (const s of this.sessions.values()) {
      const isOrigin = s.id === originId;
      if (!isOrigin && !s.registered.has(dn)) continue;
      const out = isOrigin && e.kind !== 'dn' && e.origin ? { ...wire, referenceId: e.origin.referenceId } : wire;
      this.write(s, out);
    }
  }

  private protocolError(
    session: CtiSession,
    name: CtiErrorName,
    referenceId: number | string | undefined,
    message?: string,
  ): void {
    this.sendError(session, name, referenceId, message);
    if (!session.scope) {
      this.countPreOpenError(session);
      return;
    }
    if (!session.errorBudget.take()) {
      this.logger.warn({ session: session.id }, 'CTI client keeps sending bad or too many requests: disconnecting');
      this.closeSession(session, CTI_CLOSE.POLICY, 'too many errors');
    }
  }

  private countPreOpenError(session: CtiSession): void {
    session.preOpenErrors++;
    if (session.preOpenErrors >= this.limits.maxPreOpenErrors) {
      this.closeSession(session, CTI_CLOSE.POLICY, 'not opened');
    }
  }

  private toCtiError(err: unknown): CtiError {
    const known = ctiErrorOf(err);
    if (known) return known;
    this.logger.error({ err }, 'CTI request failed');
    return new CtiError('INTERNAL');
  }

  private sendError(
    session: CtiSession,
    name: CtiErrorName,
    referenceId: number | string | undefined,
    message?: string,
  ): void {
    this.send(
      session,
      { event: 'EventError', errorCode: CTI_ERROR[name].code, errorMessage: message ?? CTI_ERROR[name].message },
      referenceId,
    );
  }

  private send(session: CtiSession, body: CtiWireEvent, referenceId: number | string | undefined): void {
    this.write(session, {
      ...body,
      server: this.server,
      ...(referenceId !== undefined ? { referenceId } : {}),
      time: this.now(),
    });
  }

  private write(session: CtiSession, event: CtiWireEvent): void {
    if (session.closed) return;
    if ((session.transport.bufferedAmount ?? 0) > this.limits.maxBufferedBytes) {
      this.logger.warn({ session: session.id }, 'CTI client does not read its events: disconnecting');
      this.closeSession(session, CTI_CLOSE.POLICY, 'too slow');
      return;
    }
    try {
      session.transport.send(JSON.stringify(event));
    } catch (err) {
      this.logger.warn({ err, session: session.id }, 'CTI send failed');
    }
  }

  private closeSession(session: CtiSession, code: number, reason: string): void {
    if (session.closed) return;
    this.disconnect(session);
    try {
      session.transport.close(code, reason);
    } catch {
      // already gone
    }
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
