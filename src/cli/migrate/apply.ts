/**
 * `sipserver migrate apply` (docs/migration.md, behaviour §13): the plan applied in batches, each
 * batch one change-set posted with `ifVersion`, validated, journaled; the batch size follows the
 * server's load (BatchController). Agents on a call are skipped and retried at the end; an office
 * DN is deleted only once nobody is logged in on it. Resumable from the journal.
 */
import { SoftswitchPrefixTable } from '../../config/softswitch-prefix-table.js';
import type { ChangeRequest } from '../../config/change-set.js';
import type { AdminClient, ServerStatus } from '../admin-client.js';
import { BatchController, type BatchLimits, type LoadReading } from './batch-controller.js';
import { afterAgent, afterHomeDn, agentState, changedWhy, ModelView, restoreChanges } from './images.js';
import { JournalWriter, readJournal, summariseJournal } from './journal.js';
import type { MigrationPlan, PlannedAgent } from './plan-file.js';
import type { Progress } from './progress.js';
import { awaitProbed, validateBatch } from './validate.js';

/** A stop with an exit code and the message saying what to do next. */
export class MigrateStop extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Options of {@link Applier}. */
export interface ApplyOptions {
  planFile: string;
  journalFile: string;
  limits: BatchLimits;
  /** `--wait-logout` seconds: how long the end of the run waits for busy agents and logged-in office DNs. */
  waitLogoutS: number;
  /** True once Ctrl-C was pressed: the batch in flight finishes, then the run stops. */
  interrupted: () => boolean;
  sleep?: (ms: number) => Promise<void>;
}

/** Who is logged in where and who is on a call, from `GET /api/status?sections=agents&agentState=logged-in`. */
class LiveAgents {
  readonly busy = new Set<string>();
  readonly loggedInDns = new Set<string>();
  constructor(s: ServerStatus) {
    for (const a of s.agents ?? []) {
      if (a.state === 'LoggedOut') continue;
      // On a routed call (a Busy state) or on any other call of its DN (`onCall`).
      if (a.state.startsWith('Busy') || a.onCall === true) this.busy.add(a.id);
      if (a.dn !== undefined) this.loggedInDns.add(a.dn);
    }
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const loadOf = (s: ServerStatus): LoadReading => ({
  cpu: num(s.load?.cpuPercent),
  lag: num(s.load?.eventLoopLagMs),
  // The longest turn the server's apply held its event loop; a server that applies in one turn reports only lastApplyMs.
  applyMs: num(s.config?.lastApplyLongestTurnMs) ?? num(s.config?.lastApplyMs),
});

/** Applies one plan against one server. */
export class Applier {
  private readonly journal: JournalWriter;
  private version = 0;
  private view!: ModelView;
  private readonly moved = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly pendingRemovals = new Set<string>();
  private readonly leavers = new Map<string, string[]>();
  private batchNo = 0;
  private softswitchCreated = false;
  private readonly controller: BatchController;
  private readonly sleep: (ms: number) => Promise<void>;
  private lastLoad: LoadReading = { cpu: null, lag: null };
  private readonly startedAt = Date.now();
  /** Where a search of the change feed for a removal starts: no change-set of this run is older. */
  private feedSince = 0;

  constructor(
    private readonly plan: MigrationPlan,
    private readonly client: AdminClient,
    private readonly o: ApplyOptions,
    private readonly progress: Progress,
  ) {
    this.journal = new JournalWriter(o.journalFile);
    this.controller = new BatchController(o.limits);
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    for (const p of plan.agents)
      if (p.mode !== 'agent-phone' && p.before.agent.dn !== undefined)
        this.leavers.set(p.before.agent.dn, [...(this.leavers.get(p.before.agent.dn) ?? []), p.agentId]);
  }

  private async refresh(): Promise<void> {
    const c = await this.client.config();
    this.version = c.version;
    this.view = new ModelView(c.model);
  }

  private stale(p: PlannedAgent): MigrateStop {
    return new MigrateStop(
      `stale plan: agent ${p.agentId} changed since the plan was made (${changedWhy(p, this.view)}); run migrate plan again`,
      1,
    );
  }

  /**
   * Posts a change-set with `ifVersion`; on 409 re-reads the configuration and re-checks `recheck`
   * (the agents still to move): unrelated changes are fine, a changed planned object is stale.
   */
  private async post(changes: ChangeRequest[], recheck: PlannedAgent[]): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await this.client.changeSet(changes, this.version);
      if (r.ok) {
        this.version = r.version;
        return;
      }
      if (!r.conflict) {
        const list = r.errors.map((e) => (e.index >= 0 ? `change ${e.index}: ${e.message}` : e.message)).join('; ');
        throw new MigrateStop(
          `the server refused a change-set: ${list}; check the plan (migrate diff) or make it again`,
          1,
        );
      }
      await this.refresh();
      for (const p of recheck) if (agentState(p, this.view, this.removed) === 'changed') throw this.stale(p);
    }
    throw new MigrateStop('the configuration kept changing under the tool (20 conflicts in a row); try again later', 1);
  }

  /** Runs the whole plan; returns the exit code. */
  async run(): Promise<number> {
    const summary = summariseJournal(readJournal(this.o.journalFile));
    if (summary.start && summary.start.plan !== this.o.planFile)
      throw new MigrateStop(
        `${this.o.journalFile} is the journal of ${summary.start.plan}, not of ${this.o.planFile}: give this plan its own --journal`,
        1,
      );
    for (const a of summary.moved) this.moved.add(a);
    for (const r of summary.removedDns) this.removed.add(r.number);
    for (const b of summary.batches) for (const d of b.removedDns ?? []) this.removed.add(d);
    this.softswitchCreated = summary.batches.some((b) => b.softswitchCreated);
    this.batchNo = summary.lastBatch;
    this.feedSince = summary.lastVersion ?? this.plan.baseVersion ?? 0;
    if (summary.done) {
      this.progress.say(`${this.o.journalFile}: the plan is applied already (migrate status shows what was done)`);
      return 0;
    }
    await this.refresh();
    const todo = this.plan.agents.filter((p) => !this.moved.has(p.agentId));
    const recovered: PlannedAgent[] = [];
    for (const p of todo) {
      const st = agentState(p, this.view, this.removed);
      if (st === 'changed') throw this.stale(p);
      if (st === 'after') recovered.push(p);
    }
    const ss = this.plan.softswitchChange;
    if (ss && this.view.dns.has(this.plan.softswitch) && !this.softswitchCreated) {
      if (recovered.length === 0 && this.moved.size === 0)
        throw new MigrateStop(
          `stale plan: softswitch ${this.plan.softswitch} was created since the plan was made; run migrate plan again`,
          1,
        );
      this.softswitchCreated = recovered.length > 0;
    }
    for (const p of this.plan.agents)
      if (this.moved.has(p.agentId) && p.removeOfficeDn && this.view.dns.has(p.removeOfficeDn))
        this.pendingRemovals.add(p.removeOfficeDn);
    this.journal.append({
      t: 'start',
      time: new Date().toISOString(),
      plan: this.o.planFile,
      server: this.client.base,
      agents: this.plan.agents.length,
    });
    this.progress.begin(this.moved.size);
    if (recovered.length) await this.settle(recovered);
    const queue = todo.filter((p) => !recovered.includes(p));
    const deferred: PlannedAgent[] = [];
    let i = 0;
    while (i < queue.length) {
      if (this.o.interrupted()) return this.interrupted();
      const live = await this.liveAgents();
      const size = this.controller.size;
      const take = queue.slice(i, i + size);
      i += take.length;
      const busy = take.filter((p) => live.busy.has(p.agentId));
      deferred.push(...busy);
      const batch = take.filter((p) => !live.busy.has(p.agentId));
      if (batch.length) await this.batch(batch, live, deferred.length, size);
      const d = this.controller.next(this.lastLoad);
      if (d.waitMs > 0) await this.sleep(d.waitMs);
    }
    return this.tail(deferred);
  }

  /** The agents logged in (busy ones among them): only those are read, not the whole status. */
  private async liveAgents(): Promise<LiveAgents> {
    return new LiveAgents(await this.client.status({ sections: ['agents'], agentState: 'logged-in' }));
  }

  private interrupted(): number {
    this.progress.say(
      `interrupted: ${this.moved.size} of ${this.plan.agents.length} agents moved, journal ${this.o.journalFile}; run the same command again to resume`,
    );
    return 130;
  }

  /**
   * A batch a crashed run applied but did not journal: validated and journaled now (or rolled
   * back). The office DNs its change-set deleted are found in the change feed, with the version
   * that deleted them, so that a rollback can restore them.
   */
  private async settle(batch: PlannedAgent[]): Promise<void> {
    this.progress.say(`settling ${batch.length} agent(s) a previous run applied without journaling them`);
    const created = !!this.plan.softswitchChange && !this.journalHasSoftswitch();
    const gone = batch
      .map((p) => p.removeOfficeDn)
      .filter((n): n is string => !!n && !this.view.dns.has(n) && !this.removed.has(n));
    const deleted = await this.client.dnRemovals(gone, this.feedSince);
    await this.validateOrRollBack(batch, deleted, created);
    for (const [number, version] of deleted) {
      this.journal.append({ t: 'office-dn-removed', number, version });
      this.removed.add(number);
    }
    this.finishBatch(batch, [], created, true, batch.length);
  }

  private journalHasSoftswitch(): boolean {
    return summariseJournal(readJournal(this.o.journalFile)).batches.some((b) => b.softswitchCreated);
  }

  /** One batch: change-set, validation, journal. */
  /** One batch of controller size `size` (`batch` is smaller when agents on a call were left out). */
  private async batch(batch: PlannedAgent[], live: LiveAgents, deferred: number, size: number): Promise<void> {
    const ids = new Set(batch.map((p) => p.agentId));
    const deletes: string[] = [];
    for (const p of batch) {
      const dn = p.removeOfficeDn;
      if (!dn || !this.view.dns.has(dn)) continue;
      const allLeft = (this.leavers.get(dn) ?? []).every((a) => this.moved.has(a) || ids.has(a));
      if (allLeft && !live.loggedInDns.has(dn)) deletes.push(dn);
      else this.pendingRemovals.add(dn);
    }
    const createSs = !!this.plan.softswitchChange && !this.view.dns.has(this.plan.softswitch);
    const changes: ChangeRequest[] = [
      ...(createSs ? [this.plan.softswitchChange!] : []),
      ...batch.flatMap((p) => p.changes),
      ...deletes.map((n): ChangeRequest => ({ op: 'delete', kind: 'dn', key: n })),
    ];
    await this.post(
      changes,
      this.plan.agents.filter((p) => !this.moved.has(p.agentId)),
    );
    this.applyLocally(batch, deletes, createSs);
    await this.validateOrRollBack(batch, new Map(deletes.map((d) => [d, this.version])), createSs);
    this.finishBatch(batch, deletes, createSs, false, size);
    this.progress.update({
      done: this.moved.size,
      total: this.plan.agents.length,
      batch: this.batchNo,
      batchSize: size,
      cpu: this.lastLoad.cpu,
      lag: this.lastLoad.lag,
      deferred,
    });
  }

  private applyLocally(batch: PlannedAgent[], deletes: string[], createSs: boolean): void {
    if (createSs) {
      const v = this.plan.softswitchChange!.value as { type: string; options: Record<string, string> };
      this.view.dns.set(this.plan.softswitch, { number: this.plan.softswitch, type: v.type, options: v.options });
    }
    for (const p of batch) {
      this.view.agents.set(p.agentId, afterAgent(p));
      const home = afterHomeDn(p);
      if (home) this.view.dns.set(home.number, home);
    }
    for (const d of deletes) this.view.dns.delete(d);
  }

  /** `deletes`: the office DNs the batch deleted → the version of the change-set that deleted them. */
  private async validateOrRollBack(
    batch: PlannedAgent[],
    deletes: ReadonlyMap<string, number>,
    createSs: boolean,
  ): Promise<void> {
    const table = new SoftswitchPrefixTable();
    for (const d of this.view.dns.values()) table.applyDnChange(null, { ...d, type: d.type as 'voip-service' });
    const status = await awaitProbed(this.client, table, batch, 15_000, this.sleep);
    // The load read with the validation: the server's state right after the batch.
    this.lastLoad = loadOf(status);
    const failures = await validateBatch(this.client, table, batch, { status });
    if (failures.length === 0) return;
    const n = ++this.batchNo;
    await this.post(restoreChanges(this.plan, batch, deletes, createSs), []);
    const why = failures.map((f) => `${f.agentId}: ${f.why}`).join('; ');
    this.journal.append({
      t: 'rolled-back',
      n,
      agents: batch.map((p) => p.agentId),
      version: this.version,
      why: `validation failed: ${why}`,
      restoredDns: [...deletes.keys()],
    });
    throw new MigrateStop(
      `batch ${n} failed validation and was rolled back (earlier batches stay applied): ${why}. ` +
        `Fix the cause (e.g. the softswitch's service) and run the same command again`,
      1,
    );
  }

  private finishBatch(
    batch: PlannedAgent[],
    deletes: string[],
    createSs: boolean,
    recovered: boolean,
    size: number,
  ): void {
    const n = ++this.batchNo;
    if (createSs) this.softswitchCreated = true;
    for (const p of batch) this.moved.add(p.agentId);
    for (const d of deletes) this.removed.add(d);
    this.journal.append({
      t: 'batch',
      n,
      agents: batch.map((p) => p.agentId),
      version: this.version,
      size,
      cpu: this.lastLoad.cpu,
      lag: this.lastLoad.lag,
      ...(deletes.length ? { removedDns: deletes } : {}),
      ...(createSs ? { softswitchCreated: true } : {}),
      ...(recovered ? { recovered: true } : {}),
    });
  }

  /** The end of the run: skipped agents and office DNs still in use, retried until `--wait-logout`. */
  private async tail(deferred: PlannedAgent[]): Promise<number> {
    const deadline = Date.now() + this.o.waitLogoutS * 1000;
    let left = [...deferred];
    for (let round = 0; (left.length || this.pendingRemovals.size) && round < 100_000; round++) {
      if (this.o.interrupted()) return this.interrupted();
      const live = await this.liveAgents();
      const ready = left.filter((p) => !live.busy.has(p.agentId));
      if (ready.length) {
        await this.batch(ready, live, left.length - ready.length, ready.length);
        left = left.filter((p) => !ready.includes(p));
      }
      for (const dn of [...this.pendingRemovals]) {
        const allLeft = (this.leavers.get(dn) ?? []).every((a) => this.moved.has(a));
        if (!allLeft || live.loggedInDns.has(dn)) continue;
        if (this.view.dns.has(dn)) {
          await this.post([{ op: 'delete', kind: 'dn', key: dn }], []);
          this.view.dns.delete(dn);
          this.journal.append({ t: 'office-dn-removed', number: dn, version: this.version });
        }
        this.removed.add(dn);
        this.pendingRemovals.delete(dn);
      }
      if ((!left.length && !this.pendingRemovals.size) || Date.now() >= deadline) break;
      await this.sleep(500);
    }
    this.progress.end();
    for (const p of left) this.journal.append({ t: 'deferred', agentId: p.agentId, why: 'on a call' });
    for (const dn of this.pendingRemovals)
      this.journal.append({ t: 'office-dn-kept', number: dn, why: 'agents logged in' });
    const secs = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    const summary = `${this.moved.size} of ${this.plan.agents.length} agents moved in ${this.batchNo} batch(es) in ${secs} s, configuration version ${this.version}`;
    if (left.length) {
      this.progress.say(summary);
      throw new MigrateStop(
        `${left.length} agent(s) stayed on a call past --wait-logout (${left.map((p) => p.agentId).join(', ')}): run the same command again to move them`,
        1,
      );
    }
    if (this.pendingRemovals.size) {
      this.progress.say(
        `${summary}; office DN(s) kept because agents are still logged in on them: ${[...this.pendingRemovals].join(', ')}; running apply again removes them`,
      );
      return 0;
    }
    this.journal.append({ t: 'done', time: new Date().toISOString(), version: this.version });
    this.progress.say(`done: ${summary}`);
    return 0;
  }
}
