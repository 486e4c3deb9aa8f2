import { hostname } from 'node:os';
/**
 * Composition root: builds every layer from the configuration store and starts/stops them in
 * order (architecture: data flows up from `sip`, configuration flows down as change-sets).
 *
 *   config store ──► SIP stack ──► registrar + reachability (+ OOS prober)
 *                               └► agents ──► call control (B2BUA) ◄──► routing
 *   built-in media server (RTP in a worker thread) ──► call control
 *   HTTP: admin API, /metrics, /api/status, CTI WebSocket (/cti)
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { openStartConfiguration } from './config/config-bootstrap.js';
import type { ConfigStore } from './config/config-store.js';
import { TrustedProxies } from './trust/trusted-proxies.js';
import { registerStoreMetrics } from './api/admin/config-metrics.js';
import { sqliteBackend, type ConfigBackend } from './config/config-writer.js';
import { optionNumber } from './config/option-table.js';
import { createCtiPlugin } from './api/cti/cti-plugin.js';
import type { CtiGateway } from './api/cti/cti-gateway.js';
import { registerContactCenterMetrics } from './api/cti/cti-metrics.js';
import { createHttpServer, type HttpServer } from './api/http-server.js';
import { resolveAdminToken } from './api/admin/admin-token.js';
import { StatusReporter, type ServerStatus } from './api/status.js';
import { LiveHub, type LiveSources } from './api/admin/live-hub.js';
import { agentStatusEntry } from './contact-center/agents/agent-status-provider.js';
import { LoadMeter } from './api/load-meter.js';
import { createAgentsModule, type AgentsModule } from './contact-center/agents/agents-module.js';
import { ConfigDirectoryAdapter } from './contact-center/agents/config-directory-adapter.js';
import {
  CallRouterRef,
  createCallControl,
  reportLostCalls,
  SqliteCallJournal,
  testFaultsFromEnv,
  type CallControlModule,
} from './contact-center/calls/index.js';
import { openMediaServer, type StartableMediaServer } from './media/open-media-server.js';
import { RoutingPointRouter } from './contact-center/routing/routing-point-router.js';
import { isRegistering } from './registrar/registrar-module.js';
import { type ClusterNode, joinCluster, singleNodeView } from './cluster/redis-cluster.js';
import type { ClusterView } from './cluster/cluster-types.js';
import { wireRegistrarAndReachability, type RegistrarAndReachability } from './reachability/reachability-module.js';
import { SipStack, type SipStackOptions } from './sip/stack/sip-stack.js';
import { FloodGuard } from './trust/flood-guard.js';
import { RegisteredSources } from './trust/registered-sources.js';
import { RequestTrust } from './trust/request-trust.js';
import { systemClock, type Clock } from './util/clock.js';
import { runDetached } from './util/detached.js';
import { createLogger, type Logger } from './util/logger.js';

/** Options of {@link App.create}. */
export interface AppOptions {
  /** Configuration file to reconcile the store to (absent: run from the store alone). */
  configFile?: string;
  /** Data directory of the embedded store, bindings and agent sessions. */
  dataDir: string;
  /**
   * The configuration already opened (the PostgreSQL store of record, docs/cluster.md); absent:
   * the embedded store in `dataDir`, reconciled to `configFile`. The app closes it at stop.
   */
  backend?: ConfigBackend;
  /** Replaces `server.sip.listen` (tests, one-off runs). */
  sipListen?: string[];
  /** Replaces `server.http.listen`. */
  httpListen?: string;
  logger?: Logger;
  clock?: Clock;
  /** Where one-off lines (a generated admin token) are printed; default stdout. */
  print?: (line: string) => void;
  /** Redis of a cluster (docs/cluster.md): registrations shared with the other nodes. */
  redisUrl?: string;
  /** This node's name in a cluster (default `HOST-PID`). */
  nodeName?: string;
}

/** SIP timers and transport limits from the application options (docs/options.md). */
function sipStackSettings(options: Readonly<Record<string, string>>): Pick<SipStackOptions, 'timers' | 'limits'> {
  const n = (name: string): number => optionNumber(name, options[name]);
  return {
    timers: { t1: n('sip-t1'), t2: n('sip-t2'), t4: n('sip-t4') },
    limits: {
      maxConnections: n('sip-max-connections'),
      maxConnectionsPerIp: n('sip-max-connections-per-ip'),
      idleTimeoutMs: n('sip-connection-idle-timeout') * 1000,
    },
  };
}

/** The running server: every layer, wired. */
export class App {
  private http: HttpServer | undefined;
  private httpUrl: string | undefined;
  private ctiGateway: CtiGateway | undefined;
  private detachCcMetrics: (() => void) | undefined;
  /** The admin token the HTTP server resolved (for RequestOpen with `token`). */
  private adminToken: string | undefined;
  private processErrorCounter: Counter<'kind'> | undefined;

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
    /** `GET /api/status`. */
    private readonly statusReporter: StatusReporter,
    /** The media server of `media-server` (docs/media.md): park, ringback, music on hold, conferences. */
    readonly media: StartableMediaServer,
    /** CPU and event-loop lag: `/api/status` and the change-set queue's lag gate. */
    private readonly load: LoadMeter,
    /** The store, its writer and its status (the embedded SQLite store or PostgreSQL's cache). */
    private readonly backend: ConfigBackend,
  ) {
    // Built with the layers, before the first probe or login: the console's history is complete.
    this.live = new LiveHub({ sources: this.liveSources() });
  }

  /** The admin console's live feed (`GET /api/events`). */
  private readonly live: LiveHub;
  /** This node's shared registrations, lease and agent logins in a cluster (with `redisUrl`). */
  private clusterNode: ClusterNode | undefined;

  /**
   * Opens the store (reconciling it to the configuration file as one change-set, skipped when
   * the file is unchanged since the last reconcile: `openStartConfiguration`) and builds every
   * layer; nothing listens until {@link App.start}.
   */
  static create(options: AppOptions): App {
    const logger = options.logger ?? createLogger();
    const clock = options.clock ?? systemClock;
    const backend =
      options.backend ?? sqliteBackend(openStartConfiguration(options.dataDir, options.configFile, logger));
    const store = backend.store;
    // After the start-up reconcile: from now on change-sets arrive while calls are handled.
    store.checkpointInWorker();
    let journal: SqliteCallJournal | undefined;
    let media: StartableMediaServer | undefined;
    try {
      const metrics = new Registry();
      collectDefaultMetrics({ register: metrics });
      registerStoreMetrics(metrics, backend);
      const server = store.server;
      const listen = options.sipListen ?? server.sip.listen;
      if (listen.length === 0)
        throw new Error('nothing to listen on: give server.sip.listen in the configuration, or --sip-listen');
      // Flood limits (docs/security.md): the guard needs the trust policy and the registrar,
      // which need the stack; the stack's datagram gate is bound to it below.
      const flood: { guard?: FloodGuard } = {};
      const proxies = new TrustedProxies(store);
      const sip = new SipStack({
        listen,
        ...sipStackSettings(server.options),
        tls:
          server.sip.tls?.cert && server.sip.tls.key
            ? { ...server.sip.tls, cert: server.sip.tls.cert, key: server.sip.tls.key }
            : undefined,
        clock,
        logger: logger.child({ layer: 'sip' }),
        admitDatagram: (source, datagram) => flood.guard?.admitDatagram(source, datagram) ?? true,
        trustedProxy: (host) => proxies.has(host),
      });
      const rr = wireRegistrarAndReachability({
        stack: sip,
        store,
        clock,
        logger,
        dataDir: options.dataDir,
        registry: metrics,
      });
      // A node of a cluster probes no device before it joined: the cluster decides which node
      // probes which device (docs/cluster.md, "Device health").
      if (options.redisUrl) rr.reachability.prober.useGate({ probes: () => false });
      // Calls active when the previous process stopped: reported once, then forgotten (issue
      // "a server restart says which calls were lost"; SIP dialogs cannot be resumed).
      journal = SqliteCallJournal.open(options.dataDir, clock);
      const lostCalls = journal.takeLost();
      reportLostCalls(lostCalls, logger, metrics);
      const agents = createAgentsModule({
        store,
        reachability: rr.reachability,
        dataDir: options.dataDir,
        clock,
        logger,
      });
      // The router needs the delivery port of calls, calls route through the router: calls get a
      // reference that is bound once the router exists.
      const routerRef = new CallRouterRef();
      // Who may start calls (docs/security.md): trusted peers by address, phones by digest or location.
      const trust = new RequestTrust({
        config: store,
        registrar: rr.registrar,
        logger: logger.child({ layer: 'trust' }),
        registry: metrics,
      });
      const registeredSources = new RegisteredSources(rr.registrar);
      flood.guard = new FloodGuard({
        clock,
        logger: logger.child({ layer: 'trust' }),
        registry: metrics,
        limits: () => ({
          requestsPerSecond: optionNumber('pike-requests-per-second', store.server.options['pike-requests-per-second']),
          banMs: optionNumber('pike-ban-seconds', store.server.options['pike-ban-seconds']) * 1000,
        }),
        exempt: (ip) => registeredSources.has(ip) || trust.peersOf(ip).length > 0 || proxies.has(ip),
      });
      // The media server of `media-server` opens now; App.start waits until it answers. A
      // music-on-hold file in a wrong format throws here (WavFormatError names the file and the problem).
      media = openMediaServer(server.options, listen, logger.child({ layer: 'media' }));
      const mediaServer = media;
      new Gauge({
        name: 'sipserver_media_endpoints',
        help: 'RTP endpoints open on the media server (park, ringback, music on hold, conference)',
        registers: [metrics],
        collect() {
          this.set(mediaServer.openEndpoints);
        },
      });
      const calls = createCallControl({
        stack: sip,
        reachability: rr.reachability.resolver,
        directory: new ConfigDirectoryAdapter(store),
        bus: agents.bus,
        clock,
        logger: logger.child({ layer: 'calls' }),
        agents: agents.agents,
        router: routerRef,
        journal,
        trust,
        testFaults: testFaultsFromEnv(process.env),
        media,
      });
      agents.useCallProbe((dn) => calls.control.hasCalls(dn));
      new Counter({
        name: 'sipserver_call_faults_total',
        help: 'Calls released because their flow failed (a throw or an unhandled rejection; docs/calls.md)',
        registers: [metrics],
        collect() {
          this.reset();
          this.inc(calls.b2bua.faulted);
        },
      });
      const router = new RoutingPointRouter({
        agents: agents.agents,
        reachability: agents.reachability,
        delivery: calls.delivery,
        clock,
        logger: logger.child({ layer: 'routing' }),
      });
      routerRef.bind(router);
      const load = new LoadMeter();
      const statusReporter = new StatusReporter(
        {
          registrations: () => rr.registrar.status(),
          devices: () => rr.reachability.devices(),
          agents: agents.statusProvider,
          activeCalls: () => calls.b2bua.activeCalls,
          waitingCalls: () => router.waitingCalls().length,
          lostCalls,
        },
        load,
      );
      return new App(
        options,
        logger,
        store,
        sip,
        rr,
        agents,
        calls,
        router,
        metrics,
        journal,
        statusReporter,
        media,
        load,
        backend,
      );
    } catch (e) {
      if (media) runDetached(logger, 'close the media server', media.close());
      journal?.close();
      runDetached(logger, 'close the configuration store', backend.close());
      throw e;
    }
  }

  /** Listens for SIP, then HTTP (admin API, `/metrics`, CTI). */
  async start(): Promise<void> {
    // Before SIP listens, so the first lookups already see the other nodes' registrations.
    if (this.options.redisUrl) await this.joinCluster(this.options.redisUrl);
    this.load.start();
    // SIP listens at once (the OOS prober's first probes leave 0–1 s after create); the media
    // worker may take longer to start on a busy machine: HTTP comes up once both are ready.
    await Promise.all([this.sip.start(), this.media.ready()]);
    // Restored logins (and later ones taken over from a dead node) get their nailed-up connection.
    this.calls.nailedUp.followLogins(this.agents.agents);
    const { token } = resolveAdminToken({
      configured: this.store.server.http.adminToken,
      dataDir: this.options.dataDir,
      ...(this.options.print ? { print: this.options.print } : {}),
    });
    this.adminToken = token;
    const server = await createHttpServer({
      store: this.store,
      writer: this.backend.writer,
      storeStatus: () => this.backend.status(),
      token,
      logger: this.logger,
      metrics: this.metrics,
      load: this.load,
      plugins: [
        createCtiPlugin({
          agents: this.agents.agents,
          bus: this.agents.bus,
          callControl: this.calls.control,
          adminToken: () => this.adminToken,
          serverName: this.store.server.name,
          applicationOptions: this.store.server.options,
          pingIntervalMs: optionNumber('cti-ping-interval', this.store.server.options['cti-ping-interval']) * 1000,
          logger: this.logger.child({ layer: 'cti' }),
          onGateway: (g) => {
            this.ctiGateway = g;
          },
        }),
      ],
      statusProviders: {
        dnStatus: (dn) => {
          // A nailed-up DN adds the state of its connection (behaviour §10.3).
          const nailedUp = this.calls.nailedUp.stateOf(dn.number);
          const s = this.rr.dnStatus(dn);
          return nailedUp === undefined ? s : { ...s, nailedUp };
        },
        status: (q) => this.statusReporter.status(q),
        cluster: () => this.clusterView(),
      },
      live: this.live,
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
    await this.clusterNode?.cluster.describe({ sip: this.sipAddresses(), http: url });
    this.detachCcMetrics = registerContactCenterMetrics(server.metrics, this.agents.agents, () => this.ctiGateway);
  }

  /** This node's name in a cluster. */
  get nodeName(): string {
    return this.options.nodeName ?? `${hostname()}-${process.pid}`;
  }

  /**
   * Joins the cluster in Redis (docs/cluster.md). Before SIP listens, so the first lookups
   * already see the other nodes' registrations.
   */
  private async joinCluster(url: string): Promise<void> {
    this.clusterNode = await joinCluster({
      url,
      node: this.nodeName,
      clock: this.options.clock ?? systemClock,
      logger: this.logger,
      bindings: this.rr.registrar.table,
      admitDn: (dn) => isRegistering(this.store.getDn(dn)),
      agents: this.agents.agents,
      options: this.store.server.options,
      onAdopted: (sessions) => this.ctiGateway?.awaitDesktops(sessions),
      devices: this.rr.reachability.prober,
      calls: this.calls.shared,
      orphanCheckS: () => optionNumber('cluster-orphan-check', this.store.server.options['cluster-orphan-check']),
    });
    // Routing points pick among the Ready agents of every node (docs/cluster.md).
    this.router.useCluster(this.clusterNode.cluster.routing);
  }

  /** `GET /api/cluster`: this node alone when not in a cluster. */
  private async clusterView(): Promise<ClusterView> {
    if (this.clusterNode) return this.clusterNode.cluster.view();
    const self = { name: this.nodeName, sip: this.sipAddresses(), pid: process.pid };
    const agentIds = this.agents.agents.sessions().map((s) => s.agentId);
    const probed = [...this.rr.reachability.prober.dns()];
    return singleNodeView(this.httpUrl ? { ...self, http: this.httpUrl } : self, agentIds, probed);
  }

  /** What the admin console's live stream follows (`/api/events`). */
  private liveSources(): LiveSources {
    const { agents, bus } = this.agents;
    return {
      status: () => this.statusReporter.status() as Omit<ServerStatus, 'config'>,
      agent: (id) => agentStatusEntry(agents, id),
      registrations: () => this.rr.registrar.status(),
      devices: () => this.rr.reachability.devices(),
      callCounts: () => ({ active: this.calls.b2bua.activeCalls, waiting: this.router.waitingCalls().length }),
      load: () => this.statusReporter.status({ sections: new Set(['load']) }).load!,
      onContactCenterEvent: (l) => bus.subscribe(l),
      onAgentChange: (l) => agents.onSessionChange((id) => l(id)),
      onChangeSet: (l) => this.store.subscribe(l),
      onBindingsChange: (l) => this.rr.registrar.addListener({ bindingsChanged: l }),
      cluster: () => this.clusterView(),
      onDevice: (l) =>
        this.rr.reachability.prober.addListener({
          probed: l.probed,
          stateChanged: (dn, _from, to) => l.stateChanged(dn, to),
        }),
    };
  }

  /**
   * Count an error that reached the process (`unhandledRejection`, `uncaughtException`) in
   * `sipserver_process_errors_total{kind}` (docs/calls.md, "Resilience").
   */
  countProcessError(kind: 'unhandledRejection' | 'uncaughtException'): void {
    this.processErrorCounter ??= new Counter({
      name: 'sipserver_process_errors_total',
      help: 'Errors that reached the process: unhandled rejections (the server keeps running), uncaught exceptions (it exits)',
      labelNames: ['kind'],
      registers: [this.metrics],
    });
    this.processErrorCounter.inc({ kind });
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
    this.load.stop();
    // The calls this stop releases are reported as lost at the next start (cause `shutdown`).
    this.journal.freeze(this.calls.b2bua.allCalls());
    this.calls.close();
    this.router.close();
    this.detachCcMetrics?.();
    // Desktops get close code 1001 (going away, docs/cti-protocol.md) before @fastify/websocket's
    // preClose hook would close them without a code (1005).
    this.ctiGateway?.close();
    if (this.http) await this.http.close();
    this.live.close();
    await this.clusterNode?.leave();
    this.agents.close();
    this.rr.close();
    this.journal.close();
    await this.sip.stop();
    await this.media.close();
    await this.backend.close();
  }
}
