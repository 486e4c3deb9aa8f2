/**
 * The validation rules of a change-set (behaviour §13): the objects it touches, and those that
 * depend on them, checked in the configuration it would give ({@link PlanOverlay}); and the
 * check of an `options` mapping against the option table, also used for configuration files.
 */
import type { AgentConfig, AgentGroupConfig, DnConfig, Options } from './config-model.js';
import { checkOptionValue, optionSpec, type OptionTarget } from './option-table.js';
import type { ValuePath } from './config-values.js';
import { optionBroken, PLAN_STEP, type Damage, type PlanOverlay } from './plan-overlay.js';

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

/** {@link checkOptions}, its problems reported as change `i`'s. */
function reportOptions(
  o: PlanOverlay,
  options: Options,
  target: OptionTarget | undefined,
  i: number,
  what: string,
): void {
  const r = checkOptions(options, target, what);
  for (const e of r.errors) o.err(i, e.message, e.path);
  for (const w of r.warnings) o.warnings.push({ index: i, message: w.message, path: w.path });
}

/**
 * Checks every object the change-set touched, and the objects that depend on a deleted one, in
 * the resulting configuration `o`; yields every {@link PLAN_STEP} objects checked.
 */
export function* validateChanges(o: PlanOverlay): Generator<void, void, void> {
  let n = 0;
  for (const [key, i] of o.touchedDn) {
    if (++n % PLAN_STEP === 0) yield;
    const d = o.dn(key);
    if (d) validateDn(o, d, i, o.damage.get(`dn\0${key}`));
    else {
      // Deleted: no agent may keep it as its DN.
      for (const id of o.s.agentsOfDn(key)) {
        const a = o.agent(id);
        if (a && a.dn === key) o.err(i, `DN ${key} is the DN of agent ${id}; change or delete the agent too`);
      }
    }
    // A routing point that stopped naming a group needs no check; one that names a group is checked in validateDn.
  }
  for (const [id, i] of o.touchedAgent) {
    if (++n % PLAN_STEP === 0) yield;
    const a = o.agent(id);
    if (a) validateAgent(o, a, i);
    else {
      for (const g of o.s.groupsOfAgent(id)) {
        const grp = o.group(g);
        if (grp && grp.agents.includes(id))
          o.err(i, `agent ${id} is a member of agent group ${g}; remove it from the group too`);
      }
    }
  }
  for (const [name, i] of o.touchedGroup) {
    if (++n % PLAN_STEP === 0) yield;
    const g = o.group(name);
    if (g) validateGroup(o, g, i);
    else {
      for (const rp of o.s.routingPointsOfGroup(name)) {
        const d = o.dn(rp);
        if (d && d.type === 'routing-point' && d.options['agent-group'] === name) {
          o.err(i, `agent group ${name} is the agent-group of routing point ${rp}; change the routing point too`);
        }
      }
    }
  }
  if (o.serverNew) reportOptions(o, o.serverNew.options, 'application', o.serverIndex, 'server');
  for (const { change: c, index, damage } of o.shadows) {
    if (c.kind === 'dn' && c.new) validateDn(o, c.new, index, damage);
    else if (c.kind === 'agent' && c.new) validateAgent(o, c.new, index);
    else if (c.kind === 'agent-group' && c.new) validateGroup(o, c.new, index);
    else if (c.kind === 'server' && c.new) reportOptions(o, c.new.options, 'application', index, 'server');
  }
}

function validateAgent(o: PlanOverlay, a: AgentConfig, i: number): void {
  if (a.dn !== undefined && !o.dn(a.dn)) o.err(i, `agent ${a.id}: DN ${a.dn} does not exist`, ['dn']);
  reportOptions(o, a.options, 'agent', i, `agent ${a.id}`);
}

function validateGroup(o: PlanOverlay, g: AgentGroupConfig, i: number): void {
  g.agents.forEach((id, j) => {
    if (!o.agent(id)) o.err(i, `agent group ${g.name}: agent ${id} does not exist`, ['agents', j]);
  });
}

/** Checks one DN; `damage` names the fields that could not be read (their checks are skipped). */
function validateDn(o: PlanOverlay, d: DnConfig, i: number, damage?: Damage): void {
  const what = `DN ${d.number}`;
  const typeKnown = !damage?.type;
  reportOptions(o, d.options, typeKnown ? d.type : undefined, i, what);
  if (!typeKnown) return;
  if (
    d.type === 'voip-service' &&
    d.options['service-type'] === 'softswitch' &&
    !optionBroken(damage, 'service-type')
  ) {
    const contact = d.options.contact ?? '';
    if ((contact === '' || contact === '*') && !optionBroken(damage, 'contact'))
      o.err(i, `${what}: a softswitch needs a contact (host[:port] or SIP URI)`, ['options']);
    if ((d.options.prefix ?? '').trim() === '' && !optionBroken(damage, 'prefix'))
      o.err(i, `${what}: a softswitch needs a prefix`, ['options']);
  }
  if (d.type === 'routing-point') {
    const g = d.options['agent-group'];
    if (g !== undefined && g !== '' && !o.group(g))
      o.err(i, `${what}: agent-group ${g} does not exist`, ['options', 'agent-group']);
  }
}
