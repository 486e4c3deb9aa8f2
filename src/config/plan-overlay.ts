/**
 * The configuration a change-set would give, as the change planner sees it while it reads the
 * changes (behaviour §13): the in-memory state plus the objects the changes so far put or
 * deleted, what each change touched, and the problems found. The planner (change-planner.ts)
 * fills it; the validation rules (change-validation.ts) check it as a whole.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, ServerConfig } from './config-model.js';
import type { AppliedChange, ChangeKind, ChangeProblem } from './change-set.js';
import type { ConfigState } from './config-state.js';
import type { ProblemSink, ValuePath } from './config-values.js';

/** Changes read, or objects checked, between two yields of {@link ConfigState.planSteps}. */
export const PLAN_STEP = 64;

type Overlay<T> = Map<string, T | null>;

/**
 * Fields of a changed object that could not be read (their problems are reported already).
 * Checks that depend on them are skipped; every other check of the object, and every check of
 * the other objects, still runs, so that one pass lists every problem.
 */
export interface Damage {
  /** The DN type could not be read: type-dependent checks are skipped. */
  type?: boolean;
  /** Option entries that could not be read; `all` when `options` itself was no mapping. */
  options?: Set<string> | 'all';
}

/** The {@link Damage} that the problems in `sink` (paths relative to the change value) mean. */
export function damageOf(sink: ProblemSink): Damage | undefined {
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

/** Whether option `name` of a damaged object could not be read. */
export function optionBroken(d: Damage | undefined, name: string): boolean {
  return d?.options === 'all' || (d?.options instanceof Set && d.options.has(name));
}

/** How messages name the objects of each kind. */
export const KIND_NAME: Record<Exclude<ChangeKind, 'server'>, string> = {
  dn: 'DN',
  agent: 'agent',
  'agent-group': 'agent group',
};

/** The resulting configuration of a change-set being planned, and the problems found so far. */
export class PlanOverlay {
  readonly dnO: Overlay<DnConfig> = new Map();
  readonly agentO: Overlay<AgentConfig> = new Map();
  readonly groupO: Overlay<AgentGroupConfig> = new Map();
  serverNew: ServerConfig | undefined;
  serverIndex = -1;
  /** last change index touching each object */
  readonly touchedDn = new Map<string, number>();
  readonly touchedAgent = new Map<string, number>();
  readonly touchedGroup = new Map<string, number>();
  /** Unreadable fields of the objects in the overlays, by `kind\0key`. */
  readonly damage = new Map<string, Damage>();
  /** Objects of refused duplicate puts: validated on their own, never in the overlays. */
  readonly shadows: Array<{ change: AppliedChange; index: number; damage: Damage | undefined }> = [];
  readonly errors: ChangeProblem[] = [];
  readonly warnings: ChangeProblem[] = [];

  constructor(readonly s: ConfigState) {}

  /** The DN `k` in the resulting configuration (null: none). */
  dn(k: string): DnConfig | null {
    const o = this.dnO.get(k);
    return o !== undefined ? o : (this.s.dns.get(k) ?? null);
  }
  /** The agent `k` in the resulting configuration (null: none). */
  agent(k: string): AgentConfig | null {
    const o = this.agentO.get(k);
    return o !== undefined ? o : (this.s.agents.get(k) ?? null);
  }
  /** The agent group `k` in the resulting configuration (null: none). */
  group(k: string): AgentGroupConfig | null {
    const o = this.groupO.get(k);
    return o !== undefined ? o : (this.s.groups.get(k) ?? null);
  }

  /** Reports an error of change `index`. */
  err(index: number, message: string, path?: ValuePath): void {
    this.errors.push(path ? { index, message, path } : { index, message });
  }

  /** Reports the problems in `sink` as errors of change `index`. */
  sinkToErrors(sink: ProblemSink, index: number): void {
    for (const p of sink.problems) this.err(index, p.message, p.path);
  }

  /** Puts the object a change gives (even one with problems) in the overlay, for validation. */
  register(c: AppliedChange, i: number, damage: Damage | undefined): void {
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
}
