/**
 * Shared pieces of the `sipserver migrate` integration tests: a generated office configuration,
 * the real server process, a SIPp softswitch answering OPTIONS, and the command as a child.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as runSipserver, type CliResult } from '../helpers/office-world.js';
import { cliEntry, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { readJournal, type BatchEntry } from '../../src/cli/migrate/journal.js';

/** The admin token every migration test server uses. */
export const TOKEN = 'migrate-test-token';

/** Options of {@link officeConfig}. */
export interface OfficeOptions {
  agents: number;
  /** Extra YAML DN entries (indented as list items under `dns:`). */
  extraDns?: string;
  /** Indexes of the agents whose office DN is a registering phone with a digest password (`phonePassword`). */
  phones?: number[];
}

/** The digest password of office DN `number` when it is one of {@link OfficeOptions.phones}. */
export const phonePassword = (number: string): string => `pw-${number}`;

/**
 * `n` agents a00… on office DNs 7000… behind the office PBX softswitch (prefix 7), one routing
 * point; the `phones` ones register themselves (`contact: "*"`) with a digest password.
 */
export function officeConfig(o: OfficeOptions): string {
  const ids = Array.from({ length: o.agents }, (_, i) => `a${String(i).padStart(2, '0')}`);
  const phones = new Set(o.phones ?? []);
  const dns = ids
    .map((_, i) =>
      phones.has(i)
        ? `  - { number: "${7000 + i}", type: extension, options: { contact: "*", password: "${phonePassword(String(7000 + i))}" } }`
        : `  - { number: "${7000 + i}", type: extension }`,
    )
    .join('\n');
  const agents = ids.map((id, i) => `  - { id: ${id}, name: Agent ${id}, password: pw-${id}, dn: "${7000 + i}" }`);
  return `server:
  name: SIP_Server
  sip: { listen: ["udp:127.0.0.1:5060"] }
  http: { admin-token: "${TOKEN}" }
dns:
  - number: OfficePBX
    type: voip-service
    options: { contact: "203.0.113.7:5060", service-type: softswitch, prefix: "7" }
  - number: "5000"
    type: routing-point
    options: { agent-group: Support }
${dns}
${o.extraDns ?? ''}
agents:
${agents.join('\n')}
agent-groups:
  - name: Support
    agents: [${ids.join(', ')}]
`;
}

/** A CSV moving every agent: modes extension, nailed-up, agent-phone in turn; numbers `prefixOf(i)` + 7 digits. */
export function migrationCsv(agents: number, prefixOf: (i: number) => string = () => '+1555'): string {
  const modes = ['extension', 'nailed-up', 'agent-phone'];
  const rows = Array.from(
    { length: agents },
    (_, i) => `a${String(i).padStart(2, '0')},${prefixOf(i)} 000 ${String(i).padStart(4, '0')},${modes[i % 3]}`,
  );
  return ['agent_id,home_number,mode', ...rows].join('\n') + '\n';
}

/** Starts the server on `config` (written into `dir`), HTTP on a fixed free port so a restart keeps the URL. */
export async function startMigrateServer(
  dir: string,
  config: string | undefined,
  keep?: { dataDir: string; httpPort: number; sipPort: number },
): Promise<{ server: ServerProcess; url: string; dataDir: string; httpPort: number; sipPort: number }> {
  const httpPort = keep?.httpPort ?? (await freePort());
  const sipPort = keep?.sipPort ?? (await freePort());
  let configFile: string | undefined;
  if (config !== undefined) {
    configFile = join(dir, 'office.yaml');
    writeFileSync(configFile, config);
  }
  const server = await startServerProcess({
    config: configFile,
    sipListen: [`udp:127.0.0.1:${sipPort}`],
    httpListen: `127.0.0.1:${httpPort}`,
    dataDir: keep?.dataDir,
    keepData: true,
  });
  return { server, url: server.httpUrl!, dataDir: server.dataDir, httpPort, sipPort };
}

/** A SIPp softswitch answering every OPTIONS with 200 on `port`. */
export function startOptionsDevice(port: number): Promise<SippPeer> {
  return startSipp({
    scenario: join(repoRoot, 'test/integration/sipp/uas-options-200.xml'),
    localPort: port,
    calls: 100_000,
    traceMessages: false,
  });
}

/** `sipserver ARGS…` as a child process (the admin token in SIPSERVER_TOKEN). */
export function spawnCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [...cliEntry(), ...args], {
    cwd: repoRoot,
    env: { ...process.env, SIPSERVER_TOKEN: TOKEN },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** `sipserver migrate …` as a child process. */
export const spawnMigrate = (args: string[]): ChildProcessWithoutNullStreams => spawnCli(['migrate', ...args]);

/** Runs `sipserver ARGS…` to its end (the admin token in SIPSERVER_TOKEN). */
export const runCli = (args: string[]): Promise<CliResult> => runSipserver(args, { env: { SIPSERVER_TOKEN: TOKEN } });

/** Runs `sipserver migrate …` to its end. */
export const migrate = (args: string[]): ReturnType<typeof runCli> => runCli(['migrate', ...args]);

/** An admin API call with the test token. */
export async function api(
  url: string,
  path: string,
  init: RequestInit = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read any JSON shape
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * The configuration the server holds (`GET /api/config` `config`, no secrets), its lists sorted
 * by key: the store lists objects in the order they were last written, which a rollback changes.
 */
export async function exported(url: string): Promise<unknown> {
  const c = (await api(url, '/api/config')).body.config as Record<string, Record<string, string>[] | undefined>;
  const by = (k: string) => (a: Record<string, string>, b: Record<string, string>) => (a[k]! < b[k]! ? -1 : 1);
  return { ...c, dns: c.dns?.sort(by('number')), agents: c.agents?.sort(by('id')) };
}

/** The journal's batch entries. */
export function journalBatches(file: string): BatchEntry[] {
  return readJournal(file).filter((e): e is BatchEntry => e.t === 'batch');
}

/** The number of `batch` lines in a journal file now (0 when it does not exist). */
export function countBatchLines(file: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"t":"batch"')).length;
  } catch {
    return 0;
  }
}
