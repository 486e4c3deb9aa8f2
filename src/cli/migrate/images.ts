/**
 * Before and after images of a planned agent, compared with what the server holds: the stale-plan
 * check, settling a batch a crashed run left in flight, and the changes that restore the
 * before-images (docs/migration.md "Resuming", "Rollback").
 */
import type { ChangeRequest } from '../../config/change-set.js';
import type { ConfigInput } from '../../config/config-model.js';
import { agentDoc, dnDoc } from './plan.js';
import type { AgentDoc, DnDoc, MigrationPlan, PlannedAgent } from './plan-file.js';

/** The agent as it is once moved. */
export function afterAgent(p: PlannedAgent): AgentDoc {
  const a: AgentDoc = { ...p.before.agent, options: { ...p.before.agent.options } };
  if (p.mode === 'agent-phone') a.options['agent-phone'] = p.homeNumber;
  else a.dn = p.homeNumber;
  return a;
}

/** The home DN as it is once created (null for agent-phone). */
export function afterHomeDn(p: PlannedAgent): DnDoc | null {
  if (p.mode === 'agent-phone') return null;
  return { number: p.homeNumber, type: 'extension', options: p.mode === 'nailed-up' ? { 'line-type': '1' } : {} };
}

/** Lookup of the server's objects. */
export class ModelView {
  readonly agents: Map<string, AgentDoc>;
  readonly dns: Map<string, DnDoc>;
  constructor(readonly model: ConfigInput) {
    this.agents = new Map(model.agents.map((a) => [a.id, agentDoc(a)]));
    this.dns = new Map(model.dns.map((d) => [d.number, dnDoc(d)]));
  }
}

/**
 * Deep equality of plain JSON values, keys in any order, an `undefined` member the same as a
 * missing one (what comparing `canonicalJson` forms says, without building the strings and without
 * loading the configuration-file code into the CLI).
 */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => same(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => same(ao[k], bo[k]));
}

/** Where the server's state puts one planned agent. */
export type AgentState = 'before' | 'after' | 'changed';

/**
 * `before` when the agent and the home DN are as the plan found them (the office DN too, unless
 * `removedDns` says this tool deleted it); `after` when the move is applied; `changed` otherwise.
 */
export function agentState(p: PlannedAgent, view: ModelView, removedDns: ReadonlySet<string> = new Set()): AgentState {
  const agent = view.agents.get(p.agentId);
  const home = p.mode === 'agent-phone' ? null : (view.dns.get(p.homeNumber) ?? null);
  const office = p.before.officeDn;
  const officeOk =
    !office ||
    same(view.dns.get(office.number) ?? null, office) ||
    (removedDns.has(office.number) && !view.dns.has(office.number));
  if (same(agent, p.before.agent) && home === null && officeOk) return 'before';
  if (same(agent, afterAgent(p)) && same(home, afterHomeDn(p))) return 'after';
  return 'changed';
}

/** A human-readable reason for `changed`. */
export function changedWhy(p: PlannedAgent, view: ModelView): string {
  const agent = view.agents.get(p.agentId);
  if (!agent) return `agent ${p.agentId} was deleted`;
  if (!same(agent, p.before.agent) && !same(agent, afterAgent(p))) return `agent ${p.agentId} changed`;
  if (p.mode !== 'agent-phone' && view.dns.has(p.homeNumber) && !same(view.dns.get(p.homeNumber), afterHomeDn(p)))
    return `DN ${p.homeNumber} exists`;
  const office = p.before.officeDn;
  if (office) return `office DN ${office.number} changed`;
  return `agent ${p.agentId} changed`;
}

/** The value of an agent `put` that restores `a` (no password: the stored one is kept). */
function agentPut(a: AgentDoc): ChangeRequest {
  const value: Record<string, unknown> = { name: a.name, options: { ...a.options } };
  if (a.dn !== undefined) value.dn = a.dn;
  return { op: 'put', kind: 'agent', key: a.id, value };
}

/**
 * The change that re-creates an office DN exactly as the change-set `version` deleted it, its
 * digest password included: the server takes it from its change feed (`restoreFrom`,
 * docs/admin-api.md "Restoring a removed object"); the API never returns secrets to this tool.
 */
export function dnRestore(number: string, version: number): ChangeRequest {
  return { op: 'create', kind: 'dn', key: number, restoreFrom: version };
}

/**
 * One change-set that restores the before-images of `agents`: office DNs in `restoreDns`
 * (number → the version of the change-set that deleted it) re-created, agents put back, home
 * DNs deleted, and the plan's softswitch deleted when `deleteSoftswitch`.
 */
export function restoreChanges(
  plan: MigrationPlan,
  agents: PlannedAgent[],
  restoreDns: ReadonlyMap<string, number>,
  deleteSoftswitch: boolean,
): ChangeRequest[] {
  const out: ChangeRequest[] = [];
  for (const [n, version] of restoreDns) out.push(dnRestore(n, version));
  for (const p of agents) out.push(agentPut(p.before.agent));
  for (const p of agents) if (p.mode !== 'agent-phone') out.push({ op: 'delete', kind: 'dn', key: p.homeNumber });
  if (deleteSoftswitch) out.push({ op: 'delete', kind: 'dn', key: plan.softswitch });
  return out;
}
