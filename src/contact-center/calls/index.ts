/**
 * Call control wiring: builds the dialog layer over the SIP stack, the B2BUA, the router's
 * delivery port and the CTI call-control port. The server start command calls
 * {@link createCallControl} once and hands `delivery` to the router and `control` to the CTI
 * gateway.
 */
import type { AgentService } from '../agents/agent-service.js';
import type { ContactCenterEventBus } from '../events.js';
import { DialogStackAdapter } from '../../sip/dialog/dialog-stack-adapter.js';
import { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { SipStack } from '../../sip/stack/sip-stack.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { AgentCallPolicy } from './agent-call-policy.js';
import { AgentPhoneOptionDirectory } from './agent-phone-option-directory.js';
import { B2bua } from './b2bua.js';
import { CallControlService } from './call-control-service.js';
import { CallDeliveryService } from './call-delivery-service.js';
import type { CallJournal } from './call-journal.js';
import type { CallDirectory, CallReachability, CallRouter } from './call-ports.js';

export { B2bua, type DialResult, type DialOptions, failureStatus } from './b2bua.js';
export { Call, CallState } from './call.js';
export { CallLeg, LegState } from './call-leg.js';
export { CallControlService } from './call-control-service.js';
export { CallDeliveryService } from './call-delivery-service.js';
export { AgentCallPolicy } from './agent-call-policy.js';
export { AgentPhoneOptionDirectory } from './agent-phone-option-directory.js';
export { ConnIdGenerator } from './conn-id-generator.js';
export { noCallJournal, callParties, type CallJournal, type LostCall } from './call-journal.js';
export { SqliteCallJournal } from './sqlite-call-journal.js';
export type { CallAgentPolicy, CallDirectory, CallReachability, CallRouter, InviteFailureKind } from './call-ports.js';

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
  /** Can be set later (`b2bua.router = …`) since the router needs `delivery` first. */
  router?: CallRouter;
  /** RFC 3261 timer base values for 2xx retransmission (default 500 ms / 4 s). */
  timers?: { t1?: number; t2?: number };
  /** Active-call journal (restart reporting); default none. */
  journal?: CallJournal;
}

/** Everything call control offers to the rest of the server. */
export interface CallControlModule {
  ua: DialogUserAgent;
  b2bua: B2bua;
  /** The router's `CallDelivery` port. */
  delivery: CallDeliveryService;
  /** The CTI gateway's `CallControl` port. */
  control: CallControlService;
  /** Unwire from the stack and release every call (BYE). */
  close(): void;
}

/** Build and wire call control onto `stack` (handlers for INVITE, BYE, UPDATE, INFO, REFER… and 2xx ACKs). */
export function createCallControl(deps: CallControlDeps): CallControlModule {
  const ua = new DialogUserAgent({ stack: new DialogStackAdapter(deps.stack), clock: deps.clock, logger: deps.logger, timers: deps.timers });
  // A DN worked on an agent-phone takes the device options of the agent-phone's softswitch.
  const directory = new AgentPhoneOptionDirectory(deps.directory, deps.reachability);
  const b2bua = new B2bua({
    ua,
    reachability: deps.reachability,
    directory,
    bus: deps.bus,
    clock: deps.clock,
    logger: deps.logger,
    router: deps.router,
    policy: deps.agents ? new AgentCallPolicy(deps.agents, directory) : undefined,
    journal: deps.journal,
  });
  const detach = b2bua.attach(deps.stack);
  return {
    ua,
    b2bua,
    delivery: new CallDeliveryService(b2bua),
    control: new CallControlService(b2bua),
    close() {
      b2bua.releaseAll();
      detach();
    },
  };
}
