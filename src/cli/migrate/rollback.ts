/**
 * `sipserver migrate rollback --journal FILE [--from-batch N]` (docs/migration.md "Rollback"):
 * batches N.. undone in reverse order, each as one change-set restoring the exact before-images
 * of its agents — office DNs the migration deleted re-created from the change-set that deleted
 * them (`restoreFrom`: digest passwords included), home DNs deleted, the softswitch deleted when
 * the plan created it — so that the configuration matches the original again, secrets included.
 */
import type { ChangeRequest } from '../../config/change-set.js';
import type { AdminClient } from '../admin-client.js';
import { agentState, ModelView, restoreChanges } from './images.js';
import { JournalWriter, readJournal, summariseJournal } from './journal.js';
import { MigrateStop } from './apply.js';
import { readPlan } from './plan-file.js';
import type { PlannedAgent } from './plan-file.js';

/** What rollback needs. */
export interface RollbackOptions {
  journalFile: string;
  fromBatch: number;
  say: (s: string) => void;
}

/** Undoes the batches; returns the exit code. */
export async function runRollback(client: AdminClient, o: RollbackOptions): Promise<number> {
  const summary = summariseJournal(readJournal(o.journalFile));
  if (!summary.start) throw new MigrateStop(`${o.journalFile} has no start record: nothing was applied with it`, 1);
  const plan = readPlan(summary.start.plan);
  const byId = new Map(plan.agents.map((p) => [p.agentId, p]));
  const batches = summary.batches.filter((b) => b.n >= o.fromBatch).reverse();
  if (batches.length === 0) {
    o.say(`nothing to roll back: no applied batch from ${o.fromBatch} on in ${o.journalFile}`);
    return 0;
  }
  const journal = new JournalWriter(o.journalFile);
  // Office DNs gone without a journaled version (a run that died between its change-set and the
  // journal line) are looked up in the change feed, from before the first batch on.
  const feedSince = Math.min(...summary.batches.map((b) => b.version)) - 1;
  let c = await client.config();
  let view = new ModelView(c.model);
  let version = c.version;
  for (const b of batches) {
    const agents = b.agents.map((id) => byId.get(id)).filter((p): p is PlannedAgent => !!p);
    const check = (): void => {
      for (const p of agents)
        if (agentState(p, view, new Set()) !== 'after')
          throw new MigrateStop(
            `agent ${p.agentId} (batch ${b.n}) changed since it was moved: rollback stops here to keep that change; ` +
              `undo it by hand or roll back with --from-batch ${b.n + 1}`,
            1,
          );
    };
    check();
    const restoreDns = [
      ...new Set(
        agents.map((p) => p.before.officeDn?.number).filter((n): n is string => n !== undefined && !view.dns.has(n)),
      ),
    ];
    const removedBy = await removalVersions(client, restoreDns, summary.removedBy, feedSince);
    const changes: ChangeRequest[] = restoreChanges(plan, agents, removedBy, !!b.softswitchCreated);
    for (let attempt = 0; ; attempt++) {
      const r = await client.changeSet(changes, version);
      if (r.ok) {
        version = r.version;
        break;
      }
      if (!r.conflict || attempt >= 20) {
        const why = r.conflict ? 'the configuration kept changing' : r.errors.map((e) => e.message).join('; ');
        throw new MigrateStop(`the server refused the rollback of batch ${b.n}: ${why}`, 1);
      }
      c = await client.config();
      view = new ModelView(c.model);
      version = c.version;
      check();
    }
    journal.append({ t: 'rolled-back', n: b.n, agents: b.agents, version, why: 'rollback', restoredDns: restoreDns });
    for (const n of restoreDns)
      view.dns.set(n, plan.agents.find((p) => p.before.officeDn?.number === n)!.before.officeDn!);
    for (const p of agents) {
      view.agents.set(p.agentId, p.before.agent);
      if (p.mode !== 'agent-phone') view.dns.delete(p.homeNumber);
    }
    o.say(`batch ${b.n} rolled back: ${agents.length} agent(s), configuration version ${version}`);
  }
  o.say(`rolled back ${batches.length} batch(es); the journal ${o.journalFile} records it`);
  return 0;
}

/**
 * The version of the change-set that deleted each office DN in `numbers`: from the journal, else
 * from the change feed after `feedSince`. A DN found in neither stops the rollback.
 */
async function removalVersions(
  client: AdminClient,
  numbers: string[],
  journaled: ReadonlyMap<string, number>,
  feedSince: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const unknown: string[] = [];
  for (const n of numbers) {
    const v = journaled.get(n);
    if (v !== undefined) out.set(n, v);
    else unknown.push(n);
  }
  if (unknown.length === 0) return out;
  const found = await client.dnRemovals(unknown, feedSince);
  for (const n of unknown) {
    const v = found.get(n);
    if (v === undefined)
      throw new MigrateStop(
        `office DN ${n} is gone, and neither the journal nor the change feed after version ${feedSince} says which change-set deleted it: ` +
          'rollback stops here; re-create it by hand (with its password, if it had one) and run rollback again',
        1,
      );
    out.set(n, v);
  }
  return out;
}
