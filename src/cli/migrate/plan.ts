/**
 * Building a migration plan (docs/migration.md): the rules that turn the running configuration
 * and the CSV into per-agent change-set changes. Home DNs are Extension DNs without `contact`,
 * named by the normalised home number: calls reach them through the softswitch whose prefix
 * matches (behaviour §3.1, §3.3, examples/home.yaml); `nailed-up` adds `line-type = 1`
 * (behaviour §10); `agent-phone` stores the number as the agent's `agent-phone` option and adds
 * no DN (behaviour §7).
 */
import type { ChangeRequest } from '../../config/change-set.js';
import type { ConfigInput, DnConfig } from '../../config/config-model.js';
import { isPhoneNumber, normaliseNumber } from '../../config/number-normalise.js';
import { withoutSecretOptions } from '../../config/secrets.js';
import { isSoftswitch, SoftswitchPrefixTable } from '../../config/softswitch-prefix-table.js';
import type { CsvProblem, CsvRow } from './csv.js';
import { PLAN_FORMAT, type AgentDoc, type DnDoc, type MigrationPlan, type PlannedAgent } from './plan-file.js';

/** What `migrate plan` was asked for. */
export interface PlanRequest {
  softswitch: string;
  /** `--contact HOST:PORT`: create the softswitch (with `prefix`). */
  contact?: string;
  /** `--prefix P`. */
  prefix?: string;
  source: MigrationPlan['source'];
  baseVersion: number | null;
  now?: Date;
}

/**
 * The softswitch options of the guide's "Remote agents behind the softswitch" (examples/home.yaml):
 * OPTIONS probing every 10 s, out of service after 2 failures (behaviour §5), no dual dialog
 * (§6), RFC 3725 flow 1 for make-call (§8).
 */
export function softswitchOptions(contact: string, prefix: string, nailedUp: boolean): Record<string, string> {
  const o: Record<string, string> = {
    contact,
    'service-type': 'softswitch',
    prefix,
    'dual-dialog-enabled': 'false',
    'make-call-rfc3725-flow': '1',
    'oos-check': '10',
    'oos-force': '2',
  };
  // examples/home-nailed-up.yaml: the nailed-up connection is made at login and parked (behaviour §10).
  if (nailedUp) o['connect-nailedup-on-login'] = 'gcti::park';
  return o;
}

/** The DN as the admin API shows it (secret options never included). */
export const dnDoc = (d: DnConfig): DnDoc => ({
  number: d.number,
  type: d.type,
  options: withoutSecretOptions(d.options),
});

/** The agent as the admin API shows it (password and secret options never included). */
export function agentDoc(a: ConfigInput['agents'][number]): AgentDoc {
  const out: AgentDoc = { id: a.id, name: a.name, options: withoutSecretOptions(a.options) };
  if (a.dn !== undefined) out.dn = a.dn;
  return out;
}

/** The changes that move one agent (see the module comment). */
export function agentChanges(agentId: string, mode: CsvRow['mode'], homeNumber: string): ChangeRequest[] {
  if (mode === 'agent-phone')
    return [{ op: 'patch', kind: 'agent', key: agentId, value: { options: { 'agent-phone': homeNumber } } }];
  const options: Record<string, string> = mode === 'nailed-up' ? { 'line-type': '1' } : {};
  return [
    { op: 'put', kind: 'dn', key: homeNumber, value: { type: 'extension', options } },
    { op: 'patch', kind: 'agent', key: agentId, value: { dn: homeNumber } },
  ];
}

/**
 * Checks every row against the configuration and builds the plan. Every problem is listed (with
 * its CSV line, or line 0 for the command's options); the plan is returned only when there is none.
 */
export function buildPlan(
  model: ConfigInput,
  rows: CsvRow[],
  req: PlanRequest,
): { plan?: MigrationPlan; problems: CsvProblem[]; warnings: string[] } {
  const problems: CsvProblem[] = [];
  const warnings: string[] = [];
  const dns = new Map(model.dns.map((d) => [d.number, d]));
  const agents = new Map(model.agents.map((a) => [a.id, a]));
  const table = new SoftswitchPrefixTable();
  for (const d of model.dns) table.applyDnChange(null, d);

  const name = normaliseNumber(req.softswitch);
  const existing = dns.get(name);
  const nailed = rows.some((r) => r.mode === 'nailed-up');
  let softswitchChange: ChangeRequest | null = null;
  if (existing) {
    if (!isSoftswitch(existing))
      problems.push({
        line: 0,
        message: `DN ${name} exists but is not a softswitch (voip-service, service-type softswitch)`,
      });
    else if (req.contact !== undefined || req.prefix !== undefined)
      problems.push({ line: 0, message: `softswitch ${name} exists already: leave out --contact and --prefix` });
  } else if (req.contact === undefined || req.prefix === undefined) {
    problems.push({
      line: 0,
      message: `softswitch ${name} does not exist: give --contact HOST:PORT --prefix P to create it`,
    });
  } else {
    const value = { type: 'voip-service', options: softswitchOptions(req.contact, req.prefix, nailed) };
    softswitchChange = { op: 'put', kind: 'dn', key: name, value };
    table.applyDnChange(null, { number: name, type: 'voip-service', options: value.options });
  }

  const lineOfAgent = new Map<string, number>();
  const lineOfNumber = new Map<string, number>();
  const planned: PlannedAgent[] = [];
  for (const r of rows) {
    const problemsBefore = problems.length;
    const bad = (message: string): void => void problems.push({ line: r.line, message });
    const n = normaliseNumber(r.homeNumber);
    const agent = agents.get(r.agentId);
    const before = lineOfAgent.get(r.agentId);
    const numberBefore = lineOfNumber.get(n);
    if (before !== undefined) bad(`agent ${r.agentId} is already on line ${before}`);
    else lineOfAgent.set(r.agentId, r.line);
    if (numberBefore !== undefined) bad(`home number ${n} is already on line ${numberBefore}`);
    else lineOfNumber.set(n, r.line);
    const atHome = !!agent && (r.mode === 'agent-phone' ? agent.options['agent-phone'] === n : agent.dn === n);
    if (!agent) bad(`unknown agent ${r.agentId}`);
    if (atHome) bad(`agent ${r.agentId} is already at home on ${n}`);
    else if (numberBefore !== undefined) continue;
    else if (!isPhoneNumber(n)) bad(`home number "${r.homeNumber}" is not a telephone number`);
    else if (dns.has(n)) bad(`home number ${n} is already an internal DN (${dns.get(n)!.type})`);
    else if (table.candidates(n).length === 0) bad(`no softswitch prefix matches home number ${n}`);
    if (!agent || problems.length > problemsBefore) continue;
    const office = agent.dn !== undefined ? (dns.get(agent.dn) ?? null) : null;
    planned.push({
      agentId: agent.id,
      mode: r.mode,
      homeNumber: n,
      before: { agent: agentDoc(agent), officeDn: office ? dnDoc(office) : null },
      changes: agentChanges(agent.id, r.mode, n),
      removeOfficeDn: null,
    });
  }
  const elsewhere = planned.filter((p) => table.select(p.homeNumber) !== name).map((p) => p.homeNumber);
  if (elsewhere.length)
    warnings.push(
      `${elsewhere.length} home number(s) are reached through another softswitch than ${name} (the longest matching prefix wins, behaviour §3.3): ${elsewhere.slice(0, 5).join(', ')}${elsewhere.length > 5 ? ', …' : ''}`,
    );
  assignOfficeDnRemovals(model, planned);
  if (problems.length) return { problems, warnings };
  return {
    problems,
    warnings,
    plan: {
      format: PLAN_FORMAT,
      createdAt: (req.now ?? new Date()).toISOString(),
      source: req.source,
      baseVersion: req.baseVersion,
      softswitch: name,
      softswitchChange,
      agents: planned,
    },
  };
}

/**
 * An office DN is removed when no agent keeps it as default DN after the plan: the last planned
 * agent (in plan order) that leaves it carries `removeOfficeDn`. Agent-phone agents keep their DN.
 * A DN with a digest password goes too: a rollback re-creates it from the server's change feed,
 * password included (`restoreFrom`, docs/admin-api.md).
 */
function assignOfficeDnRemovals(model: ConfigInput, planned: PlannedAgent[]): void {
  const leaving = new Set(planned.filter((p) => p.mode !== 'agent-phone').map((p) => p.agentId));
  const stays = new Set(model.agents.filter((a) => a.dn !== undefined && !leaving.has(a.id)).map((a) => a.dn!));
  const last = new Map<string, PlannedAgent>();
  for (const p of planned) {
    const dn = p.before.agent.dn;
    if (p.mode !== 'agent-phone' && dn !== undefined && p.before.officeDn && !stays.has(dn)) last.set(dn, p);
  }
  for (const [dn, p] of last) p.removeOfficeDn = dn;
}
