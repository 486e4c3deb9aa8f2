/**
 * `sipserver migrate diff PLAN`: the plan as a human-readable diff per agent (before → after),
 * in the style of `sipserver config diff`.
 */
import type { MigrationPlan } from './plan-file.js';

const opts = (o: Record<string, string>): string =>
  Object.keys(o).length
    ? ` {${Object.entries(o)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}}`
    : '';

/** The lines of the diff. */
export function renderPlanDiff(plan: MigrationPlan): string[] {
  const out: string[] = [];
  const src = 'server' in plan.source ? plan.source.server : plan.source.config;
  out.push(
    `plan ${plan.createdAt} from ${src}${plan.baseVersion !== null ? ` (version ${plan.baseVersion})` : ''}: ` +
      `${plan.agents.length} agent(s) to softswitch ${plan.softswitch}`,
  );
  if (plan.softswitchChange) {
    const v = plan.softswitchChange.value as { type: string; options: Record<string, string> };
    out.push(`+ DN ${plan.softswitch} (${v.type})${opts(v.options)}`);
  }
  for (const p of plan.agents) {
    const a = p.before.agent;
    out.push(`agent ${p.agentId} (${p.mode}):`);
    if (p.mode === 'agent-phone') {
      const was = a.options['agent-phone'];
      out.push(`  ~ agent-phone: ${was ?? '(none)'} → ${p.homeNumber}  (keeps DN ${a.dn ?? '(none)'})`);
    } else {
      out.push(`  + DN ${p.homeNumber} (extension)${p.mode === 'nailed-up' ? ' {line-type: 1}' : ''}`);
      out.push(`  ~ dn: ${a.dn ?? '(none)'} → ${p.homeNumber}`);
    }
    if (p.removeOfficeDn) {
      const d = p.before.officeDn;
      out.push(
        `  - DN ${p.removeOfficeDn}${d ? ` (${d.type})${opts(d.options)}` : ''}  once nobody is logged in on it`,
      );
    }
  }
  const dns = plan.agents.filter((p) => p.mode !== 'agent-phone').length;
  const removed = plan.agents.filter((p) => p.removeOfficeDn).length;
  out.push(
    `${plan.agents.length} agent(s): ${dns} new DN(s), ${plan.agents.length - dns} agent-phone, ${removed} office DN(s) removed`,
  );
  return out;
}
