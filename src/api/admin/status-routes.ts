/**
 * The live-state endpoints of the admin API (interfaces §5, docs/admin-api.md): `GET /status`
 * (whole or by section), `GET /dns/{number}/status` and the bulk `POST /dns/status`. They are
 * reads: they never wait in the change-set queue (behaviour §13).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { performance } from 'node:perf_hooks';
import { DEFAULT_SLICE_MS, type ConfigStore } from '../../config/config-store.js';
import { nextTurn } from '../../config/turn-slicer.js';
import type { DnConfig } from '../../config/config-model.js';
import type { AgentStateFilter } from '../../contact-center/agents/agent-status-provider.js';
import { STATUS_SECTIONS, type ServerStatus, type StatusQuery, type StatusSection } from '../status.js';
import type { ClusterView } from '../../cluster/cluster-types.js';
import type { ChangeSetQueue } from './change-set-queue.js';

/**
 * What `GET /api/dns/{number}/status` answers at least (interfaces §5); computed by the
 * reachability layer, which may add fields (they are sent as given).
 */
export interface DnStatus {
  mode: 'registered' | 'static' | 'softswitch' | 'agent-phone' | 'unreachable';
  target?: string;
  via?: string;
  inService: boolean;
  /** A nailed-up DN (`line-type = 1`): the state of its connection (behaviour §10.1, §10.3). */
  nailedUp?: 'none' | 'connecting' | 'parked' | 'active';
}

/**
 * Providers of the live-state endpoints, owned by other layers. `dnStatus` gets the DN (known
 * to exist); `status` answers `GET /api/status` ({@link ServerStatus}), only the sections the
 * query names when it names some. Missing provider → 503.
 */
export interface StatusProviders {
  dnStatus?: (dn: DnConfig) => DnStatus | Promise<DnStatus>;
  status?: (query: StatusQuery) => Partial<ServerStatus>;
  /** `GET /api/cluster` (docs/cluster.md). */
  cluster?: () => Promise<ClusterView>;
}

/** Options of {@link statusRoutes}. */
export interface StatusRoutesOptions {
  store: ConfigStore;
  /** Read at request time, so providers can be set after the server started. */
  getStatusProviders: () => StatusProviders;
  /** Its `status()` is the `config` section. */
  queue: ChangeSetQueue;
}

/** Most numbers one `POST /api/dns/status` may ask about. */
export const MAX_DN_STATUS_NUMBERS = 5000;

const AGENT_STATES: readonly AgentStateFilter[] = ['logged-in', 'busy'];

/** One item of `POST /api/dns/status`: the number as asked, then its status or why there is none. */
type DnStatusItem = ({ number: string } & DnStatus) | { number: string; error: string };

/** Parses `?sections=` and `?agentState=`; a string is the problem to answer with 422. */
function parseStatusQuery(q: { sections?: string; agentState?: string }): StatusQuery | string {
  const query: StatusQuery = {};
  if (q.sections !== undefined) {
    const names = q.sections.split(',').map((s) => s.trim());
    const bad = names.find((n) => !(STATUS_SECTIONS as readonly string[]).includes(n));
    if (bad !== undefined) return `querystring: unknown section "${bad}" (known: ${STATUS_SECTIONS.join(', ')})`;
    query.sections = new Set(names as StatusSection[]);
  }
  if (q.agentState !== undefined) {
    if (!(AGENT_STATES as readonly string[]).includes(q.agentState))
      return `querystring: agentState must be one of ${AGENT_STATES.join(', ')}`;
    query.agentState = q.agentState as AgentStateFilter;
  }
  return query;
}

/** Registers the live-state routes on the `/api` plugin (after its auth hook). */
export function statusRoutes(app: FastifyInstance, opts: StatusRoutesOptions): void {
  const { store, queue } = opts;
  const problem = (reply: FastifyReply, message: string): FastifyReply =>
    reply.code(422).send({ errors: [{ index: -1, message }] });

  app.get<{ Params: { number: string } }>(
    '/dns/:number/status',
    { schema: { tags: ['status'] } },
    async (req, reply) => {
      const d = store.getDn(req.params.number);
      if (!d) return reply.code(404).send({ error: `DN ${req.params.number} not found` });
      const p = opts.getStatusProviders().dnStatus;
      if (!p) return reply.code(503).send({ error: 'DN status is not available in this server' });
      return p(d);
    },
  );

  app.post<{ Body: unknown }>(
    '/dns/status',
    {
      schema: {
        tags: ['status'],
        description: `The status of many DNs in one read (at most ${MAX_DN_STATUS_NUMBERS}), in the order asked; an unknown number is an item with "error"`,
      },
    },
    async (req, reply) => {
      const body = req.body as { numbers?: unknown } | null | undefined;
      const numbers = body && typeof body === 'object' ? body.numbers : undefined;
      if (!Array.isArray(numbers) || numbers.some((n) => typeof n !== 'string'))
        return problem(reply, 'the body must be { "numbers": [ "<DN number>", … ] }');
      if (numbers.length > MAX_DN_STATUS_NUMBERS)
        return problem(reply, `at most ${MAX_DN_STATUS_NUMBERS} numbers per request (${numbers.length} given)`);
      const p = opts.getStatusProviders().dnStatus;
      if (!p) return reply.code(503).send({ error: 'DN status is not available in this server' });
      // Up to 1,000 resolutions (a migration batch's home DNs): read in turns of about 1 ms, so
      // that calls go on meanwhile; each item is the DN's status when it was read.
      const items: DnStatusItem[] = [];
      let turn = performance.now();
      for (const number of numbers as string[]) {
        const d = store.getDn(number);
        items.push(d ? { ...(await p(d)), number } : { number, error: 'unknown DN' });
        if (performance.now() - turn >= DEFAULT_SLICE_MS) {
          await nextTurn();
          turn = performance.now();
        }
      }
      return { items };
    },
  );

  app.get(
    '/cluster',
    {
      schema: {
        tags: ['status'],
        description:
          'The nodes of the cluster (name, addresses, alive, what is left of the lease, agents owned) and the node owning each agent login; a server without --redis answers mode "single"',
      },
    },
    async (_req, reply) => {
      const p = opts.getStatusProviders().cluster;
      if (!p) return reply.code(503).send({ error: 'the cluster view is not available in this server' });
      return p();
    },
  );

  app.get<{ Querystring: { sections?: string; agentState?: string } }>(
    '/status',
    {
      schema: {
        tags: ['status'],
        description: `The live state; ?sections= (comma list of ${STATUS_SECTIONS.join(', ')}) answers only those, ?agentState=logged-in|busy lists only those agents`,
        querystring: {
          type: 'object',
          properties: { sections: { type: 'string' }, agentState: { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      const query = parseStatusQuery(req.query);
      if (typeof query === 'string') return problem(reply, query);
      const p = opts.getStatusProviders().status;
      if (!p) return reply.code(503).send({ error: 'status is not available in this server' });
      const s = p(query);
      return !query.sections || query.sections.has('config') ? { ...s, config: queue.status() } : s;
    },
  );
}
