/**
 * Validating a batch (issue 19; behaviour §3.3, §5, §7): every moved agent must be reachable at
 * home through an in-service softswitch. A home DN: its status (one bulk `POST /api/dns/status`
 * read per batch, docs/admin-api.md) says mode `softswitch` and `inService`. An agent-phone number is no DN (it is bound at login): a
 * softswitch whose prefix matches it must exist and not be out of service in `/api/status` devices.
 */
import type { SoftswitchPrefixTable } from '../../config/softswitch-prefix-table.js';
import type { AdminClient, DnStatus, ServerStatus } from '../admin-client.js';
import type { PlannedAgent } from './plan-file.js';

/** One agent that failed validation and why. */
export interface ValidationFailure {
  agentId: string;
  why: string;
}

/** Options of {@link validateBatch}. */
export interface ValidateOptions {
  /** `/api/status` read just before (its devices serve the first round of agent-phone checks). */
  status?: ServerStatus;
  /** A DN status that is not yet right is read again for this long (the server applies changes synchronously; this covers probing that is under way). */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

function checkHomeDn(p: PlannedAgent, s: DnStatus | null | undefined): string | null {
  if (!s) return `DN ${p.homeNumber} does not exist`;
  if (s.mode !== 'softswitch') return `DN ${p.homeNumber} resolves as ${s.mode}${s.reason ? ` (${s.reason})` : ''}`;
  if (!s.inService) return `DN ${p.homeNumber}: ${s.reason ?? `softswitch ${s.via ?? '?'} out of service`}`;
  return null;
}

/**
 * Waits until none of the softswitches serving `batch` is in state `unknown` in `/api/status`
 * devices (a softswitch just created, or just given `oos-check`, is not probed yet: its first
 * OPTIONS goes out within 10 % of `oos-check`, behaviour §5.1), at most `timeoutMs`.
 */
export async function awaitProbed(
  client: AdminClient,
  table: SoftswitchPrefixTable,
  batch: PlannedAgent[],
  timeoutMs: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise<void>((r) => setTimeout(r, ms)),
): Promise<ServerStatus> {
  const names = new Set(batch.flatMap((p) => table.candidates(p.homeNumber).map((c) => c.dn)));
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    // The load and queue are read with it: the server's state right after the batch.
    const status = await client.status({ sections: ['devices', 'load', 'config'] });
    const unknown = (status.devices ?? []).some((d) => names.has(d.dn) && d.state === 'unknown');
    if (!unknown || Date.now() >= deadline || round >= 10_000) return status;
    await sleep(200);
  }
}

/** Validates the agents of a batch; `table` holds the softswitches of the configuration after it. */
export async function validateBatch(
  client: AdminClient,
  table: SoftswitchPrefixTable,
  batch: PlannedAgent[],
  o: ValidateOptions = {},
): Promise<ValidationFailure[]> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (o.settleMs ?? 1000);
  let pending = batch;
  let failures: ValidationFailure[] = [];
  for (let round = 0; round < 50; round++) {
    failures = [];
    const needStatus = pending.some((p) => p.mode === 'agent-phone');
    const status =
      round === 0 && o.status ? o.status : needStatus ? await client.status({ sections: ['devices'] }) : undefined;
    const oos = new Set((status?.devices ?? []).filter((d) => d.state === 'out-of-service').map((d) => d.dn));
    const homes = pending.filter((p) => p.mode !== 'agent-phone').map((p) => p.homeNumber);
    const dnStatus = homes.length ? await client.dnStatuses(homes) : new Map<string, DnStatus | null>();
    for (const p of pending) {
      let why: string | null = null;
      if (p.mode !== 'agent-phone') why = checkHomeDn(p, dnStatus.get(p.homeNumber));
      else {
        const c = table.candidates(p.homeNumber);
        if (c.length === 0) why = `no softswitch prefix matches ${p.homeNumber}`;
        else if (c.every((x) => oos.has(x.dn))) why = `softswitch ${c.map((x) => x.dn).join(', ')} out of service`;
      }
      if (why) failures.push({ agentId: p.agentId, why });
    }
    if (failures.length === 0 || Date.now() >= deadline) return failures;
    const failed = new Set(failures.map((f) => f.agentId));
    pending = pending.filter((p) => failed.has(p.agentId));
    await sleep(200);
  }
  return failures;
}
