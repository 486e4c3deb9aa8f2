/**
 * The in-memory configuration with its incremental indexes. Change-sets are planned against it
 * by the change planner (change-planner.ts) and committed to it once the store has them.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, Options, ServerConfig, ConfigModel } from './config-model.js';
import { defaultServerConfig } from './config-model.js';
import type { AppliedChange, ChangeRequest } from './change-set.js';
import { DnNumberIndex } from './dn-number-index.js';
import { SoftswitchPrefixTable } from './softswitch-prefix-table.js';
import { ChangePlanner, type ChangePlan, type PlanOptions } from './change-planner.js';
import { resolveOption, type ResolvedOption } from './option-resolution.js';

const EMPTY_OPTIONS: Options = Object.freeze({}) as Options;

function addToSetMap(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFromSetMap(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Shares one frozen empty object among all DNs without options (memory per DN). */
function compactOptions(o: Options): Options {
  for (const _k in o) return o;
  return EMPTY_OPTIONS;
}

/** The configuration held in memory. */
export class ConfigState {
  server: ServerConfig = defaultServerConfig();
  readonly dns = new DnNumberIndex();
  readonly agents = new Map<string, AgentConfig>();
  readonly groups = new Map<string, AgentGroupConfig>();
  readonly prefixTable = new SoftswitchPrefixTable();
  /** DN number → ids of the agents whose default DN it is. */
  private readonly agentsByDn = new Map<string, Set<string>>();
  /** agent id → names of the groups listing it. */
  private readonly groupsByAgent = new Map<string, Set<string>>();
  /** group name → routing point DNs whose `agent-group` names it. */
  private readonly routingPointsByGroup = new Map<string, Set<string>>();

  /** The whole configuration as a model (configuration order). */
  toModel(): ConfigModel {
    return {
      server: this.server,
      dns: [...this.dns.values()],
      agents: [...this.agents.values()],
      agentGroups: [...this.groups.values()],
    };
  }

  /**
   * Plans `changes` against this state: parses every change, computes old/new values, and
   * validates the touched objects and their dependants in the resulting configuration.
   * Nothing is modified.
   */
  plan(changes: readonly ChangeRequest[], options: PlanOptions = {}): ChangePlan {
    const steps = this.planSteps(changes, options);
    for (let r = steps.next(); ; r = steps.next()) if (r.done) return r.value;
  }

  /**
   * {@link plan} in steps: the generator yields every {@link PLAN_STEP} changes or objects
   * checked, and returns the plan. Between two steps the state must not change (the store's
   * `applyAsync` guarantees it: one writer at a time); what a change-set is validated against
   * stays the whole configuration (behaviour §13).
   */
  planSteps(changes: readonly ChangeRequest[], options: PlanOptions = {}): Generator<void, ChangePlan, void> {
    return new ChangePlanner(this, options).plan(changes);
  }

  /** Applies planned changes to the maps and indexes (after the store committed them). */
  commit(applied: readonly AppliedChange[]): void {
    for (const c of applied) {
      switch (c.kind) {
        case 'dn':
          if (c.new) c.new.options = compactOptions(c.new.options);
          this.applyDn(c.old, c.new);
          break;
        case 'agent':
          this.applyAgent(c.old, c.new);
          break;
        case 'agent-group':
          this.applyGroup(c.old, c.new);
          break;
        case 'server':
          if (c.new) this.server = c.new;
          break;
      }
    }
  }

  /** Loads objects known to be valid (from the store) without validation. */
  loadUnchecked(dn: DnConfig): void {
    dn.options = compactOptions(dn.options);
    this.applyDn(null, dn);
  }

  /** Loads an agent known to be valid. */
  loadAgentUnchecked(a: AgentConfig): void {
    this.applyAgent(null, a);
  }

  /** Loads a group known to be valid. */
  loadGroupUnchecked(g: AgentGroupConfig): void {
    this.applyGroup(null, g);
  }

  private applyDn(old: DnConfig | null, neu: DnConfig | null): void {
    const o = old ?? (neu ? (this.dns.get(neu.number) ?? null) : null);
    this.dns.applyDnChange(o, neu);
    this.prefixTable.applyDnChange(o, neu);
    const og = o?.type === 'routing-point' ? o.options['agent-group'] : undefined;
    const ng = neu?.type === 'routing-point' ? neu.options['agent-group'] : undefined;
    if (o && og) removeFromSetMap(this.routingPointsByGroup, og, o.number);
    if (neu && ng) addToSetMap(this.routingPointsByGroup, ng, neu.number);
  }

  private applyAgent(old: AgentConfig | null, neu: AgentConfig | null): void {
    const o = old ?? (neu ? (this.agents.get(neu.id) ?? null) : null);
    if (o) {
      this.agents.delete(o.id);
      if (o.dn) removeFromSetMap(this.agentsByDn, o.dn, o.id);
    }
    if (neu) {
      this.agents.set(neu.id, neu);
      if (neu.dn) addToSetMap(this.agentsByDn, neu.dn, neu.id);
    }
  }

  private applyGroup(old: AgentGroupConfig | null, neu: AgentGroupConfig | null): void {
    const o = old ?? (neu ? (this.groups.get(neu.name) ?? null) : null);
    if (o) {
      this.groups.delete(o.name);
      for (const a of o.agents) removeFromSetMap(this.groupsByAgent, a, o.name);
    }
    if (neu) {
      this.groups.set(neu.name, neu);
      for (const a of neu.agents) addToSetMap(this.groupsByAgent, a, neu.name);
    }
  }

  /** Agents whose default DN is `dn` (reverse index). */
  agentsOfDn(dn: string): ReadonlySet<string> {
    return this.agentsByDn.get(dn) ?? new Set();
  }

  /** Groups that list the agent (reverse index). */
  groupsOfAgent(id: string): ReadonlySet<string> {
    return this.groupsByAgent.get(id) ?? new Set();
  }

  /** Routing points whose `agent-group` names the group (reverse index). */
  routingPointsOfGroup(name: string): ReadonlySet<string> {
    return this.routingPointsByGroup.get(name) ?? new Set();
  }

  /** The effective value of option `name` for the DN `number`: {@link resolveOption}. */
  resolveOption(number: string, name: string): ResolvedOption | undefined {
    return resolveOption(this, number, name);
  }
}
