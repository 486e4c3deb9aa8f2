/**
 * Composition root: builds every layer from the configuration store and starts/stops them in
 * order (architecture: data flows up from `sip`, configuration flows down as change-sets).
 *
 *   config store ──► SIP stack ──► registrar + reachability (+ OOS prober)
 *                               └► agents ──► call control (B2BUA) ◄──► routing
 *   HTTP: admin API, /metrics, /api/status, CTI WebSocket (/cti)
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { ConfigFileError, openConfiguration } from './config/config-bootstrap.js';
import { formatProblem, loadConfigText } from './config/config-file.js';
import { openStore, peekReconciledSource, type ConfigStore } from './config/config-store.js';
import { createCtiPlugin } from './api/cti/cti-plugin.js';
import type { CtiGateway } from './api/cti/cti-gateway.js';
import { registerContactCenterMetrics } from './api/cti/cti-metrics.js';
import { createHttpServer, type HttpServer } from './api/http-server.js';
import { resolveAdminToken } from './api/admin/admin-token.js';
import { createAgentsModule, type AgentsModule } from './contact-center/agents/agents-module.js';
import { ConfigDirectoryAdapter } from './contact-center/agents/config-directory-adapter.js';
import { createCallControl, SqliteCallJournal, type CallControlModule, type LostCall } from './contact-center/calls/index.js';
import { RoutingPointRouter } from './contact-center/routing/routing-point-router.js';
import { wireRegistrarAndReachability, type RegistrarAndReachability } from './reachability/reachability-module.js';
import { SipStack, type SipStackOptions } from './sip/stack/sip-stack.js';
import { optionSpec } from './config/option-table.js';
import { systemClock, type Clock } from './util/clock.js';
import { createLogger, type Logger } from './util/logger.js';

/** Options of {@link App.create}. */
export interface AppOptions {
  /** Configuration file to reconcile the store to (absent: run from the store alone). */
  configFile?: string;
  /** Data directory of the embedded store, bindings and agent sessions. */
  dataDir: string;
  /** Replaces `server.sip.listen` (tests, one-off runs). */
  sipListen?: string[];
  /** Replaces `server.http.listen`. */
  httpListen?: string;
  logger?: Logger;
  clock?: Clock;
  /** Where one-off lines (a generated admin token) are printed; default stdout. */
  print?: (line: string) => void;
}

/** An application option as a number, or its built-in default (option table). */
function appNumber(options: Readonly<Record<string, string>>, name: string): number {
  const raw = options[name] || optionSpec(name)?.default;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`option ${name} has no numeric value`);
  return n;
}

/** SIP timers and transport limits from the application options (docs/options.md). */
function sipStackSettings(options: Readonly<Record<string, string>>): Pick<SipStackOptions, 'timers' | 'limits'> {
  return {
    timers: { t1: appNumber(options, 'sip-t1'), t2: appNumber(options, 'sip-t2'), t4: appNumber(options, 'sip-t4') },
    limits: {
      maxConnections: appNumber(options, 'sip-max-connections'),
      maxConnectionsPerIp: appNumber(options, 'sip-max-connections-per-ip'),
      idleTimeoutMs: appNumber(options, 'sip-connection-idle-timeout') * 1000,
    },
  };
}

/** The server version, part of a configuration file's hash (a new version validates the file again). */
function serverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

let codeFingerprint: string | undefined;

/**
 * A fingerprint of the code that validates and normalises a configuration file (every module
 * of `config/`, sources or build): an upgrade that changes validation, defaults or
 * normalisation re-validates an unchanged file even when the package version stayed the same.
 */
function configCodeFingerprint(): string {
  if (codeFingerprint !== undefined) return codeFingerprint;
  const h = createHash('sha256');
  try {
    const dir = new URL('./config/', import.meta.url);
    for (const f of readdirSync(dir).sort()) {
      if (!/\.(js|ts)$/.test(f)) continue;
      h.update(f).update('\0').update(readFileSync(new URL(f, dir))).update('\0');
    }
  } catch {
    h.update(String(Date.now())); // unknown code: never matches a record, always reconcile
  }
  codeFingerprint = h.digest('hex');
  return codeFingerprint;
}

/**
 * Content hash of a configuration file as the store records it: SHA-256 of the server version,
 * the configuration code's fingerprint and the text.
 */
export function configFileHash(text: string): string {
  return `sha256:${createHash('sha256').update(`sipserver ${serverVersion()} ${configCodeFingerprint()}\n`).update(text).digest('hex')}`;
}

/**
 * Opens the store for `start` (interfaces §1 `start --config FILE`): like `openConfiguration`
 * (validate the file, reconcile the store to it as one change-set, log what changed), but when
 * the file's content hash and the store's version are those recorded at the last successful
 * reconcile, the store already matches the file: it is opened without parsing or diffing the
 * file (the parse of a 20,000-DN file allocates ~200 MB of transient heap). Any change-set
 * committed since (API, CLI) or any byte changed in the file gives a full reconcile, with the
 * same change-set as without the record.
 */
export function openStartConfiguration(dataDir: string, configFile: string | undefined, logger: Logger): ConfigStore {
  if (!configFile) return openConfiguration(dataDir, undefined, logger).store;
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch {
    return openConfiguration(dataDir, configFile, logger).store; // reports the read error as before
  }
  const hash = configFileHash(text);
  const seen = peekReconciledSource(dataDir);
  if (seen?.source && seen.source.hash === hash && seen.source.version === seen.version) {
    const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
    const rec = store.reconciledSource();
    if (rec && rec.hash === hash && rec.version === store.version) {
      for (const w of rec.warnings) logger.warn(w);
      logger.info(
        { file: configFile, dataDir, version: store.version, applied: 0, unchanged: true },
        'configuration store already matches the file (file unchanged since it was reconciled)',
      );
      return store;
    }
    store.close(); // changed meanwhile by another process: reconcile
  }
  // As openConfiguration (config-bootstrap.ts), from the text that was hashed.
  const loaded = loadConfigText(text, configFile);
  const warnings = loaded.warnings.map((w) => formatProblem(w, 'warning'));
  for (const w of warnings) logger.warn(w);
  if (!loaded.model) throw new ConfigFileError(loaded.errors.map((e) => formatProblem(e)));
  const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
  try {
    const r = store.reconcile(loaded.model);
    const counts: Record<string, number> = {};
    for (const c of r.changes) counts[`${c.op} ${c.kind}`] = (counts[`${c.op} ${c.kind}`] ?? 0) + 1;
    logger.info(
      { file: configFile, dataDir, version: r.version, applied: r.changes.length, ...counts },
      r.changes.length ? 'configuration reconciled to the file' : 'configuration store already matches the file',
    );
    store.recordReconciledSource(hash, warnings);
    return store;
  } catch (e) {
    store.close();
    throw e;
  }
}

/** CPU use of this process between two `/api/status` reads. */
class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  percent(): number {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage(this.last);
    const elapsedUs = Number(now - this.lastAt) / 1000;
    this.last = process.cpuUsage();
    this.lastAt = now;
    if (elapsedUs <= 0) return 0;
    return Math.round(((usage.user + usage.system) / elapsedUs) * 1000) / 10;
  }
}

/** The running server: every layer, wired. */
export class App {
  private http: HttpServer | undefined;
  private httpUrl: string | undefined;
  private ctiGateway: CtiGateway | undefined;
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly cpu = new CpuMeter();
  private detachCcMetrics: (() => void) | undefined;

  private constructor(
    readonly options: AppOptions,
    readonly logger: Logger,
    readonly store: ConfigStore,
    readonly sip: SipStack,
    readonly rr: RegistrarAndReachability,
    readonly agents: AgentsModule,
    readonly calls: CallControlModule,
    readonly router: RoutingPointRouter,
    /** The `/metrics` registry every layer registers its metrics in. */
    readonly metrics: Registry,
    /** Active calls recorded for restart reporting (`DATA/calls.sqlite`). */
    readonly journal: SqliteCallJournal,
    /** Calls that were active when the previous process stopped (`/api/status` `lostCalls`). */
    readonly lostCalls: readonly LostCall[],
  ) {}

  /**
   * Opens the store (reconciling it to the configuration file as one change-set, skipped when
   * the file is unchanged since the last reconcile: {@link openStartConfiguration}) and builds
   * every layer; nothing listens until {@link App.start}.
   */
  static create(options: AppOptions): App {
    const logger = options.logger ?? createLogger();
    const clock = options.clock ?? systemClock;
    const store = openStartConfiguration(options.dataDir, options.configFile, logger);
    let journal: SqliteCallJournal | undefined;
    try {
      const metrics = new Registry();
      collectDefaultMetrics({ register: metrics });
      const server = store.server;
      const listen = options.sipListen ?? server.sip.listen;
      if (listen.length === 0) throw new Error('nothing to listen on: give server.sip.listen in the configuration, or --sip-listen');
      const sip = new SipStack({
        listen,
        ...sipStackSettings(server.options),
        tls: server.sip.tls?.cert && server.sip.tls.key ? { ...server.sip.tls, cert: server.sip.tls.cert, key: server.sip.tls.key } : undefined,
        clock,
        logger: logger.child({ layer: 'sip' }),
      });
      const rr = wireRegistrarAndReachability({ stack: sip, store, clock, logger, dataDir: options.dataDir, registry: metrics });
      // Calls active when the previous process stopped: reported once, then forgotten (issue
      // "a server restart says which calls were lost"; SIP dialogs cannot be resumed).
      journal = SqliteCallJournal.open(options.dataDir, clock);
      const lostCalls = journal.takeLost();
      const lostCounter = new Counter({
        name: 'sipserver_calls_lost_in_restart_total',
        help: 'Calls that were active when the previous server process stopped (counted at start)',
        labelNames: ['cause'],
        registers: [metrics],
      });
      for (const c of lostCalls) {
        logger.warn({ layer: 'calls', connId: c.connId, parties: c.parties, ani: c.ani, dnis: c.dnis, startedAt: c.startedAt, cause: c.cause }, 'call lost in restart');
        lostCounter.inc({ cause: c.cause });
      }
      const agents = createAgentsModule({ store, reachability: rr.reachability, dataDir: options.dataDir, clock, logger });
      const calls = createCallControl({
        stack: sip,
        reachability: rr.reachability.resolver,
        directory: new ConfigDirectoryAdapter(store),
        bus: agents.bus,
        clock,
        logger: logger.child({ layer: 'calls' }),
        agents: agents.agents,
        journal,
      });
      const router = new RoutingPointRouter({
        agents: agents.agents,
        reachability: agents.reachability,
        delivery: calls.delivery,
        clock,
        logger: logger.child({ layer: 'routing' }),
      });
      calls.b2bua.router = router;
      return new App(options, logger, store, sip, rr, agents, calls, router, metrics, journal, lostCalls);
    } catch (e) {
      journal?.close();
      store.close();
      throw e;
    }
  }

  /** Listens for SIP, then HTTP (admin API, `/metrics`, CTI). */
  async start(): Promise<void> {
    this.lag.enable();
    await this.sip.start();
    const { token } = resolveAdminToken({
      configured: this.store.server.http.adminToken,
      dataDir: this.options.dataDir,
      ...(this.options.print ? { print: this.options.print } : {}),
    });
    this.adminToken = token;
    const server = await createHttpServer({
      store: this.store,
      token,
      logger: this.logger,
      metrics: this.metrics,
      plugins: [
        createCtiPlugin({
          agents: this.agents.agents,
          bus: this.agents.bus,
          callControl: this.calls.control,
          adminToken: () => this.adminToken,
          serverName: this.store.server.name,
          applicationOptions: this.store.server.options,
          logger: this.logger.child({ layer: 'cti' }),
          onGateway: (g) => {
            this.ctiGateway = g;
          },
        }),
      ],
      statusProviders: {
        dnStatus: (dn) => this.rr.dnStatus(dn),
        status: () => this.status(),
      },
    });
    let url: string;
    try {
      ({ url } = await server.listen(this.options.httpListen ?? this.store.server.http.listen ?? '127.0.0.1:8080'));
    } catch (e) {
      await server.close();
      throw e;
    }
    this.http = server;
    this.httpUrl = url;
    this.detachCcMetrics = registerContactCenterMetrics(server.metrics, this.agents.agents, () => this.ctiGateway);
  }

  /** The admin token the HTTP server resolved (for RequestOpen with `token`). */
  private adminToken: string | undefined;

  /** `GET /api/status` (interfaces §5). */
  status(): Record<string, unknown> {
    // The histogram's samples include its own 10 ms sampling interval: report the excess only.
    const lagMs = Math.max(0, this.lag.mean / 1e6 - 10);
    this.lag.reset();
    return {
      ...this.rr.statusSection(),
      agents: this.agents.statusProvider(),
      calls: { active: this.calls.b2bua.activeCalls, waiting: this.router.waitingCalls().length },
      lostCalls: this.lostCalls,
      load: {
        cpuPercent: this.cpu.percent(),
        cpuCount: cpus().length,
        eventLoopLagMs: Number.isFinite(lagMs) ? Math.round(lagMs * 100) / 100 : 0,
      },
    };
  }

  /** Bound SIP addresses (`udp:127.0.0.1:5060`). */
  sipAddresses(): string[] {
    return this.sip.addressStrings();
  }

  /** Base URL of the HTTP server, once started. */
  get url(): string | undefined {
    return this.httpUrl;
  }

  /** Stops taking new calls, releases calls, closes listeners and the store. */
  async stop(): Promise<void> {
    this.lag.disable();
    // The calls this stop releases are reported as lost at the next start (cause `shutdown`).
    this.journal.freeze(this.calls.b2bua.allCalls());
    this.calls.close();
    this.router.close();
    this.detachCcMetrics?.();
    // Desktops get close code 1001 (going away, docs/cti-protocol.md) before @fastify/websocket's
    // preClose hook would close them without a code (1005).
    this.ctiGateway?.close();
    if (this.http) await this.http.close();
    this.agents.close();
    this.rr.close();
    this.journal.close();
    await this.sip.stop();
    this.store.close();
  }
}
