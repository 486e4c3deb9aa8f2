/**
 * Call control wiring: builds the dialog layer over the SIP stack, the B2BUA's call core and the
 * flows over it — inbound classification, make-call, consultation — the router's delivery port
 * and the CTI call-control port. The composition root calls {@link createCallControl} once,
 * hands `delivery` to the router and `control` to the CTI gateway, and binds the router to the
 * {@link CallRouterRef} it gave here (the router needs `delivery` first).
 */
import type { AgentService } from '../agents/agent-service.js';
import type { ContactCenterEventBus } from '../events.js';
import { DialogStackAdapter } from '../../sip/dialog/dialog-stack-adapter.js';
import { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { SipStack } from '../../sip/stack/sip-stack.js';
import type { RequestTrust } from '../../trust/request-trust.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { MediaServer } from '../../media/media-server.js';
import { AgentCallPolicy } from './agent-call-policy.js';
import { AgentPhoneOptionDirectory } from './agent-phone-option-directory.js';
import { B2bua } from './b2bua.js';
import { CallControlService } from './call-control-service.js';
import { CallDeliveryService } from './call-delivery-service.js';
import type { CallJournal } from './call-journal.js';
import { CallLookup } from './call-lookup.js';
import { CallRouterRef, type CallDirectory, type CallReachability } from './call-ports.js';
import { AnswerCall } from './answer-call.js';
import { Conferences } from './conference.js';
import { Consultations } from './consultation.js';
import { HoldControl } from './hold-control.js';
import { InboundCalls } from './inbound-calls.js';
import { MakeCallFlows } from './make-call.js';
import { NailedUpConnections } from './nailed-up.js';
import { bothJournals, SharedCalls } from './shared-calls.js';
import { attachCallHandlers } from './stack-handlers.js';
import type { TestFaults } from './test-faults.js';
import { ThirdPartyControl } from './third-party-control.js';

export type { B2bua } from './b2bua.js';
export type { CallControlService } from './call-control-service.js';
export type { CallDeliveryService } from './call-delivery-service.js';
export type { Consultation, ConsultationMode, ConsultationView, Consultations } from './consultation.js';
export type { NailedUpConnections, NailedUpState } from './nailed-up.js';
export { reportLostCalls, type CallJournal, type LostCall } from './call-journal.js';
export { SqliteCallJournal } from './sqlite-call-journal.js';
export type { SharedCalls, SharedCallStore, SharedCallRecord } from './shared-calls.js';
export { testFaultsFromEnv, type TestFaults } from './test-faults.js';
export {
  CallRouterRef,
  type CallAgentPolicy,
  type CallDirectory,
  type CallReachability,
  type CallRouter,
} from './call-ports.js';

/** What {@link createCallControl} needs. */
export interface CallControlDeps {
  stack: SipStack;
  reachability: CallReachability;
  directory: CallDirectory;
  bus: ContactCenterEventBus;
  clock: Clock;
  logger: Logger;
  /** For `reject-call-notready`; optional. */
  agents?: AgentService;
  /**
   * The routing-point router, bound by the caller once the router exists (it needs `delivery`
   * first). Absent: calls to routing points are answered 480.
   */
  router?: CallRouterRef;
  /** RFC 3261 timer base values for 2xx retransmission (default 500 ms / 4 s). */
  timers?: { t1?: number; t2?: number };
  /** Active-call journal (restart reporting); default none. */
  journal?: CallJournal;
  /**
   * The trust policy new INVITEs must pass (docs/security.md); absent (in-process tests), every
   * INVITE is admitted and a From naming an agent DN is believed.
   */
  trust?: Pick<RequestTrust, 'check'>;
  /**
   * The media server behind park, ringback, music on hold and conferences (behaviour §6, §10);
   * absent, those fall back to black-hole SDP (RFC 3725 §4) and conferences are refused.
   */
  media?: MediaServer;
  /** TEST ONLY: faults to inject (`test-faults.ts`); never set in production. */
  testFaults?: TestFaults;
}

/** Everything call control offers to the rest of the server. */
export interface CallControlModule {
  ua: DialogUserAgent;
  b2bua: B2bua;
  /** The router's `CallDelivery` port. */
  delivery: CallDeliveryService;
  /** The CTI gateway's `CallControl` port. */
  control: CallControlService;
  /** The nailed-up connections (behaviour §10): their state for `GET /api/dns/{n}/status`. */
  nailedUp: NailedUpConnections;
  /** The calls shared with a cluster (inactive until attached to a store; docs/cluster.md). */
  shared: SharedCalls;
  /** Unwire from the stack and release every call (BYE). */
  close(): void;
}

/** Build and wire call control onto `stack` (handlers for INVITE, BYE, UPDATE, INFO, REFER… and 2xx ACKs). */
export function createCallControl(deps: CallControlDeps): CallControlModule {
  const { reachability, clock, logger } = deps;
  const ua = new DialogUserAgent({ stack: new DialogStackAdapter(deps.stack), clock, logger, timers: deps.timers });
  // A DN worked on an agent-phone takes the device options of the agent-phone's softswitch.
  const directory = new AgentPhoneOptionDirectory(deps.directory, reachability);
  const router = deps.router ?? new CallRouterRef();
  const policy = deps.agents ? new AgentCallPolicy(deps.agents, directory) : undefined;
  // What the B2BUA and the nailed-up connections are both built on.
  const base = { ua, reachability, directory, bus: deps.bus, clock, logger, media: deps.media };
  let b2bua: B2bua | undefined;
  const shared = new SharedCalls({ ua, bus: deps.bus, logger, calls: () => b2bua?.allCalls() ?? [] });
  const calls = new B2bua({ ...base, router, journal: deps.journal ? bothJournals(deps.journal, shared) : shared });
  b2bua = calls;
  const events = calls.events;
  const nailedUp = new NailedUpConnections(base);
  calls.bindNailedUp(nailedUp);
  // The agents layer asks for the `nailed-up` extension of its events (behaviour §10.3).
  deps.agents?.useEventExtensions((dn, name) => nailedUp.agentEventExtensions(dn, name));
  const inbound = new InboundCalls({
    calls,
    events,
    ua,
    reachability,
    directory,
    router,
    policy,
    logger,
    testFaults: deps.testFaults,
  });
  const lookup = new CallLookup(calls, directory, reachability);
  const thirdParty = new ThirdPartyControl(calls, events, directory);
  const makeCalls = new MakeCallFlows({
    calls,
    events,
    lookup,
    thirdParty,
    directory,
    reachability,
    router,
    clock,
    logger,
  });
  const holds = new HoldControl({ calls, events, thirdParty, directory });
  const consultations = new Consultations({ calls, events, lookup, thirdParty, holds, directory, router });
  const conferences = new Conferences({ calls, events, lookup, thirdParty, consultations, logger });
  const detach = attachCallHandlers(deps.stack, ua, (ctx, admission) => inbound.onInvite(ctx, admission), deps.trust);
  return {
    ua,
    b2bua: calls,
    delivery: new CallDeliveryService({ calls, inbound, thirdParty, reachability, directory, policy, logger }),
    control: new CallControlService({
      calls,
      events,
      lookup,
      thirdParty,
      makeCalls,
      consultations,
      holds,
      conferences,
      answers: new AnswerCall(lookup, directory),
      directory,
      router,
      policy,
      shared,
    }),
    nailedUp,
    shared,
    close() {
      nailedUp.close();
      calls.releaseAll();
      detach();
    },
  };
}
