/**
 * `sipserver migrate plan|diff|apply|status|rollback` (interfaces §1, behaviour §13,
 * docs/migration.md). Exit 0 on success, 1 on a validation or rollback stop or refused input,
 * 2 on usage errors, 130 after Ctrl-C; every failure says on stderr what to do next.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command, CommanderError } from 'commander';
import { AdminClient, ServerDownError, ServerRefusedError } from './admin-client.js';
import { Applier, MigrateStop } from './migrate/apply.js';
import { parseMigrationCsv, type CsvProblem, type CsvRow } from './migrate/csv.js';
import type { ChangeRequest } from '../config/change-set.js';
import { renderPlanDiff } from './migrate/diff.js';
import { readJournal, summariseJournal } from './migrate/journal.js';
import { buildPlan } from './migrate/plan.js';
import { readPlan, writePlan, type MigrationPlan } from './migrate/plan-file.js';
import { Progress } from './migrate/progress.js';
import { runRollback } from './migrate/rollback.js';

const out = (s: string): void => void process.stdout.write(s + '\n');
const err = (s: string): void => void process.stderr.write(s + '\n');

/** `--max-apply-ms` default (docs/migration.md "Batch size"). */
const DEFAULT_MAX_APPLY_MS = 2;

/** A usage error: exit 2. */
class UsageError extends Error {}

function client(server: string | undefined, token: string | undefined): AdminClient {
  if (!server) throw new UsageError('--server URL is required');
  const t = token ?? process.env.SIPSERVER_TOKEN;
  if (!t) throw new UsageError('--server needs the admin token: --token TOKEN or SIPSERVER_TOKEN');
  return new AdminClient(server, t);
}

function positive(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, not "${v}"`);
  return n;
}

async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof UsageError) {
      err(`sipserver migrate: ${e.message}`);
      process.exitCode = 2;
    } else if (e instanceof MigrateStop) {
      err(`sipserver migrate: ${e.message}`);
      process.exitCode = e.code;
    } else if (e instanceof ServerDownError) {
      err(`sipserver migrate: server did not answer (${e.message}); run the same command again to resume`);
      process.exitCode = 1;
    } else if (e instanceof ServerRefusedError) {
      err(`sipserver migrate: ${e.message}; check --server and --token`);
      process.exitCode = 1;
    } else if (e instanceof Error) {
      err(`sipserver migrate: ${e.message}`);
      process.exitCode = 1;
    } else throw e;
  }
}

/**
 * The whole plan as one dry-run change-set on the server (`?dryRun=true`): what the server's own
 * validation would refuse, each problem on the CSV line of its agent.
 */
async function serverProblems(api: AdminClient, plan: MigrationPlan, rows: CsvRow[]): Promise<CsvProblem[]> {
  const lineOf = new Map(rows.map((r) => [r.agentId, r.line]));
  const changes: ChangeRequest[] = [];
  const lines: number[] = [];
  if (plan.softswitchChange) {
    changes.push(plan.softswitchChange);
    lines.push(0);
  }
  for (const p of plan.agents) {
    const all: ChangeRequest[] = [...p.changes];
    if (p.removeOfficeDn) all.push({ op: 'delete', kind: 'dn', key: p.removeOfficeDn });
    for (const c of all) {
      changes.push(c);
      lines.push(lineOf.get(p.agentId) ?? 0);
    }
  }
  const r = await api.changeSet(changes, plan.baseVersion ?? undefined, true);
  if (r.ok || r.conflict) return [];
  return r.errors.map((e) => ({ line: lines[e.index] ?? 0, message: `the server refuses it: ${e.message}` }));
}

interface PlanOpts {
  server?: string;
  token?: string;
  config?: string;
  csv: string;
  softswitch: string;
  contact?: string;
  prefix?: string;
  out: string;
}

async function planCommand(o: PlanOpts): Promise<number> {
  if (!!o.server === !!o.config) throw new UsageError('give either --server URL (with --token) or --config FILE');
  if ((o.contact === undefined) !== (o.prefix === undefined))
    throw new UsageError('--contact and --prefix go together (they create the softswitch)');
  if (!existsSync(o.csv)) throw new UsageError(`no CSV file ${o.csv}`);
  let model;
  let baseVersion: number | null = null;
  let api: AdminClient | undefined;
  if (o.server) {
    api = client(o.server, o.token);
    const c = await api.config();
    model = c.model;
    baseVersion = c.version;
  } else {
    // Loaded here only: the YAML reader is the largest module the other subcommands do without.
    const { formatProblem, loadConfigFile } = await import('../config/config-file.js');
    const r = loadConfigFile(o.config!);
    for (const e of r.errors) err(formatProblem(e));
    if (!r.model) throw new MigrateStop(`${o.config} is not a valid configuration; fix it first`, 1);
    model = r.model;
  }
  const csv = parseMigrationCsv(readFileSync(o.csv, 'utf8'));
  const r = buildPlan(model, csv.rows, {
    softswitch: o.softswitch,
    contact: o.contact,
    prefix: o.prefix,
    source: o.server ? { server: o.server } : { config: resolve(o.config!) },
    baseVersion,
  });
  for (const w of r.warnings) err(`sipserver migrate: warning: ${w}`);
  const problems = [...csv.problems, ...r.problems];
  if (r.plan && api) problems.push(...(await serverProblems(api, r.plan, csv.rows)));
  problems.sort((a, b) => a.line - b.line);
  for (const p of problems) err(p.line > 0 ? `${o.csv}:${p.line}: ${p.message}` : `sipserver migrate: ${p.message}`);
  if (!r.plan || problems.length) {
    err(`sipserver migrate: ${problems.length} problem(s), no plan written; fix them and run migrate plan again`);
    return 1;
  }
  writePlan(o.out, r.plan);
  const n = (m: string): number => r.plan!.agents.filter((a) => a.mode === m).length;
  out(
    `wrote ${o.out}: ${r.plan.agents.length} agent(s) (${n('extension')} extension, ${n('nailed-up')} nailed-up, ` +
      `${n('agent-phone')} agent-phone)${baseVersion !== null ? ` against version ${baseVersion}` : ''}; ` +
      `review it with sipserver migrate diff ${o.out}`,
  );
  return 0;
}

interface ApplyOpts {
  server?: string;
  token?: string;
  batch?: string;
  maxBatch?: string;
  maxCpu?: string;
  maxLag?: string;
  maxApplyMs?: string;
  journal?: string;
  waitLogout?: string;
}

async function applyCommand(planFile: string, o: ApplyOpts): Promise<number> {
  const c = client(o.server, o.token);
  const limits = {
    initial: positive('--batch', o.batch, 50),
    max: positive('--max-batch', o.maxBatch, 1000),
    maxCpu: positive('--max-cpu', o.maxCpu, 70),
    maxLag: positive('--max-lag', o.maxLag, 50),
    maxApplyMs: positive('--max-apply-ms', o.maxApplyMs, DEFAULT_MAX_APPLY_MS),
  };
  if (limits.max < limits.initial) throw new UsageError('--max-batch must be at least --batch');
  const waitLogoutS = positive('--wait-logout', o.waitLogout, 60);
  if (!existsSync(planFile)) throw new UsageError(`no plan file ${planFile}`);
  const plan = readPlan(planFile);
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    err('\ninterrupt: finishing the batch in flight (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  try {
    const applier = new Applier(
      plan,
      c,
      {
        planFile: resolve(planFile),
        journalFile: o.journal ?? `${planFile}.journal`,
        limits,
        waitLogoutS,
        interrupted: () => interrupted,
      },
      new Progress(process.stdout),
    );
    return await applier.run();
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function statusCommand(journalFile: string): number {
  if (!existsSync(journalFile)) throw new UsageError(`no journal ${journalFile}`);
  const s = summariseJournal(readJournal(journalFile));
  const total = s.start?.agents ?? 0;
  out(`journal ${journalFile}${s.start ? `: plan ${s.start.plan}, server ${s.start.server}` : ''}`);
  out(`batches applied: ${s.batches.length} (last batch number ${s.lastBatch})`);
  out(`agents moved: ${s.moved.size} of ${total}`);
  if (s.deferred.size) out(`agents deferred (on a call): ${[...s.deferred].join(', ')}`);
  const removed = s.batches.reduce((n, b) => n + (b.removedDns?.length ?? 0), 0) + s.removedDns.length;
  out(`office DNs removed: ${removed}`);
  if (s.kept.size)
    out(`office DNs kept (agents logged in): ${[...s.kept].join(', ')}; running apply again removes them`);
  if (s.lastFailure) out(`last stop: batch ${s.lastFailure.n} rolled back: ${s.lastFailure.why}`);
  out(`last configuration version: ${s.lastVersion ?? '-'}`);
  out(s.done ? 'state: done' : 'state: not finished (run the same apply command to go on)');
  return 0;
}

/** Registers `migrate` and its subcommands. */
export function registerMigrateCommands(program: Command): void {
  const m = program
    .command('migrate')
    .description('move agents from office DNs to home in validated, throttled batches (docs/migration.md)');
  m.exitOverride((e: CommanderError) => {
    process.exit(e.exitCode === 0 ? 0 : 2);
  });
  m.command('plan')
    .description('make a plan file from the configuration and a CSV agent_id,home_number,mode')
    .option('--server <url>', 'read the configuration from a running server')
    .option('--token <token>', 'admin token for --server (default: SIPSERVER_TOKEN)')
    .option('--config <file>', 'read the configuration from an exported YAML file (offline)')
    .requiredOption('--csv <file>', 'CSV with the header agent_id,home_number,mode')
    .requiredOption('--softswitch <name>', 'the SBC softswitch DN the home numbers are reached through')
    .option('--contact <host:port>', 'create the softswitch with this contact (with --prefix)')
    .option('--prefix <p>', 'prefix of the created softswitch')
    .requiredOption('--out <plan>', 'plan file to write')
    .action((o: PlanOpts) => run(() => planCommand(o)));
  m.command('diff')
    .description('show a plan as a diff per agent (before → after)')
    .argument('<plan>', 'plan file')
    .action((file: string) =>
      run(async () => {
        if (!existsSync(file)) throw new UsageError(`no plan file ${file}`);
        for (const l of renderPlanDiff(readPlan(file))) out(l);
        return 0;
      }),
    );
  m.command('apply')
    .description('apply a plan in validated batches; the same command resumes after a crash or Ctrl-C')
    .argument('<plan>', 'plan file')
    .option('--server <url>', 'the running server')
    .option('--token <token>', 'admin token (default: SIPSERVER_TOKEN)')
    .option('--batch <n>', 'first batch size', '50')
    .option('--max-batch <n>', 'largest batch size', '1000')
    .option('--max-cpu <percent>', 'server CPU at which batches shrink', '70')
    .option('--max-lag <ms>', 'server event-loop lag at which batches shrink', '50')
    .option(
      '--max-apply-ms <ms>',
      'longest the server should hold its event loop at once applying one batch (config.lastApplyLongestTurnMs); bigger batches shrink',
      String(DEFAULT_MAX_APPLY_MS),
    )
    .option('--journal <file>', 'journal file (default PLAN.journal)')
    .option('--wait-logout <s>', 'how long the end of the run waits for busy agents and logged-in office DNs', '60')
    .action((file: string, o: ApplyOpts) => run(() => applyCommand(file, o)));
  m.command('status')
    .description('what a journal says was done')
    .requiredOption('--journal <file>', 'journal file')
    .action((o: { journal: string }) => run(async () => statusCommand(o.journal)));
  m.command('rollback')
    .description('undo the batches of a journal (all, or from --from-batch N on), restoring the original configuration')
    .requiredOption('--journal <file>', 'journal file')
    .option('--from-batch <n>', 'first batch to undo', '1')
    .option('--server <url>', 'the server (default: the one in the journal)')
    .option('--token <token>', 'admin token (default: SIPSERVER_TOKEN)')
    .action((o: { journal: string; fromBatch: string; server?: string; token?: string }) =>
      run(async () => {
        if (!existsSync(o.journal)) throw new UsageError(`no journal ${o.journal}`);
        const from = positive('--from-batch', o.fromBatch, 1);
        const start = summariseJournal(readJournal(o.journal)).start;
        const c = client(o.server ?? start?.server, o.token);
        return runRollback(c, { journalFile: o.journal, fromBatch: from, say: out });
      }),
    );
}
