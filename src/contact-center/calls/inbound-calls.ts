/**
 * Inbound INVITEs (RFC 3261 §13.3, behaviour §3, §8.3): a new INVITE is classified — a routing
 * point goes to the router; an agent DN is a direct call (`reject-call-notready`, single dialog,
 * behaviour §6, §9); any other number goes to a softswitch by prefix (behaviour §3.3); nobody
 * serving it gives 404/480 — then connected to its destination: the caller's offer (or late
 * offer, RFC 3264 §4) and 18x early media are relayed, the caller's Max-Forwards minus one is
 * carried to the other leg (RFC 3261 §16.6 step 3, RFC 7332 §3), a CANCEL ends the call.
 *
 * In a cluster (docs/cluster.md, "Routing across nodes") a routing-point call relayed by the
 * trusted proxy may be redirected to the node that owns the agent picked: `302 Moved Temporarily`
 * (RFC 3261 §21.3.3) whose Contact is that node's address with `cc-agent=ID`; the proxy follows it
 * (RFC 3261 §16.7 step 5) and the owner offers the call to that agent.
 */
import { isAgentDnType } from '../../config/config-model.js';
import { isSdp } from '../../media/sdp.js';
import type { Deliverable } from '../../reachability/reachability-types.js';
import { DialogError } from '../../sip/dialog/dialog.js';
import { getParam } from '../../sip/message/sip-syntax.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteServerSession } from '../../sip/dialog/invite-server-session.js';
import type { IncomingRequest } from '../../sip/stack/incoming-request.js';
import type { Admission } from '../../trust/request-trust.js';
import type { Logger } from '../../util/logger.js';
import type { CallType } from '../events.js';
import { failureStatus, type B2bua, type DialResult } from './b2bua.js';
import { CallState, type Call } from './call.js';
import type { CallEvents } from './call-events.js';
import { CallLeg, LegState } from './call-leg.js';
import { noResponseDnOf, ringTimeoutOf } from './call-options.js';
import type { CallAgentPolicy, CallDirectory, CallReachability, CallRouterRef } from './call-ports.js';
import type { TestFaults } from './test-faults.js';

/** Construction options of {@link InboundCalls}. */
export interface InboundCallsOptions {
  calls: B2bua;
  events: CallEvents;
  ua: DialogUserAgent;
  reachability: CallReachability;
  directory: CallDirectory;
  /** The routing-point router; unbound, calls to routing points are answered 480. */
  router: CallRouterRef;
  /** Agent policy (`reject-call-notready`); without it nothing is rejected. */
  policy?: CallAgentPolicy;
  logger: Logger;
  /** TEST ONLY: injected faults (`test-faults.ts`). */
  testFaults?: TestFaults;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function userOf(uri: { user?: string } | undefined): string | undefined {
  if (!uri?.user) return undefined;
  try {
    return decodeURIComponent(uri.user);
  } catch {
    return uri.user;
  }
}

/** The Request-URI parameter naming the agent another node redirected a routing-point call for. */
export const CC_AGENT_PARAM = 'cc-agent';

/**
 * The Request-URI parameter of a routing-point call the proxy hands back after the node it was
 * redirected to did not answer (docs/cluster.md): routed to this node's agents only, never
 * redirected again.
 */
export const CC_LOCAL_PARAM = 'cc-local';

/**
 * The Contact of a redirect to a node: `sip:ROUTINGPOINT@HOST:PORT;cc-agent=ID`, from the node's
 * address as its lease gives it (`udp:127.0.0.1:5071`; other transports get `;transport=`).
 */
export function redirectContact(routingPoint: string, sip: string, agentId: string): string {
  const colon = sip.indexOf(':');
  const transport = colon > 0 ? sip.slice(0, colon).toLowerCase() : 'udp';
  const hostPort = colon > 0 ? sip.slice(colon + 1) : sip;
  const tp = transport === 'udp' ? '' : `;transport=${transport}`;
  const user = encodeURIComponent(routingPoint);
  return `<sip:${user}@${hostPort}${tp};${CC_AGENT_PARAM}=${encodeURIComponent(agentId)}>`;
}

/** Classifies inbound INVITEs and connects them. */
export class InboundCalls {
  private readonly calls: B2bua;
  private readonly events: CallEvents;
  private readonly ua: DialogUserAgent;
  private readonly reachability: CallReachability;
  private readonly directory: CallDirectory;
  private readonly router: CallRouterRef;
  private readonly policy: CallAgentPolicy | undefined;
  private readonly logger: Logger;
  private readonly testFaults: TestFaults | undefined;

  constructor(opts: InboundCallsOptions) {
    this.calls = opts.calls;
    this.events = opts.events;
    this.ua = opts.ua;
    this.reachability = opts.reachability;
    this.directory = opts.directory;
    this.router = opts.router;
    this.policy = opts.policy;
    this.logger = opts.logger;
    this.testFaults = opts.testFaults;
  }

  /**
   * An initial INVITE (no To tag). Answers it, now or later. `admission`: how the trust policy
   * admitted it (docs/security.md). A phone's INVITE (digest or location) is a call from its DN;
   * a trusted peer's asserts its caller (behaviour §3.4); without a policy (`undefined`) a From
   * naming an agent DN is believed.
   */
  onInvite(ctx: IncomingRequest, admission?: Admission): void {
    let server: InviteServerSession;
    try {
      server = this.ua.acceptInvite(ctx);
    } catch (err) {
      ctx.reply(err instanceof DialogError && err.status ? err.status : 400, 'Missing Contact');
      return;
    }
    const req = ctx.request;
    let number: string | undefined;
    let fromUser: string | undefined;
    try {
      number = userOf(req.requestUri);
      fromUser = userOf(req.from.uri);
    } catch {
      server.reject(400, 'Bad Request-URI');
      return;
    }
    if (!number) {
      server.reject(404, 'Not Found (no user part)');
      return;
    }
    // A B2BUA starts new requests but must not let a routing loop through itself run forever:
    // carry the caller's Max-Forwards minus one to the other leg (RFC 3261 §16.6 step 3, RFC 7332 §3).
    const mfRaw = req.getHeader('Max-Forwards');
    const mf = mfRaw !== undefined && /^\d+$/.test(mfRaw.trim()) ? Number(mfRaw.trim()) : 70;
    if (mf <= 0) {
      server.reject(483, 'Too Many Hops');
      return;
    }
    number = this.directory.normaliseNumber(number);
    const ani = fromUser ? this.directory.normaliseNumber(fromUser) : 'anonymous';
    const phone = admission && admission.via !== 'trusted-peer' ? admission.dn : undefined;
    const identity = phone === undefined ? this.reachability.identifyInbound?.(ctx.origin, fromUser) : undefined;
    let originDn = phone ?? identity?.dn;
    if (!originDn && !identity) {
      const d = this.directory.getDn(ani);
      if (d && isAgentDnType(d.type)) originDn = d.number;
    }
    const dest = this.directory.getDn(number);
    const destIsAgentDn = dest !== undefined && isAgentDnType(dest.type);
    const callType: CallType = originDn
      ? destIsAgentDn
        ? 'Internal'
        : dest?.type === 'routing-point'
          ? 'Internal'
          : 'Outbound'
      : 'Inbound';
    // Only the cluster's proxy may redirect a call here for an agent, and only it follows a 302.
    const viaProxy = ctx.fromTrustedProxy;
    const ccAgentRaw = viaProxy && !originDn ? getParam(req.requestUri.params, CC_AGENT_PARAM) : undefined;
    const forAgent = typeof ccAgentRaw === 'string' && ccAgentRaw !== '' ? safeDecode(ccAgentRaw) : undefined;
    const call = this.calls.newCall(callType, originDn ?? ani, number);
    call.maxForwards = Math.min(mf - 1, 70);
    const a = call.add(new CallLeg(originDn, originDn ?? ani, 'in'));
    a.server = server;
    // From here on a throw concerns this call only: it releases the call (B2bua.fault).
    try {
      this.connectNew(call, a, server, {
        number,
        originDn,
        dest,
        destIsAgentDn,
        ani,
        body: req.body,
        redirectable:
          viaProxy &&
          !originDn &&
          forAgent === undefined &&
          getParam(req.requestUri.params, CC_LOCAL_PARAM) === undefined,
        forAgent,
      });
    } catch (err) {
      this.calls.fault(call, 'inbound INVITE', err);
    }
  }

  private connectNew(
    call: Call,
    a: CallLeg,
    server: InviteServerSession,
    c: {
      number: string;
      originDn: string | undefined;
      dest: ReturnType<CallDirectory['getDn']>;
      destIsAgentDn: boolean;
      ani: string;
      body: Buffer;
      redirectable: boolean;
      forAgent: string | undefined;
    },
  ): void {
    const { number, originDn, dest, destIsAgentDn, ani, body } = c;
    a.lastSdpReceived = body.length > 0 ? body.toString('utf8') : undefined;
    a.session = server.session;
    this.calls.watchSession(call, a, server.session);
    server.onCancel(() => this.onCallerCancel(call, a));
    this.logger.debug({ connId: call.connId, number, ani, originDn, destType: dest?.type }, 'inbound INVITE');

    if (originDn) this.events.emit('EventDialing', call, a, number);
    if (dest?.type === 'routing-point') {
      const how = { redirectable: c.redirectable, forAgent: c.forAgent };
      this.calls.detached(call, 'route call', () => this.routeCall(call, a, server, dest.number, how));
      return;
    }
    if (dest && !destIsAgentDn) {
      this.calls.rejectCaller(call, a, 404, 'Not Found');
      return;
    }
    if (destIsAgentDn && dest) {
      if (originDn !== dest.number && this.policy?.rejectsCall(dest.number)) {
        this.calls.rejectCaller(call, a, 480, 'Temporarily Unavailable (agent not ready)');
        return;
      }
      if (originDn !== dest.number && this.calls.singleDialogBusy(dest.number)) {
        this.calls.rejectCaller(call, a, 486, 'Busy Here');
        return;
      }
      const res = this.reachability.resolve(dest.number);
      const targets = this.reachability.candidates(dest.number);
      if (res.mode === 'unreachable' || targets.length === 0) {
        this.calls.rejectCaller(
          call,
          a,
          480,
          `Temporarily Unavailable (${res.mode === 'unreachable' ? res.reason : 'out of service'})`,
        );
        return;
      }
      const ringMs = ringTimeoutOf(this.directory, dest.number);
      this.calls.detached(call, 'connect inbound', () =>
        this.connectInbound(call, a, server, dest.number, number, targets, ringMs, false),
      );
      return;
    }
    // Not a DN: an external number through a softswitch (behaviour §3.3).
    const targets = this.reachability.candidates(number);
    if (targets.length === 0) {
      const res = this.reachability.resolveExternal(number);
      if (res.mode === 'unreachable') this.calls.rejectCaller(call, a, 404, 'Not Found');
      else this.calls.rejectCaller(call, a, 480, 'Temporarily Unavailable (softswitch out of service)');
      return;
    }
    this.calls.detached(call, 'connect inbound', () =>
      this.connectInbound(call, a, server, undefined, number, targets, 0, false),
    );
  }

  /**
   * A call to a routing point: 180 to the caller while the router finds an agent (or the
   * `default-dn`), or a 302 to the node that owns the agent picked (a cluster).
   */
  private async routeCall(
    call: Call,
    a: CallLeg,
    server: InviteServerSession,
    routingPoint: string,
    how: { redirectable: boolean; forAgent: string | undefined },
  ): Promise<void> {
    call.routed = true;
    call.routingPoint = routingPoint;
    const router = this.router.current;
    if (!router) {
      this.calls.rejectCaller(call, a, 480, 'Temporarily Unavailable (no router)');
      return;
    }
    server.progress(180);
    a.plainProgressSent = 180;
    a.state = LegState.Alerting;
    const outcome = await router.route({
      callId: call.connId,
      routingPoint,
      ani: call.ani,
      dnis: call.dnis,
      ...(how.redirectable ? { redirectable: true } : {}),
      ...(how.forAgent !== undefined ? { forAgent: how.forAgent } : {}),
    });
    // (a redirect the caller left before: its agent's reservation runs out by its TTL)
    if (call.state === CallState.Released) return;
    switch (outcome.kind) {
      case 'delivered':
      case 'abandoned':
        return;
      case 'rejected':
        this.calls.rejectCaller(call, a, outcome.status, 'Temporarily Unavailable (no agent)');
        return;
      case 'redirect':
        // RFC 3261 §8.3 / §21.3.3: the proxy recurses on the Contact; the caller never sees the 302.
        this.logger.info(
          { connId: call.connId, agentId: outcome.agentId, node: outcome.node },
          'routed call redirected',
        );
        this.calls.rejectCaller(call, a, 302, 'Moved Temporarily', [
          ['Contact', redirectContact(routingPoint, outcome.sip, outcome.agentId)],
        ]);
        return;
      case 'default-dn': {
        const targets = this.reachability.candidates(outcome.dn);
        const dn = this.directory.getDn(outcome.dn);
        if (targets.length === 0) {
          this.calls.rejectCaller(call, a, 480, 'Temporarily Unavailable');
          return;
        }
        const isDn = dn !== undefined && isAgentDnType(dn.type);
        await this.connectInbound(
          call,
          a,
          server,
          isDn ? dn.number : undefined,
          outcome.dn,
          targets,
          isDn ? ringTimeoutOf(this.directory, dn.number) : 0,
          false,
        );
        return;
      }
    }
  }

  /**
   * Ring one destination for an inbound call and bridge it with the caller when it answers.
   * With `keepCallerOnFailure` (routed deliveries) a failure leaves the caller waiting. A direct
   * call whose destination's `sip-trying-timeout` expired goes, once, to its `no-response-dn`
   * (behaviour §14); without one the caller gets 408.
   * @returns the dial result
   */
  async connectInbound(
    call: Call,
    a: CallLeg,
    server: InviteServerSession,
    dn: string | undefined,
    address: string,
    targets: Deliverable[],
    ringTimeoutMs: number,
    keepCallerOnFailure: boolean,
    routed = false,
    noResponseTried = false,
  ): Promise<DialResult> {
    const offer = a.lastSdpReceived;
    const result = await this.calls.dial(call, {
      dn,
      address,
      targets,
      offer,
      ringTimeoutMs,
      routed,
      fromUser: call.ani ?? 'anonymous',
      onProgress: (leg, r) => {
        if (r.status >= 180 && r.status < 190 && a.server && !a.released) {
          const body = r.body.length > 0 && isSdp(r.body) ? a.adapt(r.body) : undefined;
          // A routing point's caller already got its 180: the agent's own 180 adds nothing, and a
          // repeated provisional may reach the caller after the 200 through a proxy that relays
          // responses in parallel (Kamailio's workers), which some UACs take for an error.
          if (body === undefined && a.plainProgressSent === r.status) return;
          server.progress(r.status, body, r.reason);
          a.plainProgressSent = body === undefined ? r.status : undefined;
          a.state = LegState.Alerting;
        }
        void leg;
      },
      onAnswered: (leg, session, r, ackAnswer) => {
        if (a.released || !a.server) {
          ackAnswer?.(Buffer.alloc(0));
          this.calls.bye(session);
          return;
        }
        if (dn !== undefined && this.testFaults?.throwOnAnswer === dn)
          throw new Error(`test fault: throw-on-answer:${dn}`);
        leg.lastSdpReceived = r.body.length > 0 ? r.body.toString('utf8') : undefined;
        // Offer in the caller's INVITE: the 2xx has the answer. Late offer: the 2xx has the offer
        // and the caller's ACK will carry the answer (RFC 3264 §4).
        if (!offer && ackAnswer) {
          a.onNextAck = (ack) => {
            a.lastSdpReceived = ack.body.length > 0 ? ack.body.toString('utf8') : a.lastSdpReceived;
            ackAnswer(leg.adapt(ack.body) ?? Buffer.alloc(0));
          };
        }
        a.session = server.accept(a.adapt(r.body));
        a.server = undefined;
        a.state = LegState.Established;
        this.events.established(call, a, leg);
      },
    });
    if (
      result.kind === 'failed' &&
      result.failure.kind === 'no-response' &&
      !keepCallerOnFailure &&
      !noResponseTried &&
      !a.released &&
      a.server
    ) {
      const next = noResponseDnOf(this.directory, dn, targets[0]?.via);
      const n = next === undefined ? undefined : this.directory.normaliseNumber(next);
      const nextTargets = n === undefined ? [] : this.reachability.candidates(n);
      if (n !== undefined && nextTargets.length > 0) {
        const d = this.directory.getDn(n);
        const isDn = d !== undefined && isAgentDnType(d.type);
        this.logger.info(
          { connId: call.connId, from: address, to: n },
          'sip-trying-timeout expired: to no-response-dn',
        );
        return this.connectInbound(
          call,
          a,
          server,
          isDn ? d.number : undefined,
          n,
          nextTargets,
          isDn ? ringTimeoutOf(this.directory, d.number) : 0,
          false,
          routed,
          true,
        );
      }
    }
    if (result.kind === 'failed' && !keepCallerOnFailure && !a.released && a.server) {
      const { status, reason } = failureStatus(result.failure);
      if (result.failure.kind === 'rejected' && (status === 486 || status === 600))
        this.events.emit('EventDestinationBusy', call, a, address);
      this.calls.rejectCaller(call, a, status, reason);
    }
    return result;
  }

  /** The caller sent CANCEL (RFC 3261 §9.2): stop ringing the other party, EventAbandoned. */
  private onCallerCancel(call: Call, a: CallLeg): void {
    this.logger.debug({ connId: call.connId }, 'caller cancelled');
    a.state = LegState.Released;
    a.server = undefined;
    const wasEstablished = call.state === CallState.Established;
    call.state = CallState.Released;
    if (call.routed) this.router.current?.abandon(call.connId);
    for (const leg of call.others(a)) this.calls.cancelDial(leg);
    if (a.dn) this.events.emit(wasEstablished ? 'EventReleased' : 'EventAbandoned', call, a);
    this.calls.dropIfEmpty(call); // the call is over once no leg is left
  }
}
