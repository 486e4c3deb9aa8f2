/**
 * A running generated office ({@link generateOffice}) for the migration test and benchmark: the
 * office PBX and the home SBC as SIPp UASes on loopback (answering OPTIONS probes and INVITEs,
 * `test/integration/sipp/e2e-uas-sbc-answer.xml`), the server process on the generated
 * configuration, the registered phones (one SIPp REGISTER run with an injection CSV,
 * `bench/helpers/register-inf.xml`, digest authentication), agents logged in Ready, and a call
 * load on the routing point ({@link startCallLoad}). Also the admin API reads the migration
 * checks need, and the `sipserver` command line ({@link runCli}).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CallLoad, startCallLoad } from './call-load.js';
import { type Desk, loginReady, logoutAll } from './cti-desks.js';
import { generateOffice, HOME_SBC, OFFICE_PBX, ROUTING_POINT, type OfficeWorld } from './office-gen.js';
import { repoRoot } from './paths.js';
import { cliEntry, startServerProcess, type ServerProcess } from './server-process.js';
import { runSipp, startSipp, type SippPeer } from './sipp.js';
import { pinProcess } from './taskset.js';
import { waitFor } from './wait.js';

/** Options of {@link startOffice}. */
export interface OfficeRunOptions {
  agents: number;
  /** Put `HomeSBC` in the configuration (default true). */
  withSbc?: boolean;
  /** Run the build (`dist/`) instead of the source under tsx. */
  dist?: boolean;
  /** Admin token (default `office-migration-token`). */
  token?: string;
  /** Pin the server (every thread) to this CPU once it runs (benches: bench/helpers/placement.ts). */
  serverCpu?: number;
  /** More Node.js arguments for the server (after SERVER_NODE_FLAGS), e.g. `--trace-gc`. */
  nodeArgs?: readonly string[];
}

/** One `/api/status` reading of {@link OfficeRun.watchLoad}. */
export interface LoadSample {
  /** When it was asked for (ms since the epoch). */
  at: number;
  cpuPercent: number;
  /** Mean event-loop delay over the server's ~1 s window. */
  eventLoopLagMs: number;
  /** Largest single event-loop delay in that window (0 when the server does not report it). */
  eventLoopLagMaxMs: number;
  /** `config.queueDepth` (0 when the server does not report it). */
  queueDepth: number;
}

/** One line of a migration journal (docs/migration.md): `t` and the fields of its kind. */
export interface JournalLine {
  t: 'start' | 'batch' | 'rolled-back' | 'deferred' | 'office-dn-removed' | 'office-dn-kept' | 'done';
  n?: number;
  agents?: string[];
  size?: number;
  version?: number;
  number?: string;
  agentId?: string;
  [field: string]: unknown;
}

/** The lines of a migration journal so far ([] before it exists); a torn last line is left out. */
export function readJournal(file: string): JournalLine[] {
  if (!existsSync(file)) return [];
  const out: JournalLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalLine);
    } catch {
      // a line being written when the journal was read (or torn by a SIGKILL)
    }
  }
  return out;
}

/** The agents in the batch lines of a migration journal so far: the agents moved. */
export function journalMoved(file: string): Set<string> {
  return new Set(
    readJournal(file)
      .filter((l) => l.t === 'batch')
      .flatMap((l) => l.agents ?? []),
  );
}

/** Outcome of one `sipserver` command. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const sippScenario = (name: string): string => resolve(repoRoot, 'test/integration/sipp', name);

/** A running office; {@link stop} ends everything it started. */
export class OfficeRun {
  readonly desks: Desk[] = [];
  readonly loads: CallLoad[] = [];
  /** `sipserver` commands still running. */
  private readonly commands = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly world: OfficeWorld,
    readonly token: string,
    readonly pbx: SippPeer,
    readonly sbc: SippPeer,
    readonly server: ServerProcess,
    readonly dist: boolean,
  ) {}

  /** Start the PBX and SBC SIPps, write the configuration and start the server on it. */
  static async start(o: OfficeRunOptions): Promise<OfficeRun> {
    const dir = mkdtempSync(join(tmpdir(), 'office-migration-'));
    const token = o.token ?? 'office-migration-token';
    const peers: SippPeer[] = [];
    try {
      const uas = sippScenario('e2e-uas-sbc-answer.xml');
      const pbx = await startSipp({ scenario: uas, traceMessages: false });
      peers.push(pbx);
      const sbc = await startSipp({ scenario: uas, traceMessages: false });
      peers.push(sbc);
      const world = generateOffice({
        agents: o.agents,
        pbx: `127.0.0.1:${pbx.port}`,
        ...(o.withSbc === false ? {} : { sbc: `127.0.0.1:${sbc.port}` }),
        token,
      });
      const config = join(dir, 'office.yaml');
      writeFileSync(config, world.yaml);
      writeFileSync(join(dir, 'migration.csv'), world.csv);
      const server = await startServerProcess({
        config,
        dataDir: join(dir, 'data'),
        keepData: true,
        sipListen: ['udp:127.0.0.1:0'],
        dist: o.dist ?? false,
        startTimeoutMs: 120_000,
        ...(o.nodeArgs ? { nodeArgs: [...o.nodeArgs] } : {}),
      });
      if (o.serverCpu !== undefined) pinProcess(server.child.pid!, o.serverCpu);
      return new OfficeRun(dir, world, token, pbx, sbc, server, o.dist ?? false);
    } catch (err) {
      await Promise.all(peers.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `http://host:port` of the admin API. */
  get url(): string {
    return this.server.httpUrl!;
  }

  /** `host:port` of the server's UDP SIP listener. */
  get sipTarget(): string {
    return this.server.addresses.find((a) => a.startsWith('udp:'))!.slice('udp:'.length);
  }

  /** The migration CSV written beside the configuration. */
  get csvPath(): string {
    return join(this.dir, 'migration.csv');
  }

  /** Register every registered phone (one SIPp run, `rate` per second); throws unless all succeeded. */
  async registerPhones(rate = 1000): Promise<number> {
    const inf = join(this.dir, 'phones.csv');
    writeFileSync(inf, this.world.phonesInf);
    const phones = this.world.agents.filter((a) => a.registered).length;
    const r = await runSipp({
      scenario: resolve(repoRoot, 'bench/helpers/register-inf.xml'),
      target: this.sipTarget,
      calls: phones,
      rate,
      limit: Math.max(100, rate),
      args: ['-inf', inf],
      timeoutMs: Math.max(60_000, (phones / rate) * 5000),
    });
    if (r.code !== 0) throw new Error(`phones' REGISTER run: SIPp exit ${r.code}: ${r.errors.slice(0, 1000)}`);
    return phones;
  }

  /** Wait until `OfficePBX` (and `HomeSBC` if configured) are in service (OPTIONS probes answered). */
  async waitSoftswitches(timeoutMs = 30_000): Promise<void> {
    const wanted = this.world.yaml.includes(`number: ${HOME_SBC},`) ? [OFFICE_PBX, HOME_SBC] : [OFFICE_PBX];
    await waitFor(
      async () => {
        const devices = (
          await this.get<{ devices: Array<{ dn: string; state: string }> }>('/api/status?sections=devices')
        ).devices;
        return wanted.every((n) => devices.some((d) => d.dn === n && d.state === 'in-service'));
      },
      { what: `${wanted.join(' and ')} in service`, timeoutMs, intervalMs: 200 },
    );
  }

  /** Log the first `n` agents behind the PBX in, Ready (their calls reach the PBX SIPp). */
  async loginAgents(n: number): Promise<void> {
    const logins = this.world.pbxAgents.slice(0, n).map((a) => ({ agentId: a.id, dn: a.officeDn }));
    this.desks.push(...(await loginReady(this.url.replace(/^http/, 'ws') + '/cti', this.token, logins)));
  }

  /** Log every desk of {@link loginAgents} out. */
  async logoutAgents(): Promise<void> {
    await logoutAll(this.desks.splice(0));
  }

  /** Start customers calling the routing point at `rate` per second (calls of `pauseMs`). */
  async startCalls(rate: number, pauseMs = 200): Promise<CallLoad> {
    const load = await startCallLoad({
      scenario: sippScenario('e2e-uac-customer-call.xml'),
      target: this.sipTarget,
      service: ROUTING_POINT,
      rate,
      pauseMs,
    });
    this.loads.push(load);
    return load;
  }

  /** GET an admin API path (JSON); throws on a status other than 200. */
  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** The configuration as exported (`GET /api/config`, without secrets) and its version. */
  async exportConfig(): Promise<{ version: number; config: unknown }> {
    return this.get('/api/config');
  }

  /**
   * Run `sipserver ARGS` (the source under tsx, or the build) with `SIPSERVER_TOKEN` set; with
   * `killWhen`, SIGKILL it once that predicate holds (checked on each output chunk and every 20 ms:
   * it may read a journal file).
   */
  runCli(args: string[], opts: { killWhen?: (stdout: string, stderr: string) => boolean; timeoutMs?: number } = {}) {
    return runCli(args, { ...opts, env: { SIPSERVER_TOKEN: this.token }, dist: this.dist, track: this.commands });
  }

  /**
   * Which generated agents are at home in the exported configuration: `extension` and `nailed-up`
   * agents on their home DN (an extension, `line-type = 1` for nailed-up), `agent-phone` agents
   * with the `agent-phone` option. Returns the ids of those who are not.
   */
  async notAtHome(): Promise<string[]> {
    const { config } = (await this.exportConfig()) as {
      config: {
        dns: Array<{ number: string; type: string; options?: Record<string, string> }>;
        agents: Array<{ id: string; dn?: string; options?: Record<string, string> }>;
      };
    };
    const dns = new Map(config.dns.map((d) => [d.number, d]));
    const agents = new Map(config.agents.map((a) => [a.id, a]));
    return this.world.agents
      .filter((g) => {
        const a = agents.get(g.id);
        if (g.mode === 'agent-phone') return a?.options?.['agent-phone'] !== g.homeNumber;
        const d = dns.get(g.homeNumber);
        const lineType = d?.options?.['line-type'] ?? '0';
        return a?.dn !== g.homeNumber || d?.type !== 'extension' || (lineType === '1') !== (g.mode === 'nailed-up');
      })
      .map((g) => g.id);
  }

  /** `sipserver migrate plan` of the generated CSV against the running server, to `out`. */
  plan(out: string, softswitch = HOME_SBC, extra: string[] = []): Promise<CliResult> {
    return this.runCli([
      'migrate',
      'plan',
      ...['--server', this.url, '--token', this.token, '--csv', this.csvPath, '--softswitch', softswitch],
      ...extra,
      ...['--out', out],
    ]);
  }

  /** `sipserver migrate apply PLAN` against the running server (journal `journal`). */
  apply(
    plan: string,
    journal: string,
    extra: string[] = [],
    opts: { killWhen?: (stdout: string, stderr: string) => boolean; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    return this.runCli(
      ['migrate', 'apply', plan, '--server', this.url, '--token', this.token, '--journal', journal, ...extra],
      opts,
    );
  }

  /**
   * Poll `GET /api/status?sections=load,config` every `intervalMs` (`load` covers the last ~1 s,
   * with the largest single delay in it) until the returned `stop` is called; `stop` resolves with
   * every sample taken. Only the two small sections are asked for: the whole status is 1.5 MB of
   * JSON at 10,000 agents with 5,000 registered phones, about 40 ms of the server's event loop.
   */
  watchLoad(intervalMs = 500): { stop: () => Promise<LoadSample[]> } {
    const samples: LoadSample[] = [];
    let running = true;
    const loop = (async (): Promise<void> => {
      while (running) {
        const t = Date.now();
        try {
          const s = await this.get<{
            load: { cpuPercent: number; eventLoopLagMs: number; eventLoopLagMaxMs?: number };
            config?: { queueDepth?: number };
          }>('/api/status?sections=load,config');
          const { cpuPercent, eventLoopLagMs, eventLoopLagMaxMs = 0 } = s.load;
          samples.push({ at: t, cpuPercent, eventLoopLagMs, eventLoopLagMaxMs, queueDepth: s.config?.queueDepth ?? 0 });
        } catch {
          // a status read that fails (server busy or gone) is simply not sampled
        }
        await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - t))));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return samples;
      },
    };
  }

  /** SIGKILL the `sipserver` commands still running (a test that failed half-way) and wait for them. */
  async stopCli(): Promise<void> {
    await Promise.all(
      [...this.commands].map(
        (c) =>
          new Promise<void>((res) => {
            c.once('close', () => res());
            c.kill('SIGKILL');
          }),
      ),
    );
  }

  /** Stop the commands, loads, desks, server and SIPps; remove the scratch directory. */
  async stop(): Promise<void> {
    await this.stopCli();
    await Promise.all(this.loads.splice(0).map((l) => l.stop().catch(() => undefined)));
    for (const d of this.desks.splice(0)) d.client.close();
    await this.server.stop(10_000);
    await Promise.all([this.pbx.stop(), this.sbc.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Run the `sipserver` command line to its end (or SIGKILL it when `killWhen` holds, checked on each
 * output chunk and every 20 ms, or after `timeoutMs`).
 */
export function runCli(
  args: string[],
  opts: {
    killWhen?: (stdout: string, stderr: string) => boolean;
    timeoutMs?: number;
    env?: Record<string, string>;
    dist?: boolean;
    /** The child is in this set while it runs. */
    track?: Set<ChildProcess>;
  } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [...cliEntry(opts.dist), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  opts.track?.add(child);
  let stdout = '';
  let stderr = '';
  const check = (): void => {
    if (opts.killWhen?.(stdout, stderr) && child.exitCode === null) child.kill('SIGKILL');
  };
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    check();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    check();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const poll = opts.killWhen ? setInterval(check, 20) : undefined;
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('close', (code, signal) => {
      opts.track?.delete(child);
      clearTimeout(timer);
      clearInterval(poll);
      res({ code, signal, stdout, stderr });
    });
  });
}
