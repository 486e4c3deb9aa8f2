/**
 * The admin API as the command line uses it (`config … --server`, `migrate`; docs/admin-api.md): fetch with the bearer token,
 * a timeout on every request, and `503` + `Retry-After` (the server's change-set queue is full,
 * behaviour §13) honoured by waiting and sending again.
 */
import type { ChangeRequest } from '../config/change-set.js';
import type { ConfigInput, DnType } from '../config/config-model.js';
import { defaultServerConfig } from '../config/config-model.js';

/** The server did not answer (connection refused, reset or timed out). */
export class ServerDownError extends Error {}

/** The server answered something the tool cannot go on with (401, 500, an unreadable body…). */
export class ServerRefusedError extends Error {}

/** `GET /api/status` as far as the tool reads it (a section not asked for may be absent). */
export interface ServerStatus {
  agents?: { id: string; dn?: string; state: string; agentPhone?: string; onCall?: boolean }[];
  devices?: { dn: string; state: string }[];
  load?: { cpuPercent?: number; eventLoopLagMs?: number; eventLoopLagMaxMs?: number };
  config?: { version?: number; lastApplyMs?: number; lastApplyLongestTurnMs?: number; queueDepth?: number };
}

/** What to ask `GET /api/status` for: `?sections=` and `?agentState=` (docs/admin-api.md). */
export interface StatusQuery {
  sections?: ('load' | 'config' | 'agents' | 'devices')[];
  agentState?: 'busy' | 'logged-in';
}

/** Most numbers one `POST /api/dns/status` takes. */
const DN_STATUS_CHUNK = 5000;
/** DN status reads in flight at once when the server has no bulk read. */
const DN_STATUS_CONCURRENCY = 8;
/** Answers of a server that does not know a query form: use the older read. */
const UNKNOWN_FORM = new Set([400, 404, 405, 422]);

/** `GET /api/dns/{n}/status`. */
export interface DnStatus {
  mode: string;
  inService: boolean;
  via?: string;
  reason?: string;
}

/** The answer to a change-set. */
export type ChangeSetResult =
  | { ok: true; version: number }
  | { ok: false; conflict: true; version: number }
  | { ok: false; conflict: false; errors: { index: number; message: string }[] };

/** Options of {@link AdminClient}. */
export interface AdminClientOptions {
  timeoutMs?: number;
  /** How many 503 answers to wait out for one request (default 60). */
  maxRetries?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): Record<string, string> =>
  isDoc(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {};

/**
 * The configuration `GET /api/config` sends (the file form, already validated by the server) as the
 * model the tool reads: DNs, agents and agent groups taken over as they are, without the YAML round
 * trip and full re-validation of `loadConfigText` (2.4 s at 10,000 agents). The server section is
 * not used by the tool (defaults). Null when the shape is not a configuration.
 */
export function documentToModel(doc: unknown): ConfigInput | null {
  if (!isDoc(doc) || !Array.isArray(doc.dns ?? []) || !Array.isArray(doc.agents ?? [])) return null;
  const dns = (doc.dns ?? []) as Doc[];
  const agents = (doc.agents ?? []) as Doc[];
  const groups = (doc['agent-groups'] ?? []) as Doc[];
  if (![...dns, ...agents, ...groups].every(isDoc)) return null;
  return {
    server: defaultServerConfig(),
    dns: dns.map((d) => ({ number: String(d.number), type: String(d.type) as DnType, options: strings(d.options) })),
    agents: agents.map((a) => ({
      id: String(a.id),
      name: String(a.name ?? ''),
      ...(a.dn !== undefined ? { dn: String(a.dn) } : {}),
      options: strings(a.options),
    })),
    agentGroups: groups.map((g) => ({
      name: String(g.name),
      agents: Array.isArray(g.agents) ? g.agents.map(String) : [],
    })),
  };
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Change-sets read per change feed request. */
const FEED_PAGE = 20;

/** A client of one server's admin API. */
export class AdminClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The server answered the `?sections=` form with 4xx: read `/api/status` whole. */
  private legacyStatus = false;
  /** The server has no `POST /api/dns/status`. */
  private legacyDnStatus = false;

  constructor(
    url: string,
    private readonly token: string,
    o: AdminClientOptions = {},
  ) {
    this.base = url.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? 15_000;
    this.maxRetries = o.maxRetries ?? 60;
    this.sleep = o.sleep ?? defaultSleep;
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
        throw new ServerDownError(`${method} ${this.base}${path}: ${cause}`);
      }
      if (res.status === 401) throw new ServerRefusedError(`${this.base}: the admin token was refused (401)`);
      const text = await res.text().catch(() => '');
      const retryAfter = Number(res.headers.get('retry-after') ?? '');
      if (res.status === 503 && Number.isFinite(retryAfter) && retryAfter >= 0 && attempt < this.maxRetries) {
        await this.sleep(Math.max(100, retryAfter * 1000));
        continue;
      }
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        throw new ServerRefusedError(`${method} ${path} answered ${res.status} with a body that is not JSON`);
      }
      return { status: res.status, json };
    }
  }

  /** `GET /api/config`: the whole configuration in its file form (no secrets) and its version. */
  async configDocument(): Promise<{ version: number; config: unknown }> {
    const r = await this.request('GET', '/api/config');
    if (r.status !== 200) throw new ServerRefusedError(`${this.base}/api/config answered ${r.status}`);
    return r.json as { version: number; config: unknown };
  }

  /** The whole configuration (no secrets) as the migration tool reads it, and its version. */
  async config(): Promise<{ version: number; model: ConfigInput }> {
    const body = await this.configDocument();
    const model = documentToModel(body.config);
    if (!model) throw new ServerRefusedError(`the server sent a configuration this tool cannot read (GET /api/config)`);
    return { version: body.version, model };
  }

  /** `POST /api/config/change-sets` with `ifVersion` (409 when the configuration moved on); `dryRun` validates only. */
  async changeSet(changes: ChangeRequest[], ifVersion?: number, dryRun = false): Promise<ChangeSetResult> {
    const r = await this.request('POST', `/api/config/change-sets${dryRun ? '?dryRun=true' : ''}`, {
      changes,
      ...(ifVersion !== undefined ? { ifVersion } : {}),
    });
    const body = (r.json ?? {}) as { version?: number; errors?: { index: number; message: string }[] };
    if (r.status === 200) return { ok: true, version: body.version ?? 0 };
    if (r.status === 409) return { ok: false, conflict: true, version: body.version ?? 0 };
    if (r.status === 422 || r.status === 503)
      return { ok: false, conflict: false, errors: body.errors ?? [{ index: -1, message: `answered ${r.status}` }] };
    throw new ServerRefusedError(`POST /api/config/change-sets answered ${r.status}`);
  }

  /**
   * The latest change-sets after `since` that removed each of the DNs `numbers`, read from the
   * change feed (`GET /api/config/changes`, a page of change-sets at a time): number → version.
   * A DN the feed shows no removal of is absent.
   */
  async dnRemovals(numbers: Iterable<string>, since: number): Promise<Map<string, number>> {
    const want = new Set(numbers);
    const out = new Map<string, number>();
    if (want.size === 0) return out;
    for (let from = Math.max(0, since); ;) {
      const r = await this.request('GET', `/api/config/changes?since=${from}&limit=${FEED_PAGE}`);
      if (r.status !== 200) throw new ServerRefusedError(`GET /api/config/changes answered ${r.status}`);
      const body = r.json as {
        changeSets: { version: number; changes: { kind: string; key: string; new: unknown }[] }[];
      };
      for (const cs of body.changeSets)
        for (const c of cs.changes)
          if (c.kind === 'dn' && c.new === null && want.has(c.key)) out.set(c.key, cs.version);
      if (body.changeSets.length < FEED_PAGE) return out;
      from = body.changeSets.at(-1)!.version;
    }
  }

  /**
   * `GET /api/status`, only the sections and agents `q` asks for; a server that does not know
   * the query (4xx) is read whole from then on and its agents filtered here.
   */
  async status(q: StatusQuery = {}): Promise<ServerStatus> {
    const params = [
      ...(q.sections ? [`sections=${q.sections.join(',')}`] : []),
      ...(q.agentState ? [`agentState=${q.agentState}`] : []),
    ];
    if (params.length && !this.legacyStatus) {
      const r = await this.request('GET', `/api/status?${params.join('&')}`);
      if (r.status === 200) return r.json as ServerStatus;
      if (!UNKNOWN_FORM.has(r.status)) throw new ServerRefusedError(`GET /api/status answered ${r.status}`);
      this.legacyStatus = true;
    }
    const r = await this.request('GET', '/api/status');
    if (r.status !== 200) throw new ServerRefusedError(`GET /api/status answered ${r.status}`);
    const s = r.json as ServerStatus;
    if (q.agentState === 'busy') s.agents = s.agents?.filter((a) => a.state.startsWith('Busy'));
    if (q.agentState === 'logged-in') s.agents = s.agents?.filter((a) => a.state !== 'LoggedOut');
    return s;
  }

  /**
   * The status of many DNs (null: no such DN): `POST /api/dns/status`, 5,000 numbers a request;
   * a server without it (4xx) is read with `GET /api/dns/{n}/status`, 8 at a time.
   */
  async dnStatuses(numbers: string[]): Promise<Map<string, DnStatus | null>> {
    const out = new Map<string, DnStatus | null>();
    for (let i = 0; i < numbers.length && !this.legacyDnStatus; i += DN_STATUS_CHUNK) {
      const chunk = numbers.slice(i, i + DN_STATUS_CHUNK);
      const r = await this.request('POST', '/api/dns/status', { numbers: chunk });
      if (UNKNOWN_FORM.has(r.status) && i === 0) this.legacyDnStatus = true;
      else if (r.status !== 200) throw new ServerRefusedError(`POST /api/dns/status answered ${r.status}`);
      else
        for (const it of (r.json as { items: (DnStatus & { number: string; error?: string })[] }).items)
          out.set(it.number, it.error !== undefined ? null : it);
    }
    if (!this.legacyDnStatus) return out;
    for (let i = 0; i < numbers.length; i += DN_STATUS_CONCURRENCY) {
      const chunk = numbers.slice(i, i + DN_STATUS_CONCURRENCY);
      const got = await Promise.all(chunk.map((n) => this.dnStatus(n)));
      chunk.forEach((n, j) => out.set(n, got[j]));
    }
    return out;
  }

  /** `GET /api/dns/{n}/status`; null when the DN does not exist (404). */
  async dnStatus(number: string): Promise<DnStatus | null> {
    const r = await this.request('GET', `/api/dns/${encodeURIComponent(number)}/status`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new ServerRefusedError(`GET /api/dns/${number}/status answered ${r.status}`);
    return r.json as DnStatus;
  }
}
