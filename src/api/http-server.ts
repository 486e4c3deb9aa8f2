/**
 * The HTTP server (interfaces §3): `/api` (admin REST API, OpenAPI at `/api/openapi.json`),
 * `/metrics` (Prometheus), and whatever other layers register before `listen` (the CTI
 * WebSocket at `/cti` uses the `@fastify/websocket` registered here; the web UI at `/`).
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyError,
} from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { ConfigStore } from '../config/config-store.js';
import type { ConfigStoreStatus, ConfigWriter } from '../config/config-writer.js';
import { adminRoutes } from './admin/admin-routes.js';
import type { StatusProviders } from './admin/status-routes.js';
import { registerConfigMetrics } from './admin/config-metrics.js';
import { resolveAdminToken, type AdminTokenSource } from './admin/admin-token.js';
import { ChangeSetQueue } from './admin/change-set-queue.js';
import { optionNumber } from '../config/option-table.js';
import { LoadMeter } from './load-meter.js';
import { webUiRoutes } from './web-ui.js';
import type { LiveHub } from './admin/live-hub.js';

/** Status provider types, for the layers that serve `/api/status` and `/api/dns/{number}/status`. */
export type { StatusProviders, DnStatus } from './admin/status-routes.js';

/** JSON.parse reviver that drops `__proto__` keys. */
const dropProto = (k: string, v: unknown): unknown => (k === '__proto__' ? undefined : v);

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  store: ConfigStore;
  /** Where admin-API writes go (default `store`; docs/cluster.md). */
  writer?: ConfigWriter;
  /** The store's state for `/api/status`'s `config.store` (docs/cluster.md). */
  storeStatus?: () => ConfigStoreStatus;
  /** The admin bearer token (see `resolveAdminToken`). */
  token: string;
  logger?: Logger;
  /** Live-state providers for `/api/status` and `/api/dns/{n}/status`; can also be set later. */
  statusProviders?: StatusProviders;
  /** Plugins registered after the built-in routes, before listen (e.g. the CTI gateway). */
  plugins?: FastifyPluginAsync[];
  /** Registry for `/metrics` (default: a new one with the default Node metrics). */
  metrics?: Registry;
  /** Largest accepted request body (default 64 MiB: a 100,000-change change-set fits). */
  bodyLimit?: number;
  /**
   * The process load (`/api/status` and the change-set queue's lag gate). Default: a meter
   * of its own, started and stopped with this server; one passed in is started by its owner.
   */
  load?: LoadMeter;
  /**
   * The admin console's live feed (`/api/events`, `/api/calls`; absent → 503 there), built and
   * closed by its owner with the layers; this server gives it the change-set queue's status.
   */
  live?: LiveHub;
  /** The web UI's build directory (default `web/dist` of this checkout); `false`: no web UI. */
  webRoot?: string | false;
}

/** The running (or ready-to-listen) HTTP server. */
export interface HttpServer {
  /** The fastify instance: register more plugins/routes on it before {@link HttpServer.listen}. */
  readonly app: FastifyInstance;
  /** The Prometheus registry behind `/metrics`: other layers add their metrics to it. */
  readonly metrics: Registry;
  /** The change-set queue every admin-API write goes through (behaviour §13). */
  readonly queue: ChangeSetQueue;
  /** Replaces the status providers (read at request time). */
  setStatusProviders(p: StatusProviders): void;
  /** Listens on `host:port` (port 0 = ephemeral); resolves with the bound address. */
  listen(hostPort: string): Promise<{ host: string; port: number; url: string }>;
  /** Stops listening and detaches from the store. */
  close(): Promise<void>;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(hostPort);
  if (!m) throw new Error(`"${hostPort}" is not host:port`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** Builds the HTTP server with the admin API, `/metrics` and the websocket support registered. */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const logger = options.logger ?? silentLogger;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child(
      { component: 'http' },
      { level: logger.level === 'silent' ? 'silent' : 'warn' },
    ) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  let providers: StatusProviders = options.statusProviders ?? {};
  const metrics = options.metrics ?? new Registry();
  if (!options.metrics) collectDefaultMetrics({ register: metrics });
  const ownLoad = options.load === undefined;
  const load = options.load ?? new LoadMeter();
  if (ownLoad) load.start();
  const store = options.store;
  const queue = new ChangeSetQueue({
    lagMs: () => load.recentLagMs(),
    version: () => store.version,
    ...(options.storeStatus ? { store: options.storeStatus } : {}),
    // Application options, read at each decision: a change applies to the next change-set.
    settings: () => {
      const o = store.server.options;
      return {
        maxLagMs: optionNumber('config-apply-max-lag', o['config-apply-max-lag']),
        maxWaitMs: optionNumber('config-apply-max-wait', o['config-apply-max-wait']),
        size: optionNumber('config-queue-size', o['config-queue-size']),
      };
    },
  });
  const detachMetrics = registerConfigMetrics(metrics, store, queue);
  const hub = options.live;
  hub?.bindConfigStatus(() => queue.status());

  // A user's mistake is never a 500: schema failures are 422, other 4xx keep their code.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return reply.code(422).send({ errors: [{ index: -1, message: err.message }] });
    const code = err.statusCode ?? 500;
    if (code >= 400 && code < 500) return reply.code(code).send({ error: err.message });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  // JSON bodies: an empty body (DELETE sent with a JSON content-type) is no body; bad JSON is 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      // Drop __proto__ keys (prototype poisoning), as fastify's own parser does. A reviver costs
      // ~3× the parse (5.3 vs 1.6 ms for a 2,334-change change-set), so it runs only when the text
      // could spell the key (literally or with \u escapes).
      const risky = text.includes('__proto__') || text.includes('\\u');
      done(null, (risky ? JSON.parse(text, dropProto) : JSON.parse(text)) as unknown);
    } catch (e) {
      const err = new Error(`body is not valid JSON: ${(e as Error).message}`) as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'sipserver admin API',
        version: '0.1.0',
        description: 'Configuration and status of the contact-center SIP Server (interfaces §5)',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // ws buffers a whole frame before the CTI gateway sees it: cap frames at 128 KiB (the gateway's own limit is 64 KiB).
  await app.register(fastifyWebsocket, { options: { maxPayload: 128 * 1024 } });

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(adminRoutes, {
    prefix: '/api',
    store: options.store,
    ...(options.writer ? { writer: options.writer } : {}),
    token: options.token,
    getStatusProviders: () => providers,
    queue,
    getLiveHub: () => hub,
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
  if (options.webRoot !== false) await webUiRoutes(app, options.webRoot === undefined ? {} : { root: options.webRoot });
  for (const p of options.plugins ?? []) await app.register(p);

  return {
    app,
    metrics,
    queue,
    setStatusProviders(p) {
      providers = p;
    },
    async listen(hostPort) {
      const { host, port } = parseHostPort(hostPort);
      await app.listen({ host, port });
      const addr = app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      const h = host.includes(':') ? `[${host}]` : host;
      return { host, port: bound, url: `http://${h}:${bound}` };
    },
    async close() {
      detachMetrics();
      queue.close();
      await app.close();
      if (ownLoad) load.stop();
    },
  };
}

/** Options of {@link startHttpServer}. */
export interface StartHttpServerOptions extends Omit<HttpServerOptions, 'token'> {
  /** Data directory: where a generated admin token is kept. */
  dataDir: string;
  /** `host:port` to listen on (default `server.http.listen` of the store, else `127.0.0.1:8080`). */
  listen?: string;
  /** Prints the generated token once (default stdout). */
  print?: (line: string) => void;
}

/**
 * For `sipserver start`: resolves the admin token (`server.http.admin-token`, else
 * `SIPSERVER_TOKEN`, else generated and printed once), builds the server and listens.
 * Register extra plugins through `options.plugins` (they must exist before listen).
 */
export async function startHttpServer(
  options: StartHttpServerOptions,
): Promise<{ server: HttpServer; url: string; tokenSource: AdminTokenSource }> {
  const { token, source } = resolveAdminToken({
    configured: options.store.server.http.adminToken,
    dataDir: options.dataDir,
    ...(options.print ? { print: options.print } : {}),
  });
  const server = await createHttpServer({ ...options, token });
  try {
    const { url } = await server.listen(options.listen ?? options.store.server.http.listen ?? '127.0.0.1:8080');
    return { server, url, tokenSource: source };
  } catch (e) {
    await server.close();
    throw e;
  }
}
