/**
 * The admin REST API (interfaces §5) as a fastify plugin mounted at `/api`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_SLICE_MS, type ConfigStore } from '../../config/config-store.js';
import { TurnSlicer } from '../../config/turn-slicer.js';
import { StoreUnavailableError, type ConfigWriter } from '../../config/config-writer.js';
import { ChangeSetError, type ChangeKind, type ChangeRequest } from '../../config/change-set.js';
import { agentToDocument } from '../../config/config-file.js';
import { redactAgent, redactChange, redactDn, isSecretOption } from '../../config/secrets.js';
import { OPTION_TABLE } from '../../config/option-table.js';
import type { AgentConfig, DnConfig } from '../../config/config-model.js';
import { adminAuthHook } from './admin-auth.js';
import { configJsonSteps } from './config-json-steps.js';
import { QueueClosedError, QueueFullError, type ChangeSetQueue } from './change-set-queue.js';
import * as S from './admin-schemas.js';
import { statusRoutes, type StatusProviders } from './status-routes.js';
import { liveStreamRoutes } from './live-stream.js';
import type { LiveHub } from './live-hub.js';

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions {
  store: ConfigStore;
  /** Where writes go (default `store`; the PostgreSQL store of record wraps it). */
  writer?: ConfigWriter;
  token: string;
  /** Read at request time, so providers can be set after the server started. */
  getStatusProviders: () => StatusProviders;
  /** Where writes wait for their turn (behaviour §13). */
  queue: ChangeSetQueue;
  /** The console's live feed (`/api/events`, `/api/calls`); absent → 503 there. */
  getLiveHub?: () => LiveHub | undefined;
}

/** A change-set made against another version than the store's (`ifVersion`): answer 409. */
class StaleVersionError extends Error {
  constructor(
    readonly current: number,
    readonly expected: number,
  ) {
    super(`configuration is at version ${current}, not ${expected}`);
  }
}

/** An agent as answered: never its password (secrets are write-only, docs/admin-api.md "Secrets"). */
function agentOut(a: AgentConfig): Record<string, unknown> {
  return agentToDocument(redactAgent(a));
}

/** A DN as answered: secret options left out, `hasPassword` when it has a password. */
function dnOut(d: DnConfig): Record<string, unknown> {
  return redactDn(d);
}

type Params = Record<string, string>;

/** Registers the `/api` routes (call with `prefix: '/api'`). */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const { store, queue } = opts;
  const writer = opts.writer ?? store;
  app.addHook('onRequest', adminAuthHook(opts.token));
  // `?limit=&offset=` (empty values) means the defaults.
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q && typeof q === 'object') for (const k of Object.keys(q)) if (q[k] === '') delete q[k];
  });

  const requestProblem = (reply: FastifyReply, message: string): FastifyReply =>
    reply.code(422).send({ errors: [{ index: -1, message }] });

  const rejectQuery = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const v = req.validationError;
    if (v && v.validationContext !== 'body') {
      void requestProblem(reply, `${v.validationContext ?? 'request'}: ${v.message}`);
      return true;
    }
    return false;
  };

  /** 503 + `Retry-After` when the queue is full or closing; 422 for a refused change-set; else rethrows. */
  const refusal = (reply: FastifyReply, e: unknown): FastifyReply => {
    if (e instanceof QueueFullError || e instanceof QueueClosedError || e instanceof StoreUnavailableError)
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ errors: [{ index: -1, message: e.message }] });
    if (e instanceof ChangeSetError)
      return reply.code(422).send({ errors: e.errors.map((x) => ({ index: x.index, message: x.message })) });
    if (e instanceof StaleVersionError)
      return reply.code(409).send({ errors: [{ index: -1, message: e.message }], version: e.current });
    throw e;
  };

  /** Applies one change for a single-object endpoint, in its turn; maps refusal to 422/503. */
  const applyOne = async (reply: FastifyReply, change: ChangeRequest): Promise<number | undefined> => {
    try {
      const r = await queue.submit(() => writer.apply([change], { origin: 'api' }));
      reply.header('x-config-version', String(r.version));
      if (r.warnings.length)
        reply.header('x-config-warnings', encodeURIComponent(r.warnings.map((w) => w.message).join('; ')));
      return r.version;
    } catch (e) {
      void refusal(reply, e);
      return undefined;
    }
  };

  const pageRoute = <T>(
    path: string,
    tag: string,
    item: object,
    list: (o: number, l: number, q?: string) => { items: T[]; total: number },
    out: (t: T) => unknown,
    querystring: object = S.pageQuerySchema,
  ): void => {
    app.get<{ Querystring: { limit: number; offset: number; q?: string } }>(
      path,
      {
        attachValidation: true,
        schema: {
          tags: [tag],
          querystring,
          response: {
            200: { type: 'object', properties: { items: { type: 'array', items: item }, total: { type: 'integer' } } },
          },
        },
      },
      async (req, reply) => {
        if (rejectQuery(req, reply)) return reply;
        const { limit = 1000, offset = 0, q } = req.query;
        const p = list(offset, limit, q);
        return { items: p.items.map(out), total: p.total };
      },
    );
  };

  interface Resource<T> {
    kind: ChangeKind;
    path: string;
    /** URL parameter name (`number`, `id`, `name`). */
    param: string;
    tag: string;
    what: string;
    get: (key: string) => T | undefined;
    out: (t: T) => Record<string, unknown>;
    keyOf: (t: T) => string;
    item: object;
    put: object;
    patch: object;
  }

  const resource = <T>(r: Resource<T>): void => {
    const notFound = (reply: FastifyReply, key: string): FastifyReply =>
      reply.code(404).send({ error: `${r.what} ${key} not found` });
    const common = { tags: [r.tag], params: { type: 'object', properties: { [r.param]: { type: 'string' } } } };
    const P = r.param;
    // A later change-set may have removed the object before this answer is written.
    const outAfter = (reply: FastifyReply, key: string): unknown => {
      const t = r.get(key);
      return t ? r.out(t) : notFound(reply, key);
    };
    app.get<{ Params: Params }>(
      `${r.path}/:${P}`,
      { schema: { ...common, response: { 200: r.item, 404: S.errorSchema } } },
      async (req, reply) => {
        const t = r.get(req.params[P]);
        return t ? r.out(t) : notFound(reply, req.params[P]);
      },
    );
    app.put<{ Params: Params; Body: unknown }>(
      `${r.path}/:${P}`,
      { attachValidation: true, schema: { ...common, body: r.put, response: { 200: r.item, 422: S.problemsSchema } } },
      async (req, reply) => {
        if (req.body === undefined || req.body === null) return requestProblem(reply, 'a JSON body is required');
        const v = await applyOne(reply, { op: 'put', kind: r.kind, key: req.params[P], value: req.body });
        if (v === undefined) return reply;
        return outAfter(reply, req.params[P]);
      },
    );
    app.patch<{ Params: Params; Body: unknown }>(
      `${r.path}/:${P}`,
      {
        attachValidation: true,
        schema: { ...common, body: r.patch, response: { 200: r.item, 404: S.errorSchema, 422: S.problemsSchema } },
      },
      async (req, reply) => {
        if (!r.get(req.params[P])) return notFound(reply, req.params[P]);
        if (req.body === undefined || req.body === null) return requestProblem(reply, 'a JSON body is required');
        const v = await applyOne(reply, { op: 'patch', kind: r.kind, key: req.params[P], value: req.body });
        if (v === undefined) return reply;
        return outAfter(reply, req.params[P]);
      },
    );
    app.delete<{ Params: Params }>(
      `${r.path}/:${P}`,
      {
        schema: {
          ...common,
          response: {
            200: { type: 'object', properties: { version: { type: 'integer' } } },
            404: S.errorSchema,
            422: S.problemsSchema,
          },
        },
      },
      async (req, reply) => {
        const t = r.get(req.params[P]);
        if (!t) return notFound(reply, req.params[P]);
        const v = await applyOne(reply, { op: 'delete', kind: r.kind, key: r.keyOf(t) });
        if (v === undefined) return reply;
        return { version: v };
      },
    );
  };

  pageRoute(
    '/dns',
    'dns',
    S.dnSchema,
    (o, l, q) => (q === undefined ? store.listDns(o, l) : store.searchDns(q, o, l)),
    dnOut,
    S.dnsQuerySchema,
  );
  resource<DnConfig>({
    kind: 'dn',
    path: '/dns',
    param: 'number',
    tag: 'dns',
    what: 'DN',
    get: (k) => store.getDn(k),
    out: dnOut,
    keyOf: (d) => d.number,
    item: S.dnSchema,
    put: S.dnPutSchema,
    patch: S.dnPatchSchema,
  });
  pageRoute('/agents', 'agents', S.agentSchema, (o, l) => store.listAgents(o, l), agentOut);
  resource<AgentConfig>({
    kind: 'agent',
    path: '/agents',
    param: 'id',
    tag: 'agents',
    what: 'agent',
    get: (k) => store.getAgent(k),
    out: agentOut,
    keyOf: (a) => a.id,
    item: S.agentSchema,
    put: S.agentPutSchema,
    patch: S.agentPatchSchema,
  });
  pageRoute(
    '/agent-groups',
    'agent-groups',
    S.groupSchema,
    (o, l) => store.listAgentGroups(o, l),
    (g) => g,
  );
  resource({
    kind: 'agent-group',
    path: '/agent-groups',
    param: 'name',
    tag: 'agent-groups',
    what: 'agent group',
    get: (k) => store.getAgentGroup(k),
    out: (g) => ({ name: g.name, agents: g.agents }),
    keyOf: (g) => g.name,
    item: S.groupSchema,
    put: S.groupPutSchema,
    patch: S.groupPutSchema,
  });

  app.get<{ Params: Params }>(
    '/dns/:number/effective-options',
    {
      schema: {
        tags: ['dns'],
        description:
          'Every known option as it applies to this DN now, with where it came from (behaviour §2.2); a secret option shows where it is set (`secret: true`), never its value',
      },
    },
    async (req, reply) => {
      const d = store.getDn(req.params.number);
      if (!d) return reply.code(404).send({ error: `DN ${req.params.number} not found` });
      const names = new Set([...OPTION_TABLE.map((o) => o.name), ...Object.keys(d.options)]);
      const out: Record<string, unknown> = {};
      for (const n of names) {
        const r = store.resolveOption(d.number, n);
        // A secret's value is never returned: only where it is set.
        if (r)
          out[n] = isSecretOption(n)
            ? { source: r.source, ...(r.via !== undefined ? { via: r.via } : {}), secret: true }
            : r;
      }
      return { number: d.number, options: out };
    },
  );

  statusRoutes(app, { store, getStatusProviders: opts.getStatusProviders, queue });
  liveStreamRoutes(app, { hub: opts.getLiveHub ?? (() => undefined) });

  app.post<{ Body: unknown; Querystring: { dryRun?: boolean } }>(
    '/config/change-sets',
    {
      attachValidation: true,
      schema: {
        tags: ['config'],
        description: 'Many changes validated as a whole and applied atomically as one versioned change-set',
        querystring: { type: 'object', properties: { dryRun: { type: 'boolean', default: false } } },
        body: S.changeSetSchema,
        response: {
          409: {
            type: 'object',
            properties: { errors: S.problemsSchema.properties.errors, version: { type: 'integer' } },
          },
          503: S.problemsSchema,
          200: {
            type: 'object',
            properties: {
              version: { type: 'integer' },
              applied: { type: 'integer' },
              dryRun: { type: 'boolean' },
              warnings: S.problemsSchema.properties.errors,
            },
          },
          422: S.problemsSchema,
        },
      },
    },
    async (req, reply) => {
      if (rejectQuery(req, reply)) return reply;
      const body = req.body as { changes?: unknown; ifVersion?: unknown } | null | undefined;
      if (!body || typeof body !== 'object' || !Array.isArray(body.changes)) {
        return requestProblem(reply, 'the body must be { "changes": [ … ] }');
      }
      const extra = Object.keys(body).filter((k) => k !== 'changes' && k !== 'ifVersion');
      if (extra.length)
        return requestProblem(reply, `unknown key "${extra[0]}" in the body (allowed: changes, ifVersion)`);
      const { ifVersion } = body;
      if (ifVersion !== undefined && (typeof ifVersion !== 'number' || !Number.isInteger(ifVersion) || ifVersion < 0))
        return requestProblem(reply, '"ifVersion" must be a configuration version (an integer ≥ 0)');
      const changes = body.changes as ChangeRequest[];
      // Checked when the change-set's turn comes: a change-set queued before it may move the version.
      const checkVersion = (): void => {
        if (ifVersion !== undefined && store.version !== ifVersion)
          throw new StaleVersionError(store.version, ifVersion);
      };
      const warn = (w: { index: number; message: string }[]) => w.map((x) => ({ index: x.index, message: x.message }));
      try {
        if (req.query.dryRun) {
          checkVersion();
          const r = store.check(changes);
          if (r.errors.length) return reply.code(422).send({ errors: warn(r.errors) });
          return { version: store.version, applied: r.changes.length, dryRun: true, warnings: warn(r.warnings) };
        }
        // Applied in short turns of the event loop, so that calls go on meanwhile (behaviour §13).
        const r = await queue.submit(() => {
          checkVersion();
          return writer.applyAsync(changes, { origin: 'api' });
        });
        return { version: r.version, applied: r.changes.length, warnings: warn(r.warnings) };
      } catch (e) {
        return refusal(reply, e);
      }
    },
  );

  app.get<{ Querystring: { since: number; limit?: number } }>(
    '/config/changes',
    {
      attachValidation: true,
      schema: {
        tags: ['config'],
        description:
          "The change feed: every change-set applied after `since`, oldest first. Secrets are left out (agent passwords, secret options such as a DN's `password`, the admin token); DNs carry `hasPassword` as in `GET /api/dns/{number}`",
        querystring: {
          type: 'object',
          properties: { since: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1 } },
        },
      },
    },
    async (req, reply) => {
      if (rejectQuery(req, reply)) return reply;
      const sets = store.changesSince(req.query.since ?? 0, req.query.limit);
      return {
        version: store.version,
        changeSets: sets.map((cs) => ({
          version: cs.version,
          time: cs.time,
          origin: cs.origin,
          changes: cs.changes.map(redactChange),
        })),
      };
    },
  );

  app.get(
    '/config',
    {
      schema: {
        tags: ['config'],
        description:
          "The whole configuration in the file format (for `sipserver config export/diff --server`), without secrets: agent passwords, secret options (a DN's `password`) and the admin token are write-only. Loading it back keeps the stored secrets.",
      },
    },
    // Several MB at 10,000 agents: taken at one version, stringified in short turns (behaviour §13).
    async (_req, reply) => {
      const text = await new TurnSlicer(DEFAULT_SLICE_MS).run(configJsonSteps(store.version, store.exportModel()));
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );

  app.get('/options', { schema: { tags: ['config'], description: 'The option reference table' } }, async () => ({
    options: OPTION_TABLE,
  }));
}
