/**
 * The admin bearer token (interfaces §5): `server.http.admin-token`, else `SIPSERVER_TOKEN`,
 * else generated at first start, stored in the data directory (mode 0600) and printed once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File holding a generated token inside the data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** Where the token came from. */
export type AdminTokenSource = 'config' | 'env' | 'file' | 'generated';

/** Inputs of {@link resolveAdminToken}. */
export interface AdminTokenInputs {
  /** `server.http.admin-token`. */
  configured?: string;
  /** `SIPSERVER_TOKEN` (defaults to the process environment). */
  env?: string;
  /** Data directory for the generated token. */
  dataDir: string;
  /** Prints the generated token once (defaults to stdout). */
  print?: (line: string) => void;
}

/** Picks the admin token; generates and stores one on first start when none is configured. */
export function resolveAdminToken(inputs: AdminTokenInputs): { token: string; source: AdminTokenSource } {
  if (inputs.configured) return { token: inputs.configured, source: 'config' };
  const env = 'env' in inputs ? inputs.env : process.env.SIPSERVER_TOKEN;
  if (env) return { token: env, source: 'env' };
  const file = join(inputs.dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t) return { token: t, source: 'file' };
  }
  mkdirSync(inputs.dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  (inputs.print ?? ((l: string) => process.stdout.write(l + '\n')))(
    `admin API token (generated, stored in ${file}; shown only this once): ${token}`,
  );
  return { token, source: 'generated' };
}
