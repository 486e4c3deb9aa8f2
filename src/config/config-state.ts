/**
 * The in-memory configuration with its incremental indexes, and the change-set planner that
 * validates a change-set against the resulting configuration as a whole (behaviour §13) while
 * looking only at the touched objects and their dependants.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, Options, ServerConfig, ConfigModel } from './config-model.js';
import { defaultServerConfig, isAgentDnType } from './config-model.js';
import type { AppliedChange, ChangeKind, ChangeOp, ChangeProblem, ChangeRequest } from './change-set.js';
import { DnNumberIndex } from './dn-number-index.js';
import { SoftswitchPrefixTable } from './softswitch-prefix-table.js';
import { checkOptionValue, optionSpec, type OptionTarget } from './option-table.js';
import {
  ProblemSink,
  isObject,
  readAgentEntry,
  readAgentList,
  readGroupEntry,
  readDnEntry,
  readKey,
  readOptions,
  readScalar,
  readServer,
  show,
  readNumber,
  type ValuePath,
} from './config-values.js';
import { normaliseNumber } from './number-normalise.js';

/** Result of planning a change-set: the changes as they would apply, or the problems. */
export interface ChangePlan {
  applied: AppliedChange[];
  errors: ChangeProblem[];
  warnings: ChangeProblem[];
}

/** Where an effective option value came from (behaviour §2.2). */
export type OptionSource = 'dn' | 'softswitch' | 'application' | 'default';

/** An effective option value and where it was found. */
export interface ResolvedOption {
  value: string;
  source: OptionSource;
  /** The softswitch DN, when `source` is `softswitch`. */
  via?: string;
}

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
  plan(changes: readonly ChangeRequest[]): ChangePlan {
    return new ChangePlanner(this).plan(changes);
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

  /**
   * The effective value of option `name` for the DN `number` (behaviour §2.2): the DN's own
   * value; else, if the DN is an extension or ACD position without `contact`, the value on the
   * softswitch its number falls behind (longest prefix); else the application option; else the built-in default. An
   * empty value counts as not set. A number that is no DN (e.g. an `agent-phone`) resolves
   * like a DN without options. Costs a few map lookups.
   */
  resolveOption(number: string, name: string): ResolvedOption | undefined {
    const spec = optionSpec(name);
    const dn = this.dns.get(number);
    const own = dn?.options[name];
    if (own !== undefined && own !== '') return { value: own, source: 'dn' };
    const inherit = spec ? spec.inheritFromSoftswitch : true;
    const hasContact = dn !== undefined && (dn.options.contact ?? '') !== '';
    // Only agent devices sit behind a softswitch (behaviour §3.1): extensions, ACD positions,
    // and numbers that are no DN (agent-phone); never routing points, queues, trunks or the
    // softswitch itself.
    const device = dn === undefined || isAgentDnType(dn.type);
    if (inherit && device && !hasContact) {
      const ssName = this.prefixTable.select(dn !== undefined ? dn.number : normaliseNumber(number));
      const ss = ssName !== undefined ? this.dns.get(ssName) : undefined;
      const v = ss?.options[name];
      if (v !== undefined && v !== '') return { value: v, source: 'softswitch', via: ss!.number };
    }
    if (!spec || spec.appliesTo.includes('application')) {
      const v = this.server.options[name];
      if (v !== undefined && v !== '') return { value: v, source: 'application' };
    }
    if (spec?.default !== undefined) return { value: spec.default, source: 'default' };
    return undefined;
  }
}

type Overlay<T> = Map<string, T | null>;

/** Validates one change-set against a state plus the changes before it. */
class ChangePlanner {
  private readonly dnO: Overlay<DnConfig> = new Map();
  private readonly agentO: Overlay<AgentConfig> = new Map();
  private readonly groupO: Overlay<AgentGroupConfig> = new Map();
  private serverNew: ServerConfig | undefined;
  private serverIndex = -1;
  /** last change index touching each object */
  private readonly touchedDn = new Map<string, number>();
  private readonly touchedAgent = new Map<string, number>();
  private readonly touchedGroup = new Map<string, number>();
  private readonly errors: ChangeProblem[] = [];
  private readonly warnings: ChangeProblem[] = [];

  constructor(private readonly s: ConfigState) {}

  private dn(k: string): DnConfig | null {
    const o = this.dnO.get(k);
    return o !== undefined ? o : (this.s.dns.get(k) ?? null);
  }
  private agent(k: string): AgentConfig | null {
    const o = this.agentO.get(k);
    return o !== undefined ? o : (this.s.agents.get(k) ?? null);
  }
  private group(k: string): AgentGroupConfig | null {
    const o = this.groupO.get(k);
    return o !== undefined ? o : (this.s.groups.get(k) ?? null);
  }

  private err(index: number, message: string, path?: ValuePath): void {
    this.errors.push(path ? { index, message, path } : { index, message });
  }

  plan(changes: readonly ChangeRequest[]): ChangePlan {
    const applied: AppliedChange[] = [];
    changes.forEach((c, i) => {
      const a = this.parseOne(c, i);
      if (a) applied.push(a);
    });
    // Validate what parsed even when some changes did not, so that every problem is listed.
    this.validate();
    this.errors.sort((a, b) => a.index - b.index);
    return { applied: this.errors.length ? [] : applied, errors: this.errors, warnings: this.warnings };
  }

  private sinkToErrors(sink: ProblemSink, index: number): void {
    for (const p of sink.problems) this.err(index, p.message, p.path);
  }

  private parseOne(c: ChangeRequest, i: number): AppliedChange | undefined {
    if (!isObject(c)) {
      this.err(i, 'a change must be an object with op, kind, key and value');
      return undefined;
    }
    const extra = Object.keys(c).filter((k) => !['op', 'kind', 'key', 'value'].includes(k));
    if (extra.length) this.err(i, `unknown key "${extra[0]}" in change (allowed: op, kind, key, value)`);
    const op = c.op as ChangeOp;
    const kind = c.kind as ChangeKind;
    if (!['put', 'patch', 'delete'].includes(op)) {
      this.err(i, `op "${show(c.op)}" is not put, patch or delete`);
      return undefined;
    }
    if (!['dn', 'agent', 'agent-group', 'server'].includes(kind)) {
      this.err(i, `kind "${show(c.kind)}" is not dn, agent, agent-group or server`);
      return undefined;
    }
    const sink = new ProblemSink();
    const rawKey = kind === 'server' ? 'server' : readKey(c.key, ['key'], sink, 'key');
    if (rawKey === undefined) {
      this.sinkToErrors(sink, i);
      return undefined;
    }
    if (op === 'delete' && c.value !== undefined && c.value !== null) {
      this.err(i, 'a delete takes no value');
      return undefined;
    }
    if (op !== 'delete' && !isObject(c.value)) {
      this.err(i, `${op} needs a value object`);
      return undefined;
    }
    const value = (c.value ?? {}) as Record<string, unknown>;
    switch (kind) {
      case 'dn':
        return this.parseDn(op, normaliseNumber(rawKey), rawKey, value, i);
      case 'agent':
        return this.parseAgent(op, rawKey, value, i);
      case 'agent-group':
        return this.parseGroup(op, rawKey, value, i);
      case 'server':
        return this.parseServer(op, value, i);
    }
  }

  private parseDn(op: ChangeOp, key: string, written: string, v: Record<string, unknown>, i: number): AppliedChange | undefined {
    if (key === '') {
      this.err(i, `DN number "${written}" is empty once normalised`);
      return undefined;
    }
    const old = this.dn(key);
    let neu: DnConfig | null = null;
    const sink = new ProblemSink();
    if (op === 'delete') {
      if (!old) this.err(i, `DN ${key} does not exist`);
    } else if (op === 'put') {
      const body = readDnEntry({ number: v.number ?? written, ...v }, [], sink);
      if (body && v.number !== undefined && body.number !== key) sink.add(['number'], `number ${body.number} differs from key ${key}`);
      if (body) neu = { number: key, type: body.type, options: body.options };
    } else {
      if (!old) this.err(i, `DN ${key} does not exist`);
      for (const k of Object.keys(v)) if (k !== 'type' && k !== 'options') sink.add([k], `unknown key "${k}" in DN patch (allowed: type, options)`);
      const opts = readOptions(v.options, ['options'], sink, true);
      let type = old?.type;
      if (v.type !== undefined) {
        const b = readDnEntry({ number: key, type: v.type }, [], sink);
        if (b) type = b.type;
      }
      if (old && opts && type) {
        const merged: Options = { ...old.options };
        for (const [k, val] of Object.entries(opts)) {
          if (val === null) delete merged[k];
          else merged[k] = val;
        }
        neu = { number: key, type, options: merged };
      }
    }
    this.sinkToErrors(sink, i);
    if (sink.problems.length || (op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    this.dnO.set(key, neu);
    this.touchedDn.set(key, i);
    return { op, kind: 'dn', key, old, new: neu };
  }

  private parseAgent(op: ChangeOp, key: string, v: Record<string, unknown>, i: number): AppliedChange | undefined {
    const old = this.agent(key);
    let neu: AgentConfig | null = null;
    const sink = new ProblemSink();
    if (op === 'delete') {
      if (!old) this.err(i, `agent ${key} does not exist`);
    } else if (op === 'put') {
      if (v.id !== undefined && v.id !== key) sink.add(['id'], `id "${show(v.id)}" differs from key ${key}`);
      // PUT without password keeps the stored one: the API never returns passwords.
      const password = v.password ?? old?.password;
      const body = readAgentEntry({ ...v, id: key, ...(password !== undefined ? { password } : {}) }, [], sink);
      if (body) neu = body;
    } else {
      if (!old) this.err(i, `agent ${key} does not exist`);
      for (const k of Object.keys(v)) {
        if (!['name', 'password', 'dn', 'options'].includes(k)) sink.add([k], `unknown key "${k}" in agent patch (allowed: name, password, dn, options)`);
      }
      if (old) {
        const a: AgentConfig = { ...old, options: { ...old.options } };
        if (v.name !== undefined) a.name = readScalar(v.name, ['name'], sink, 'name') ?? a.name;
        if (v.password !== undefined) a.password = readKey(v.password, ['password'], sink, 'password') ?? a.password;
        if (v.dn === null || v.dn === '') delete a.dn;
        else if (v.dn !== undefined) {
          const d = readNumber(v.dn, ['dn'], sink, 'dn');
          if (d) a.dn = d;
        }
        const opts = readOptions(v.options, ['options'], sink, true);
        if (opts) for (const [k, val] of Object.entries(opts)) {
          if (val === null) delete a.options[k];
          else a.options[k] = val;
        }
        neu = a;
      }
    }
    this.sinkToErrors(sink, i);
    if (sink.problems.length || (op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    this.agentO.set(key, neu);
    this.touchedAgent.set(key, i);
    return { op, kind: 'agent', key, old, new: neu };
  }

  private parseGroup(op: ChangeOp, key: string, v: Record<string, unknown>, i: number): AppliedChange | undefined {
    const old = this.group(key);
    let neu: AgentGroupConfig | null = null;
    const sink = new ProblemSink();
    if (op === 'delete') {
      if (!old) this.err(i, `agent group ${key} does not exist`);
    } else if (op === 'put') {
      if (v.name !== undefined && v.name !== key) sink.add(['name'], `name "${show(v.name)}" differs from key ${key}`);
      const body = readGroupEntry({ ...v, name: key }, [], sink);
      if (body) neu = body;
    } else {
      if (!old) this.err(i, `agent group ${key} does not exist`);
      for (const k of Object.keys(v)) if (k !== 'agents') sink.add([k], `unknown key "${k}" in agent-group patch (allowed: agents)`);
      const agents = v.agents === undefined ? old?.agents : readAgentList(v.agents, ['agents'], sink);
      if (old && agents) neu = { name: key, agents };
    }
    this.sinkToErrors(sink, i);
    if (sink.problems.length || (op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    this.groupO.set(key, neu);
    this.touchedGroup.set(key, i);
    return { op, kind: 'agent-group', key, old, new: neu };
  }

  private parseServer(op: ChangeOp, v: Record<string, unknown>, i: number): AppliedChange | undefined {
    const old = this.serverNew ?? this.s.server;
    if (op === 'delete') {
      this.err(i, 'the server section cannot be deleted');
      return undefined;
    }
    const sink = new ProblemSink();
    let neu: ServerConfig | undefined;
    if (op === 'put') neu = readServer(v, [], sink);
    else {
      for (const k of Object.keys(v)) if (k !== 'options') sink.add([k], 'a server patch takes only options');
      const opts = readOptions(v.options, ['options'], sink, true);
      if (opts) {
        const merged: Options = { ...old.options };
        for (const [k, val] of Object.entries(opts)) {
          if (val === null) delete merged[k];
          else merged[k] = val;
        }
        neu = { ...old, options: merged };
      }
    }
    this.sinkToErrors(sink, i);
    if (!neu || sink.problems.length) return undefined;
    this.serverNew = neu;
    this.serverIndex = i;
    return { op, kind: 'server', key: 'server', old, new: neu };
  }

  private checkOptions(options: Options, target: OptionTarget, i: number, what: string): void {
    for (const [name, value] of Object.entries(options)) {
      const spec = optionSpec(name);
      if (!spec) {
        this.warnings.push({ index: i, message: `${what}: unknown option ${name} (kept)`, path: ['options', name] });
        continue;
      }
      const bad = checkOptionValue(spec, value);
      if (bad) this.err(i, `${what}: ${bad}`, ['options', name]);
      else if (!spec.appliesTo.includes(target)) {
        // resolveOption reads a DN's own value first for every option that is not agent-only
        // (behaviour §2.2 step 1, the "Lookup" column of docs/options.md): say so, not "ignored".
        const readOnDn = target !== 'application' && target !== 'agent' && !spec.appliesTo.includes('agent');
        const note = readOnDn ? "kept; read as this DN's own value" : 'kept, ignored';
        this.warnings.push({ index: i, message: `${what}: option ${name} is not documented for ${target} (${note})`, path: ['options', name] });
      }
    }
  }

  private validate(): void {
    for (const [key, i] of this.touchedDn) {
      const d = this.dn(key);
      if (d) this.validateDn(d, i);
      else {
        // Deleted: no agent may keep it as its DN.
        for (const id of this.s.agentsOfDn(key)) {
          const a = this.agent(id);
          if (a && a.dn === key) this.err(i, `DN ${key} is the DN of agent ${id}; change or delete the agent too`);
        }
      }
      // A routing point that stopped naming a group needs no check; one that names a group is checked in validateDn.
    }
    for (const [id, i] of this.touchedAgent) {
      const a = this.agent(id);
      if (a) {
        if (a.dn !== undefined && !this.dn(a.dn)) this.err(i, `agent ${id}: DN ${a.dn} does not exist`, ['dn']);
        this.checkOptions(a.options, 'agent', i, `agent ${id}`);
      } else {
        for (const g of this.s.groupsOfAgent(id)) {
          const grp = this.group(g);
          if (grp && grp.agents.includes(id)) this.err(i, `agent ${id} is a member of agent group ${g}; remove it from the group too`);
        }
      }
    }
    for (const [name, i] of this.touchedGroup) {
      const g = this.group(name);
      if (g) {
        g.agents.forEach((id, j) => {
          if (!this.agent(id)) this.err(i, `agent group ${name}: agent ${id} does not exist`, ['agents', j]);
        });
      } else {
        for (const rp of this.s.routingPointsOfGroup(name)) {
          const d = this.dn(rp);
          if (d && d.type === 'routing-point' && d.options['agent-group'] === name) {
            this.err(i, `agent group ${name} is the agent-group of routing point ${rp}; change the routing point too`);
          }
        }
      }
    }
    if (this.serverNew) this.checkOptions(this.serverNew.options, 'application', this.serverIndex, 'server');
  }

  private validateDn(d: DnConfig, i: number): void {
    const what = `DN ${d.number}`;
    this.checkOptions(d.options, d.type, i, what);
    if (d.type === 'voip-service' && d.options['service-type'] === 'softswitch') {
      const contact = d.options.contact ?? '';
      if (contact === '' || contact === '*') this.err(i, `${what}: a softswitch needs a contact (host[:port] or SIP URI)`, ['options']);
      if ((d.options.prefix ?? '').trim() === '') this.err(i, `${what}: a softswitch needs a prefix`, ['options']);
    }
    if (d.type === 'routing-point') {
      const g = d.options['agent-group'];
      if (g !== undefined && g !== '' && !this.group(g)) this.err(i, `${what}: agent-group ${g} does not exist`, ['options', 'agent-group']);
    }
  }
}
