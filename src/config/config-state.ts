/**
 * The in-memory configuration with its incremental indexes, and the change-set planner that
 * validates a change-set against the resulting configuration as a whole (behaviour §13) while
 * looking only at the touched objects and their dependants.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, Options, ServerConfig, ConfigModel } from './config-model.js';
import { defaultServerConfig, isAgentDnType } from './config-model.js';
import type {
  AppliedChange,
  ChangeKind,
  ChangeOp,
  ChangeProblem,
  ChangeRequest,
  ChangeRequestOp,
  CommittedChangeSet,
} from './change-set.js';
import { DnNumberIndex } from './dn-number-index.js';
import { SoftswitchPrefixTable } from './softswitch-prefix-table.js';
import { checkOptionValue, optionSpec, type OptionTarget } from './option-table.js';
import {
  ProblemSink,
  isObject,
  readAgentList,
  readAgentParts,
  readDnParts,
  readGroupParts,
  readKey,
  readOptions,
  readScalar,
  readServerParts,
  show,
  readNumber,
  type ValuePath,
} from './config-values.js';
import { normaliseNumber } from './number-normalise.js';
import { keepSecretOptions, withoutSecretOptions } from './secrets.js';

/** Result of planning a change-set: the changes as they would apply, or the problems. */
export interface ChangePlan {
  applied: AppliedChange[];
  errors: ChangeProblem[];
  warnings: ChangeProblem[];
}

/** Options of {@link ConfigState.plan}. */
export interface PlanOptions {
  /**
   * The changes come from a file that may leave secrets out (an export without secrets): an
   * agent without a password is no problem and `admin-token: ""` stays as written, for
   * `ConfigStore.reconcile` to resolve against the store. Never for changes the store applies.
   */
  secretsMayBeOmitted?: boolean;
  /**
   * The committed change-set of a version, secrets included (the store's change feed), for
   * `create` with `restoreFrom`. Absent: such a change is refused (nothing to restore from).
   */
  changeSetAt?: (version: number) => CommittedChangeSet | undefined;
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

/** A problem found in an `options` mapping, at `['options', name]`. */
export interface OptionProblem {
  message: string;
  path: ValuePath;
}

/**
 * Checks the values of an `options` mapping against the option table (docs/options.md): a bad
 * value of a known option is an error, an unknown name a warning (kept), and an option not
 * documented for `target` a warning. `target` undefined (e.g. a DN whose type could not be
 * read) checks the values only. `what` starts every message (`DN 7777`, `agent joe`, `server`).
 */
export function checkOptions(
  options: Options,
  target: OptionTarget | undefined,
  what: string,
): { errors: OptionProblem[]; warnings: OptionProblem[] } {
  const errors: OptionProblem[] = [];
  const warnings: OptionProblem[] = [];
  for (const [name, value] of Object.entries(options)) {
    const spec = optionSpec(name);
    const path = ['options', name];
    if (!spec) {
      warnings.push({ message: `${what}: unknown option ${name} (kept)`, path });
      continue;
    }
    const bad = checkOptionValue(spec, value);
    if (bad) errors.push({ message: `${what}: ${bad}`, path });
    else if (target !== undefined && !spec.appliesTo.includes(target)) {
      // resolveOption reads a DN's own value first for every option that is not agent-only
      // (behaviour §2.2 step 1, the "Lookup" column of docs/options.md): say so, not "ignored".
      const readOnDn = target !== 'application' && target !== 'agent' && !spec.appliesTo.includes('agent');
      const note = readOnDn ? "kept; read as this DN's own value" : 'kept, ignored';
      warnings.push({ message: `${what}: option ${name} is not documented for ${target} (${note})`, path });
    }
  }
  return { errors, warnings };
}

type Overlay<T> = Map<string, T | null>;

/** Changes read, or objects checked, between two yields of {@link ConfigState.planSteps}. */
export const PLAN_STEP = 64;

/**
 * Fields of a changed object that could not be read (their problems are reported already).
 * Checks that depend on them are skipped; every other check of the object, and every check of
 * the other objects, still runs, so that one pass lists every problem.
 */
interface Damage {
  /** The DN type could not be read: type-dependent checks are skipped. */
  type?: boolean;
  /** Option entries that could not be read; `all` when `options` itself was no mapping. */
  options?: Set<string> | 'all';
}

/** The {@link Damage} that the problems in `sink` (paths relative to the change value) mean. */
function damageOf(sink: ProblemSink): Damage | undefined {
  let d: Damage | undefined;
  for (const p of sink.problems) {
    const [head, name] = p.path;
    if (head === 'type') (d ??= {}).type = true;
    else if (head === 'options') {
      d ??= {};
      if (name === undefined) d.options = 'all';
      else if (d.options !== 'all') {
        d.options ??= new Set();
        d.options.add(String(name));
      }
    }
  }
  return d;
}

function optionBroken(d: Damage | undefined, name: string): boolean {
  return d?.options === 'all' || (d?.options instanceof Set && d.options.has(name));
}

/** The DNs and agents `cs` removed, as they were just before it, by `kind\0key`. */
function removalsOf(cs: CommittedChangeSet): Map<string, DnConfig | AgentConfig> {
  const out = new Map<string, DnConfig | AgentConfig>();
  for (const c of cs.changes) {
    if ((c.kind !== 'dn' && c.kind !== 'agent') || c.new !== null || c.old === null) continue;
    const id = `${c.kind}\0${c.key}`;
    if (!out.has(id)) out.set(id, c.old);
  }
  return out;
}

/** Two options mappings with the same entries. */
function sameOptions(a: Options, b: Options): boolean {
  const ak = Object.keys(a);
  return (
    ak.length === Object.keys(b).length && ak.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k])
  );
}

/** One change as far as it could be read: the object it would give (even with problems). */
interface Parsed {
  change: AppliedChange;
  damage: Damage | undefined;
  /** The key as written (a DN number before normalisation). */
  written: string;
}

const KIND_NAME: Record<Exclude<ChangeKind, 'server'>, string> = {
  dn: 'DN',
  agent: 'agent',
  'agent-group': 'agent group',
};

/**
 * Validates one change-set against a state plus the changes before it. Every problem is listed
 * in one pass: a change with a problem is still read as far as it can be and takes part in the
 * validation (so that it neither hides the problems of others nor makes objects that refer to
 * it look missing); only checks that depend on an unreadable field are skipped. A change-set
 * with any problem applies nothing.
 */
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
  /** Unreadable fields of the objects in the overlays, by `kind\0key`. */
  private readonly damage = new Map<string, Damage>();
  /** The first `put` of each object (`kind\0key`): a second one is an error. */
  private readonly puts = new Map<string, { index: number; written: string }>();
  /** Objects of refused duplicate puts: validated on their own, never in the overlays. */
  private readonly shadows: Array<{ change: AppliedChange; index: number; damage: Damage | undefined }> = [];
  private readonly errors: ChangeProblem[] = [];
  private readonly warnings: ChangeProblem[] = [];
  /** Objects each change-set read for `restoreFrom` removed, by `kind\0key` (null: no such change-set). */
  private readonly removals = new Map<number, Map<string, DnConfig | AgentConfig> | null>();

  constructor(
    private readonly s: ConfigState,
    private readonly opts: PlanOptions,
  ) {}

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

  *plan(changes: readonly ChangeRequest[]): Generator<void, ChangePlan, void> {
    const applied: AppliedChange[] = [];
    for (let i = 0; i < changes.length; i++) {
      if (!(i in changes)) continue; // a hole of a sparse array, as forEach skips it
      const a = this.parseOne(changes[i], i);
      if (a) applied.push(a);
      if (i % PLAN_STEP === PLAN_STEP - 1) yield;
    }
    // Validate what was read, also of changes with problems, so that every problem is listed.
    yield* this.validate();
    this.errors.sort((a, b) => a.index - b.index);
    return { applied: this.errors.length ? [] : applied, errors: this.errors, warnings: this.warnings };
  }

  private sinkToErrors(sink: ProblemSink, index: number): void {
    for (const p of sink.problems) this.err(index, p.message, p.path);
  }

  /** The change as it applies, or undefined when it has a problem (reported). */
  private parseOne(c: ChangeRequest, i: number): AppliedChange | undefined {
    const before = this.errors.length;
    if (!isObject(c)) {
      this.err(i, 'a change must be an object with op, kind, key and value');
      return undefined;
    }
    const extra = Object.keys(c).filter((k) => !['op', 'kind', 'key', 'value', 'restoreFrom'].includes(k));
    if (extra.length) this.err(i, `unknown key "${extra[0]}" in change (allowed: op, kind, key, value, restoreFrom)`);
    const op = c.op as ChangeRequestOp;
    const kind = c.kind as ChangeKind;
    if (!['put', 'patch', 'delete', 'create'].includes(op)) {
      this.err(i, `op "${show(c.op)}" is not put, patch, delete or create`);
      return undefined;
    }
    if (!['dn', 'agent', 'agent-group', 'server'].includes(kind)) {
      this.err(i, `kind "${show(c.kind)}" is not dn, agent, agent-group or server`);
      return undefined;
    }
    const restoring = c.restoreFrom !== undefined;
    if (restoring && op !== 'create') {
      this.err(i, 'restoreFrom goes with op create');
      return undefined;
    }
    if (op === 'create' && kind === 'server') {
      this.err(i, 'the server section always exists: put or patch it');
      return undefined;
    }
    if (restoring && kind !== 'dn' && kind !== 'agent') {
      this.err(i, 'restoreFrom restores a DN or an agent');
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
    if (op !== 'delete' && !isObject(c.value) && !(restoring && c.value === undefined)) {
      this.err(i, `${op} needs a value object`);
      return undefined;
    }
    const value = (c.value ?? {}) as Record<string, unknown>;
    let parsed: Parsed | undefined;
    if (op === 'create') parsed = this.parseCreate(kind as Exclude<ChangeKind, 'server'>, rawKey, c, value, i);
    else
      switch (kind) {
        case 'dn':
          parsed = this.parseDn(op, normaliseNumber(rawKey), rawKey, value, i);
          break;
        case 'agent':
          parsed = this.parseAgent(op, rawKey, value, i);
          break;
        case 'agent-group':
          parsed = this.parseGroup(op, rawKey, value, i);
          break;
        case 'server':
          parsed = this.parseServer(op, value, i);
          break;
      }
    if (!parsed) return undefined;
    const { change, damage } = parsed;
    if (op === 'put' || op === 'create') {
      const id = `${kind}\0${change.key}`;
      const first = this.puts.get(id);
      if (first) {
        // A second put replaces the first one whole: a mistake (e.g. two numbers that normalise
        // to the same DN). Its own object is still checked, outside the overlays.
        const same =
          kind === 'dn' && first.written !== parsed.written
            ? ` ("${first.written}" and "${parsed.written}" are the same number once normalised)`
            : '';
        const what = kind === 'server' ? 'the server section' : `${KIND_NAME[kind]} ${change.key}`;
        this.errors.push({
          index: i,
          message: `${what} is already put by change ${first.index}${same}`,
          duplicateOf: first.index,
        });
        this.shadows.push({ change, index: i, damage });
        return undefined;
      }
      this.puts.set(id, { index: i, written: parsed.written });
    }
    this.register(change, i, damage);
    return this.errors.length === before ? change : undefined;
  }

  /**
   * `create`: a `put` of an object that must not exist; with `restoreFrom` V (a DN or an agent),
   * the object is the one change-set V removed, secrets included, from the change feed
   * ({@link PlanOptions.changeSetAt}); a `value` given must equal it without its secrets.
   */
  private parseCreate(
    kind: Exclude<ChangeKind, 'server'>,
    rawKey: string,
    c: ChangeRequest,
    v: Record<string, unknown>,
    i: number,
  ): Parsed | undefined {
    const key = kind === 'dn' ? normaliseNumber(rawKey) : rawKey;
    if (kind === 'dn' && key === '') {
      this.err(i, `DN number "${rawKey}" is empty once normalised`);
      return undefined;
    }
    const exists = kind === 'dn' ? this.dn(key) : kind === 'agent' ? this.agent(key) : this.group(key);
    if (exists) {
      this.err(i, `${KIND_NAME[kind]} ${key} exists`);
      return undefined;
    }
    if (c.restoreFrom === undefined) {
      if (kind === 'dn') return this.parseDn('put', key, rawKey, v, i);
      return kind === 'agent' ? this.parseAgent('put', key, v, i) : this.parseGroup('put', key, v, i);
    }
    if (kind === 'agent-group') return undefined; // refused in parseOne
    const restored = this.removedObject(kind, key, c.restoreFrom, i);
    if (!restored) return undefined;
    if (c.value !== undefined) this.checkRestoreValue(kind, key, rawKey, v, restored, c.restoreFrom as number, i);
    const change: AppliedChange =
      kind === 'dn'
        ? { op: 'put', kind, key, old: null, new: restored as DnConfig }
        : { op: 'put', kind, key, old: null, new: restored as AgentConfig };
    return { change, damage: undefined, written: rawKey };
  }

  /** The object change-set `version` removed (a copy), or undefined with the problem reported. */
  private removedObject(
    kind: 'dn' | 'agent',
    key: string,
    version: unknown,
    i: number,
  ): DnConfig | AgentConfig | undefined {
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      this.err(i, `restoreFrom "${show(version)}" is not the version of a change-set (an integer ≥ 1)`, [
        'restoreFrom',
      ]);
      return undefined;
    }
    const at = this.opts.changeSetAt;
    if (!at) {
      this.err(i, 'restoreFrom needs the change feed of a configuration store', ['restoreFrom']);
      return undefined;
    }
    let removed = this.removals.get(version);
    if (removed === undefined) {
      const cs = at(version);
      removed = cs ? removalsOf(cs) : null;
      this.removals.set(version, removed);
    }
    if (!removed) {
      this.err(i, `restoreFrom: no change-set has version ${version}`, ['restoreFrom']);
      return undefined;
    }
    const o = removed.get(`${kind}\0${key}`);
    if (!o) {
      this.err(i, `restoreFrom: change-set ${version} did not remove ${KIND_NAME[kind]} ${key}`, ['restoreFrom']);
      return undefined;
    }
    return { ...o, options: { ...o.options } };
  }

  /** A restore's `value`, when given, must be the restored object without its secrets. */
  private checkRestoreValue(
    kind: 'dn' | 'agent',
    key: string,
    written: string,
    v: Record<string, unknown>,
    restored: DnConfig | AgentConfig,
    version: number,
    i: number,
  ): void {
    const sink = new ProblemSink();
    const differ: string[] = [];
    const options = (o: Options | undefined): void => {
      if (!sameOptions(o ?? {}, withoutSecretOptions(restored.options))) differ.push('options');
    };
    if (kind === 'dn') {
      const p = readDnParts({ number: v.number ?? written, ...v }, [], sink);
      const d = restored as DnConfig;
      if (p && sink.problems.length === 0) {
        if (p.number !== key) differ.push('number');
        if (p.type !== d.type) differ.push('type');
        options(p.options);
      }
    } else {
      const p = readAgentParts({ ...v, id: v.id ?? key }, [], sink, true);
      const a = restored as AgentConfig;
      if (p && sink.problems.length === 0) {
        if (p.id !== key) differ.push('id');
        if ((p.name ?? key) !== a.name) differ.push('name');
        if (p.password !== undefined) differ.push('password');
        if (p.dn !== a.dn) differ.push('dn');
        options(p.options);
      }
    }
    this.sinkToErrors(sink, i);
    if (differ.length)
      this.err(
        i,
        `${KIND_NAME[kind]} ${key}: the value differs from the one change-set ${version} removed (${differ.join(', ')}); ` +
          'leave the value out, or give that object without its secrets (they come from the change feed)',
        ['value'],
      );
  }

  /** Puts the object a change gives (even one with problems) in the overlay, for validation. */
  private register(c: AppliedChange, i: number, damage: Damage | undefined): void {
    switch (c.kind) {
      case 'dn':
        this.dnO.set(c.key, c.new);
        this.touchedDn.set(c.key, i);
        break;
      case 'agent':
        this.agentO.set(c.key, c.new);
        this.touchedAgent.set(c.key, i);
        break;
      case 'agent-group':
        this.groupO.set(c.key, c.new);
        this.touchedGroup.set(c.key, i);
        break;
      case 'server':
        if (c.new) this.serverNew = c.new;
        this.serverIndex = i;
        break;
    }
    const id = `${c.kind}\0${c.key}`;
    if (damage) this.damage.set(id, damage);
    else this.damage.delete(id);
  }

  private parseDn(
    op: ChangeOp,
    key: string,
    written: string,
    v: Record<string, unknown>,
    i: number,
  ): Parsed | undefined {
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
      const p = readDnParts({ number: v.number ?? written, ...v }, [], sink);
      if (p?.number !== undefined && v.number !== undefined && p.number !== key)
        sink.add(['number'], `number ${p.number} differs from key ${key}`);
      // An unreadable type is in the damage: the placeholder is never checked or applied.
      // A secret option left out keeps the stored value (src/config/secrets.ts).
      if (p)
        neu = { number: key, type: p.type ?? 'extension', options: keepSecretOptions(old?.options, p.options ?? {}) };
    } else {
      if (!old) this.err(i, `DN ${key} does not exist`);
      for (const k of Object.keys(v))
        if (k !== 'type' && k !== 'options') sink.add([k], `unknown key "${k}" in DN patch (allowed: type, options)`);
      const opts = readOptions(v.options, ['options'], sink, true);
      let type = old?.type;
      if (v.type !== undefined) {
        const b = readDnParts({ number: key, type: v.type }, [], sink);
        if (b?.type) type = b.type;
      }
      if (old && type) {
        const merged: Options = { ...old.options };
        for (const [k, val] of Object.entries(opts ?? {})) {
          if (val === null) delete merged[k];
          else merged[k] = val;
        }
        neu = { number: key, type, options: merged };
      }
    }
    this.sinkToErrors(sink, i);
    if ((op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    return { change: { op, kind: 'dn', key, old, new: neu }, damage: damageOf(sink), written };
  }

  private parseAgent(op: ChangeOp, key: string, v: Record<string, unknown>, i: number): Parsed | undefined {
    const old = this.agent(key);
    let neu: AgentConfig | null = null;
    const sink = new ProblemSink();
    if (op === 'delete') {
      if (!old) this.err(i, `agent ${key} does not exist`);
    } else if (op === 'put') {
      if (v.id !== undefined && v.id !== key) sink.add(['id'], `id "${show(v.id)}" differs from key ${key}`);
      // PUT without password keeps the stored one: the API never returns passwords.
      const password = v.password ?? old?.password;
      const omittable = this.opts.secretsMayBeOmitted === true;
      const p = readAgentParts({ ...v, id: key, ...(password !== undefined ? { password } : {}) }, [], sink, omittable);
      if (p) {
        // A missing password is reported (the empty placeholder is never applied), except in a
        // file that may leave it out: that agent has none here (AgentInput), reconcile adds it.
        neu = {
          id: key,
          name: p.name ?? key,
          password: p.password ?? '',
          options: keepSecretOptions(old?.options, p.options ?? {}),
        };
        if (p.password === undefined && omittable) delete (neu as Partial<AgentConfig>).password;
        if (p.dn !== undefined) neu.dn = p.dn;
      }
    } else {
      if (!old) this.err(i, `agent ${key} does not exist`);
      for (const k of Object.keys(v)) {
        if (!['name', 'password', 'dn', 'options'].includes(k))
          sink.add([k], `unknown key "${k}" in agent patch (allowed: name, password, dn, options)`);
      }
      if (old) {
        const a: AgentConfig = { ...old, options: { ...old.options } };
        if (v.name !== undefined) a.name = readScalar(v.name, ['name'], sink, 'name') ?? a.name;
        if (v.password !== undefined) a.password = readKey(v.password, ['password'], sink, 'password') ?? a.password;
        if (v.dn === null || v.dn === '') delete a.dn;
        else if (v.dn !== undefined) {
          const d = readNumber(v.dn, ['dn'], sink, 'dn');
          if (d) a.dn = d;
          else delete a.dn; // unreadable (reported): no DN check
        }
        const opts = readOptions(v.options, ['options'], sink, true);
        if (opts)
          for (const [k, val] of Object.entries(opts)) {
            if (val === null) delete a.options[k];
            else a.options[k] = val;
          }
        neu = a;
      }
    }
    this.sinkToErrors(sink, i);
    if ((op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    return { change: { op, kind: 'agent', key, old, new: neu }, damage: damageOf(sink), written: key };
  }

  private parseGroup(op: ChangeOp, key: string, v: Record<string, unknown>, i: number): Parsed | undefined {
    const old = this.group(key);
    let neu: AgentGroupConfig | null = null;
    const sink = new ProblemSink();
    if (op === 'delete') {
      if (!old) this.err(i, `agent group ${key} does not exist`);
    } else if (op === 'put') {
      if (v.name !== undefined && v.name !== key) sink.add(['name'], `name "${show(v.name)}" differs from key ${key}`);
      const p = readGroupParts({ ...v, name: key }, [], sink);
      if (p) neu = { name: key, agents: p.agents ?? [] };
    } else {
      if (!old) this.err(i, `agent group ${key} does not exist`);
      for (const k of Object.keys(v))
        if (k !== 'agents') sink.add([k], `unknown key "${k}" in agent-group patch (allowed: agents)`);
      const agents = v.agents === undefined ? old?.agents : readAgentList(v.agents, ['agents'], sink);
      if (old) neu = { name: key, agents: agents ?? old.agents };
    }
    this.sinkToErrors(sink, i);
    if ((op !== 'delete' && !neu) || (op !== 'put' && !old)) return undefined;
    return { change: { op, kind: 'agent-group', key, old, new: neu }, damage: damageOf(sink), written: key };
  }

  private parseServer(op: ChangeOp, v: Record<string, unknown>, i: number): Parsed | undefined {
    const old = this.serverNew ?? this.s.server;
    if (op === 'delete') {
      this.err(i, 'the server section cannot be deleted');
      return undefined;
    }
    const sink = new ProblemSink();
    let neu: ServerConfig | undefined;
    if (op === 'put') {
      neu = readServerParts(v, [], sink);
      if (neu) {
        // Secrets left out keep the stored values; admin-token "" removes the stored token
        // (kept as written in a file, for the reconcile to resolve: PlanOptions).
        neu.options = keepSecretOptions(old.options, neu.options);
        if (neu.http.adminToken === undefined && old.http.adminToken !== undefined)
          neu.http.adminToken = old.http.adminToken;
        if (neu.http.adminToken === '' && !this.opts.secretsMayBeOmitted) delete neu.http.adminToken;
      }
    } else {
      for (const k of Object.keys(v)) if (k !== 'options') sink.add([k], 'a server patch takes only options');
      const opts = readOptions(v.options, ['options'], sink, true);
      const merged: Options = { ...old.options };
      for (const [k, val] of Object.entries(opts ?? {})) {
        if (val === null) delete merged[k];
        else merged[k] = val;
      }
      neu = { ...old, options: merged };
    }
    this.sinkToErrors(sink, i);
    if (!neu) return undefined;
    return { change: { op, kind: 'server', key: 'server', old, new: neu }, damage: damageOf(sink), written: 'server' };
  }

  private checkOptions(options: Options, target: OptionTarget | undefined, i: number, what: string): void {
    const r = checkOptions(options, target, what);
    for (const e of r.errors) this.err(i, e.message, e.path);
    for (const w of r.warnings) this.warnings.push({ index: i, message: w.message, path: w.path });
  }

  private *validate(): Generator<void, void, void> {
    let n = 0;
    for (const [key, i] of this.touchedDn) {
      if (++n % PLAN_STEP === 0) yield;
      const d = this.dn(key);
      if (d) this.validateDn(d, i, this.damage.get(`dn\0${key}`));
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
      if (++n % PLAN_STEP === 0) yield;
      const a = this.agent(id);
      if (a) this.validateAgent(a, i);
      else {
        for (const g of this.s.groupsOfAgent(id)) {
          const grp = this.group(g);
          if (grp && grp.agents.includes(id))
            this.err(i, `agent ${id} is a member of agent group ${g}; remove it from the group too`);
        }
      }
    }
    for (const [name, i] of this.touchedGroup) {
      if (++n % PLAN_STEP === 0) yield;
      const g = this.group(name);
      if (g) this.validateGroup(g, i);
      else {
        for (const rp of this.s.routingPointsOfGroup(name)) {
          const d = this.dn(rp);
          if (d && d.type === 'routing-point' && d.options['agent-group'] === name) {
            this.err(i, `agent group ${name} is the agent-group of routing point ${rp}; change the routing point too`);
          }
        }
      }
    }
    if (this.serverNew) this.checkOptions(this.serverNew.options, 'application', this.serverIndex, 'server');
    for (const { change: c, index, damage } of this.shadows) {
      if (c.kind === 'dn' && c.new) this.validateDn(c.new, index, damage);
      else if (c.kind === 'agent' && c.new) this.validateAgent(c.new, index);
      else if (c.kind === 'agent-group' && c.new) this.validateGroup(c.new, index);
      else if (c.kind === 'server' && c.new) this.checkOptions(c.new.options, 'application', index, 'server');
    }
  }

  private validateAgent(a: AgentConfig, i: number): void {
    if (a.dn !== undefined && !this.dn(a.dn)) this.err(i, `agent ${a.id}: DN ${a.dn} does not exist`, ['dn']);
    this.checkOptions(a.options, 'agent', i, `agent ${a.id}`);
  }

  private validateGroup(g: AgentGroupConfig, i: number): void {
    g.agents.forEach((id, j) => {
      if (!this.agent(id)) this.err(i, `agent group ${g.name}: agent ${id} does not exist`, ['agents', j]);
    });
  }

  /** Checks one DN; `damage` names the fields that could not be read (their checks are skipped). */
  private validateDn(d: DnConfig, i: number, damage?: Damage): void {
    const what = `DN ${d.number}`;
    const typeKnown = !damage?.type;
    this.checkOptions(d.options, typeKnown ? d.type : undefined, i, what);
    if (!typeKnown) return;
    if (
      d.type === 'voip-service' &&
      d.options['service-type'] === 'softswitch' &&
      !optionBroken(damage, 'service-type')
    ) {
      const contact = d.options.contact ?? '';
      if ((contact === '' || contact === '*') && !optionBroken(damage, 'contact'))
        this.err(i, `${what}: a softswitch needs a contact (host[:port] or SIP URI)`, ['options']);
      if ((d.options.prefix ?? '').trim() === '' && !optionBroken(damage, 'prefix'))
        this.err(i, `${what}: a softswitch needs a prefix`, ['options']);
    }
    if (d.type === 'routing-point') {
      const g = d.options['agent-group'];
      if (g !== undefined && g !== '' && !this.group(g))
        this.err(i, `${what}: agent-group ${g} does not exist`, ['options', 'agent-group']);
    }
  }
}
