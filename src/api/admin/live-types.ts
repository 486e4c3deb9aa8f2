/**
 * Wire types of the admin console's live stream (`GET /api/events`, docs/admin-api.md) and of
 * `GET /api/calls`. Shared with the browser console (web/src/admin) through `import type`.
 */
import type { CallType } from '../../contact-center/events.js';
import type { AgentStatusEntry } from '../../contact-center/agents/agent-status-provider.js';
import type { DeviceState, DeviceStatus } from '../../reachability/oos-prober.js';
import type { RegistrationStatus } from '../../registrar/registrar-module.js';
import type { ChangeKind, ChangeOp } from '../../config/change-set.js';
import type { ConfigQueueStatus } from './change-set-queue.js';
import type { ServerStatus } from '../status.js';
import type { ClusterNodeView, ClusterView } from '../../cluster/cluster-types.js';

export type { AgentStatusEntry, DeviceStatus, DeviceState, RegistrationStatus, ConfigQueueStatus, ServerStatus };

/** What a call is doing, as the best of its parties' states (established > held > ringing > dialing). */
export type ActiveCallState = 'dialing' | 'ringing' | 'established' | 'held';

/** A live call (`GET /api/calls`, the stream's `calls` event). */
export interface ActiveCall {
  connId: string;
  callType: CallType;
  state: ActiveCallState;
  /** The server's DNs on the call and the other parties they see (ANI, destination), first seen first. */
  parties: string[];
  ani?: string;
  dnis?: string;
  /** ISO time of the first event of the call. */
  start: string;
}

/** A committed change-set in short (the stream's `change-sets` event). */
export interface ChangeSetSummary {
  version: number;
  /** ISO commit time. */
  time: string;
  origin?: string;
  /** Number of changes. */
  size: number;
  /** Changes by kind and op, e.g. `{ "dn patch": 2, "agent put": 1 }`. */
  counts: Partial<Record<`${ChangeKind} ${ChangeOp}`, number>>;
  /** The keys of the first few changes (at most 5). */
  firstKeys: string[];
}

/** One in/out-of-service transition of a probed device. */
export interface DeviceTransition {
  /** ISO time. */
  time: string;
  state: DeviceState;
  reason?: string;
}

/** The first event of the stream (`event: snapshot`). */
export interface LiveSnapshot {
  /** Every section of `GET /api/status`, `config` included. */
  status: ServerStatus & { config: ConfigQueueStatus };
  /** The nodes of the cluster, once read (`GET /api/cluster` without the owners). */
  cluster?: ClusterDelta;
  calls: ActiveCall[];
  /** The last change-sets, oldest first. */
  changeSets: ChangeSetSummary[];
  /** The last transitions of each probed device, oldest first. */
  deviceHistory: Record<string, DeviceTransition[]>;
}

/** `event: registrations`: the whole current binding list of each DN that changed (empty = none left). */
export interface RegistrationsDelta {
  dn: string;
  bindings: RegistrationStatus[];
}

/** `event: calls`. */
export interface CallsDelta {
  active: number;
  waiting: number;
  changed: ActiveCall[];
  /** connIds of the calls that ended. */
  ended: string[];
}

/** `event: devices`: the devices whose state changed or that were probed, with their new transitions. */
export interface DevicesDelta {
  devices: DeviceStatus[];
  transitions: Record<string, DeviceTransition[]>;
}

/** `event: load`, every second. */
export interface LoadDelta {
  load: ServerStatus['load'];
  config: ConfigQueueStatus;
}

/** `event: cluster`: the cluster's nodes, when a node joins, dies, is taken over or its agent count changes. */
export interface ClusterDelta {
  mode: ClusterView['mode'];
  self: string;
  nodes: ClusterNodeView[];
}

/** Event name → data of the stream's events. */
export interface LiveEvents {
  snapshot: LiveSnapshot;
  agents: AgentStatusEntry[];
  devices: DevicesDelta;
  registrations: RegistrationsDelta[];
  calls: CallsDelta;
  'change-sets': ChangeSetSummary[];
  load: LoadDelta;
  cluster: ClusterDelta;
}
