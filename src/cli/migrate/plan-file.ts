/**
 * The migration plan file (docs/migration.md "The plan file"): JSON, format
 * `sipserver-migration-plan/1`. Change objects are exactly those of
 * `POST /api/config/change-sets` (docs/admin-api.md "Change-sets").
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import type { ChangeRequest } from '../../config/change-set.js';
import type { MigrationMode } from './csv.js';

/** The format tag of this version of the plan file. */
export const PLAN_FORMAT = 'sipserver-migration-plan/1';

/** An agent as the admin API shows it (no password). */
export interface AgentDoc {
  id: string;
  name: string;
  dn?: string;
  options: Record<string, string>;
}

/** A DN as the admin API shows it (no secret options). */
export interface DnDoc {
  number: string;
  type: string;
  options: Record<string, string>;
}

/** One agent's move. */
export interface PlannedAgent {
  agentId: string;
  mode: MigrationMode;
  /** Normalised. */
  homeNumber: string;
  before: { agent: AgentDoc; officeDn: DnDoc | null };
  changes: ChangeRequest[];
  /** The office DN to delete once nobody is logged in on it (no agent keeps it as default DN). */
  removeOfficeDn: string | null;
}

/** The whole plan. */
export interface MigrationPlan {
  format: typeof PLAN_FORMAT;
  createdAt: string;
  source: { server: string } | { config: string };
  /** The configuration version the plan was made against (null offline). */
  baseVersion: number | null;
  softswitch: string;
  /** The softswitch's creation (applied with the first batch), or null when it exists. */
  softswitchChange: ChangeRequest | null;
  agents: PlannedAgent[];
}

/** Writes the plan atomically (temporary file, rename). */
export function writePlan(file: string, plan: MigrationPlan): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(plan, null, 2) + '\n');
  renameSync(tmp, file);
}

/** Reads a plan; throws an Error saying what is wrong with the file. */
export function readPlan(file: string): MigrationPlan {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read plan ${file}: ${(e as Error).message}`);
  }
  const p = v as Partial<MigrationPlan>;
  if (!p || typeof p !== 'object' || p.format !== PLAN_FORMAT)
    throw new Error(`${file} is not a migration plan (format ${PLAN_FORMAT}); make one with sipserver migrate plan`);
  if (!Array.isArray(p.agents) || typeof p.softswitch !== 'string')
    throw new Error(`${file}: the plan has no agents list or softswitch; make it again with sipserver migrate plan`);
  return p as MigrationPlan;
}
