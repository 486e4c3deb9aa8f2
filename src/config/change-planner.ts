/**
 * The change-set planner (behaviour §13): reads every change of a change-set, computes the old
 * and new values, and validates the touched objects and their dependants in the configuration
 * the change-set would give, looking only at those objects.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, Options, ServerConfig } from './config-model.js';
import type {
  AppliedChange,
  ChangeKind,
  ChangeOp,
  ChangeProblem,
  ChangeRequest,
  ChangeRequestOp,
  CommittedChangeSet,
} from './change-set.js';
import type { ConfigState } from './config-state.js';
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
} from './config-values.js';
import { normaliseNumber } from './number-normalise.js';
import { keepSecretOptions } from './secrets.js';
import { validateChanges } from './change-validation.js';
import { FeedRestore } from './change-restore.js';
import { KIND_NAME, PLAN_STEP, PlanOverlay, damageOf, type Damage } from './plan-overlay.js';

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

/** One change as far as it could be read: the object it would give (even with problems). */
interface Parsed {
  change: AppliedChange;
  damage: Damage | undefined;
  /** The key as written (a DN number before normalisation). */
  written: string;
}

/**
 * Validates one change-set against a state plus the changes before it. Every problem is listed
 * in one pass: a change with a problem is still read as far as it can be and takes part in the
 * validation (so that it neither hides the problems of others nor makes objects that refer to
 * it look missing); only checks that depend on an unreadable field are skipped. A change-set
 * with any problem applies nothing.
 */
export class ChangePlanner extends PlanOverlay {
  /** The first `put` of each object (`kind\0key`): a second one is an error. */
  private readonly puts = new Map<string, { index: number; written: string }>();
  private readonly restore: FeedRestore;

  constructor(
    s: ConfigState,
    private readonly opts: PlanOptions,
  ) {
    super(s);
    this.restore = new FeedRestore(this, opts.changeSetAt);
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
    yield* validateChanges(this);
    this.errors.sort((a, b) => a.index - b.index);
    return { applied: this.errors.length ? [] : applied, errors: this.errors, warnings: this.warnings };
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
    const restored = this.restore.removedObject(kind, key, c.restoreFrom, i);
    if (!restored) return undefined;
    if (c.value !== undefined) this.restore.checkValue(kind, key, rawKey, v, restored, c.restoreFrom as number, i);
    const change: AppliedChange =
      kind === 'dn'
        ? { op: 'put', kind, key, old: null, new: restored as DnConfig }
        : { op: 'put', kind, key, old: null, new: restored as AgentConfig };
    return { change, damage: undefined, written: rawKey };
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
}
