/**
 * `create` with `restoreFrom` (docs/admin-api.md): the DN or agent a committed change-set
 * removed, secrets included, read back from the store's change feed, and the check that a
 * `value` given with it is that object without its secrets (src/config/secrets.ts).
 */
import type { AgentConfig, DnConfig, Options } from './config-model.js';
import type { CommittedChangeSet } from './change-set.js';
import type { PlanOptions } from './change-planner.js';
import { ProblemSink, readAgentParts, readDnParts, show } from './config-values.js';
import { KIND_NAME, type PlanOverlay } from './plan-overlay.js';
import { withoutSecretOptions } from './secrets.js';

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

/** The restores of one change-set being planned; problems go to the planner's overlay. */
export class FeedRestore {
  /** Objects each change-set read for `restoreFrom` removed, by `kind\0key` (null: no such change-set). */
  private readonly removals = new Map<number, Map<string, DnConfig | AgentConfig> | null>();

  /** `changeSetAt`: the store's change feed ({@link PlanOptions.changeSetAt}); absent, restores are refused. */
  constructor(
    private readonly o: PlanOverlay,
    private readonly changeSetAt: PlanOptions['changeSetAt'],
  ) {}

  /** The object change-set `version` removed (a copy), or undefined with the problem reported. */
  removedObject(kind: 'dn' | 'agent', key: string, version: unknown, i: number): DnConfig | AgentConfig | undefined {
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      this.o.err(i, `restoreFrom "${show(version)}" is not the version of a change-set (an integer ≥ 1)`, [
        'restoreFrom',
      ]);
      return undefined;
    }
    const at = this.changeSetAt;
    if (!at) {
      this.o.err(i, 'restoreFrom needs the change feed of a configuration store', ['restoreFrom']);
      return undefined;
    }
    let removed = this.removals.get(version);
    if (removed === undefined) {
      const cs = at(version);
      removed = cs ? removalsOf(cs) : null;
      this.removals.set(version, removed);
    }
    if (!removed) {
      this.o.err(i, `restoreFrom: no change-set has version ${version}`, ['restoreFrom']);
      return undefined;
    }
    const o = removed.get(`${kind}\0${key}`);
    if (!o) {
      this.o.err(i, `restoreFrom: change-set ${version} did not remove ${KIND_NAME[kind]} ${key}`, ['restoreFrom']);
      return undefined;
    }
    return { ...o, options: { ...o.options } };
  }

  /** A restore's `value`, when given, must be the restored object without its secrets. */
  checkValue(
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
    this.o.sinkToErrors(sink, i);
    if (differ.length)
      this.o.err(
        i,
        `${KIND_NAME[kind]} ${key}: the value differs from the one change-set ${version} removed (${differ.join(', ')}); ` +
          'leave the value out, or give that object without its secrets (they come from the change feed)',
        ['value'],
      );
  }
}
