/**
 * Validating a batch (issue 19; behaviour §3.3, §5, §7): every moved agent must be reachable at
 * home through an in-service softswitch. A home DN: `GET /api/dns/{n}/status` says mode
 * `softswitch` and `inService`. An agent-phone number is no DN (it is bound at login): a
 * softswitch whose prefix matches it must exist and not be out of service in `/api/status` devices.
 */
import type { SoftswitchPrefixTable } from '../../config/softswitch-prefix-table.js';
import type { AdminClient } from './admin-client.js';
import type { PlannedAgent } from './plan-file.js';

/** DN status reads in flight at once. */
const CONCURRENCY = 8;

/** One agent that failed validation and why. */
export interface ValidationFailure {
  agentId: string;
  why: string;
}

/** Options of {@link validateBatch}. */
export interface ValidateOptions {
  /** A DN status that is not yet right is read again for this long (the server applies changes synchronously; this covers probing that is under way). */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

async function checkHomeDn(client: AdminClient, p: PlannedAgent): Promise<string | null> {
  const s = await client.dnStatus(p.homeNumber);
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
): Promise<void> {
  const names = new Set(batch.flatMap((p) => table.candidates(p.homeNumber).map((c) => c.dn)));
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 10_000; round++) {
    const devices = (await client.status()).devices ?? [];
    if (!devices.some((d) => names.has(d.dn) && d.state === 'unknown') || Date.now() >= deadline) return;
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
    const status = pending.some((p) => p.mode === 'agent-phone') ? await client.status() : undefined;
    const oos = new Set((status?.devices ?? []).filter((d) => d.state === 'out-of-service').map((d) => d.dn));
    const check = async (p: PlannedAgent): Promise<string | null> => {
      if (p.mode !== 'agent-phone') return checkHomeDn(client, p);
      const c = table.candidates(p.homeNumber);
      if (c.length === 0) return `no softswitch prefix matches ${p.homeNumber}`;
      if (c.every((x) => oos.has(x.dn))) return `softswitch ${c.map((x) => x.dn).join(', ')} out of service`;
      return null;
    };
    // A few status reads in flight at a time: a 1,000-agent batch is validated in ~1000/8 round trips.
    for (let i = 0; i < pending.length; i += CONCURRENCY) {
      const chunk = pending.slice(i, i + CONCURRENCY);
      const whys = await Promise.all(chunk.map(check));
      chunk.forEach((p, j) => {
        if (whys[j]) failures.push({ agentId: p.agentId, why: whys[j]! });
      });
    }
    if (failures.length === 0 || Date.now() >= deadline) return failures;
    const failed = new Set(failures.map((f) => f.agentId));
    pending = pending.filter((p) => failed.has(p.agentId));
    await sleep(200);
  }
  return failures;
}
