import { optionSpec } from '../config/option-table.js';
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { ConfigStore } from '../config/config-store.js';
import type { DnConfig } from '../config/config-model.js';
import { NonceManager } from '../sip/auth/digest-nonce-manager.js';
import { DigestServer } from '../sip/auth/digest-server.js';
import { parseDigestAlgorithm, type DigestAlgorithm } from '../sip/auth/digest-hash.js';
import type { SipRequest } from '../sip/message/types.js';
import type { IncomingRequest } from '../sip/stack/incoming-request.js';
import type { SipStack } from '../sip/stack/sip-stack.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';
import type { Binding } from './binding.js';
import { noPersistence, type BindingPersistence } from './binding-persistence.js';
import { BindingTable } from './binding-table.js';
import { registerInputFromRequest } from './register-input.js';
import { RegisterProcessor, type RegistrarDirectory, type RegistrarOptions } from './register-processor.js';
import type { RegistrarListener } from './registrar-listener.js';
import { SqliteBindingPersistence } from './sqlite-binding-persistence.js';

/** The configuration the registrar reads (implemented by `ConfigStore`). */
export type RegistrarConfig = Pick<ConfigStore, 'getDn' | 'subscribe' | 'server'>;

/** Dependencies of {@link createRegistrar}. */
export interface RegistrarDeps {
  stack: Pick<SipStack, 'handle'>;
  store: RegistrarConfig;
  clock: Clock;
  logger: Logger;
  /** Where bindings persist: a directory (file `registrar.sqlite`), a persistence, or none. */
  dataDir?: string;
  persistence?: BindingPersistence;
  /** Overrides of the application options (see docs/registrar.md). */
  options?: RegistrarOptions;
  /** Prometheus registry for the registrar counters. */
  registry?: Registry;
}

/** One row of `/api/status` `registrations` (interfaces §5). */
export interface RegistrationStatus {
  dn: string;
  contact: string;
  /** Seconds left. */
  expires: number;
  source: string;
  nat: boolean;
  userAgent?: string;
}

/** Result of {@link Registrar.authenticateRequest}: go on, or answer with this. */
export type RequestAuthResult =
  { ok: true } | { ok: false; status: number; reason: string; headers: Array<[string, string]> };

/** The wired registrar (RFC 3261 §10.3, behaviour §3.5). */
export interface Registrar {
  /** The location service: bindings per DN. */
  readonly table: BindingTable;
  /** The digest server shared by REGISTER and other requests from registered phones. */
  readonly digest: DigestServer;
  /** Current bindings of a DN, most recently refreshed first. */
  bindings(dn: string): readonly Binding[];
  /** Subscribe to `registered` / `unregistered`; returns an unsubscribe function. */
  addListener(l: RegistrarListener): () => void;
  /**
   * Digest-authenticate a non-REGISTER request (e.g. INVITE) from the phone of `dnNumber`
   * with the DN's `password` (RFC 3261 §22.1: a UAS answers 401 + WWW-Authenticate; with
   * `proxy`, as a proxy-like B2BUA, 407 + Proxy-Authenticate and credentials from
   * Proxy-Authorization, RFC 3261 §22.3). `ok` when the DN has no password. Shares the nonces,
   * algorithms, realm (`auth-realm`) and failure limiter of REGISTER.
   */
  authenticateRequest(
    req: SipRequest,
    sourceIp: string,
    dnNumber: string,
    opts?: { proxy?: boolean },
  ): RequestAuthResult;
  /** `/api/status` `registrations` rows. */
  status(): RegistrationStatus[];
  /** Unhook from the stack and the store, stop the expiry timer, flush persistence. */
  close(): void;
}

function int(v: string | undefined): number | undefined {
  return v !== undefined && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

/** Registrar options from the application `[TServer]` options (documented in docs/registrar.md). */
export function registrarOptionsFrom(app: Record<string, string>): RegistrarOptions {
  return {
    minExpires: int(app['registrar-min-expires']),
    maxExpires: int(app['registrar-max-expires']),
    defaultExpires: int(app['registrar-default-expires']),
    maxContacts: int(app['registrar-max-contacts']),
    realm: app['auth-realm'] || undefined,
    algorithms: parseAlgorithms(app['auth-algorithms'] ?? optionSpec('auth-algorithms')?.default),
  };
}

/** `auth-algorithms`: comma-separated `SHA-256`, `MD5` (unknown names ignored); undefined = default. */
export function parseAlgorithms(v: string | undefined): DigestAlgorithm[] | undefined {
  if (!v) return undefined;
  const out: DigestAlgorithm[] = [];
  for (const item of v.split(',')) {
    const a = parseDigestAlgorithm(item.trim());
    if (a && !a.endsWith('-sess') && !out.includes(a)) out.push(a);
  }
  return out.length > 0 ? out : undefined;
}

/** Whether a DN takes registrations (`contact = *`, behaviour §3.5). */
export function isRegistering(dn: DnConfig | null | undefined): boolean {
  return !!dn && dn.options.contact?.trim() === '*';
}

/**
 * Wire the registrar: REGISTER handler on the stack, binding table restored from the data
 * directory, configuration changes followed (a DN deleted or no longer `contact = *` loses its
 * bindings at once).
 */
export function createRegistrar(deps: RegistrarDeps): Registrar {
  const { stack, store, clock } = deps;
  const logger = deps.logger.child({ layer: 'registrar' });
  const persistence =
    deps.persistence ?? (deps.dataDir ? SqliteBindingPersistence.open(deps.dataDir, clock) : noPersistence);
  const table = new BindingTable(clock, persistence, logger);
  const restored = table.restore();
  if (restored > 0) logger.info({ bindings: restored }, 'registrations restored');
  // One nonce ring for the life of the registrar: a server-options change rebuilds the digest
  // server, and outstanding challenges stay valid.
  const nonces = new NonceManager({ clock });
  const limiter = new AuthFailureLimiter({ clock });
  const directory: RegistrarDirectory = {
    findRegisteringDn(user) {
      const dn = store.getDn(decodeUser(user));
      if (!isRegistering(dn)) return undefined;
      return { dn: dn!.number, password: dn!.options.password };
    },
  };
  // Application options are re-read on every server change (next REGISTER uses them); the
  // nonce key stays, so outstanding challenges remain valid.
  let options: RegistrarOptions = {};
  let digest!: DigestServer;
  let processor!: RegisterProcessor;
  const build = (): void => {
    options = { ...registrarOptionsFrom(store.server.options), ...deps.options };
    digest = new DigestServer({ clock, nonces, algorithms: options.algorithms });
    processor = new RegisterProcessor(table, directory, digest, limiter, clock, logger, options);
  };
  build();

  const answers = deps.registry ? answerCounts(deps.registry) : undefined;

  // Bindings of DNs dropped by configuration (behaviour §3.5, option table: "a registered
  // binding is dropped when `*` is removed").
  for (const dn of [...table.dns()]) {
    if (!isRegistering(store.getDn(dn))) table.removeDn(dn, 'deconfigured');
  }
  const unsubscribe = store.subscribe((cs) => {
    if (cs.changes.some((c) => c.kind === 'server')) build();
    for (const c of cs.changes) {
      if (c.kind !== 'dn' || !c.old || !isRegistering(c.old)) continue;
      if (!isRegistering(c.new) || c.new!.number !== c.old.number) table.removeDn(c.old.number, 'deconfigured');
    }
  });

  const unhandle = stack.handle('REGISTER', (ctx: IncomingRequest) => {
    let status = 500;
    try {
      const origin = ctx.origin;
      const parsed = registerInputFromRequest(ctx.request, origin, origin === ctx.source ? undefined : ctx.source);
      if (!parsed.ok) {
        status = parsed.status;
        answer(ctx, parsed.status, parsed.reason);
      } else {
        const out = processor.process(parsed.input);
        status = out.status;
        answer(ctx, out.status, out.reason, out.headers);
      }
    } catch (err) {
      logger.error({ err }, 'REGISTER processing failed');
      if (!ctx.finalSent) ctx.reply(500, 'Server Internal Error');
    }
    if (answers) answers.set(status, (answers.get(status) ?? 0) + 1);
    return true;
  });

  return {
    table,
    get digest() {
      return digest;
    },
    bindings: (dn) => table.get(dn),
    addListener: (l) => table.addListener(l),
    authenticateRequest(req, sourceIp, dnNumber, opts) {
      const proxy = opts?.proxy === true;
      const dn = store.getDn(dnNumber);
      const password = dn?.options.password;
      if (!dn || !password) return { ok: true };
      const wait = limiter.blockedFor(sourceIp);
      if (wait > 0)
        return { ok: false, status: 503, reason: 'Service Unavailable', headers: [['Retry-After', String(wait)]] };
      const realm = options.realm ?? req.from.uri.host;
      const v = digest.verify(
        { method: req.method, credentials: req.getHeaders(proxy ? 'Proxy-Authorization' : 'Authorization') },
        realm,
        (u) =>
          decodeUser(u) === dn.number || store.getDn(decodeUser(u))?.number === dn.number ? { password } : undefined,
      );
      if (v.outcome === 'ok') return { ok: true };
      if (v.outcome === 'malformed')
        return { ok: false, status: 400, reason: 'Bad Request (Authorization)', headers: [] };
      if (v.outcome === 'forbidden' || v.reason === 'bad-credentials') limiter.fail(sourceIp);
      if (v.outcome === 'forbidden') return { ok: false, status: 403, reason: 'Forbidden', headers: [] };
      return {
        ok: false,
        status: proxy ? 407 : 401,
        reason: proxy ? 'Proxy Authentication Required' : 'Unauthorized',
        headers: digest
          .challenge(realm, { stale: v.stale, retry: v.retry })
          .map((c) => [proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate', c] as [string, string]),
      };
    },
    status() {
      const now = clock.now();
      const rows: RegistrationStatus[] = [];
      for (const dn of table.dns()) {
        for (const b of table.get(dn)) {
          rows.push({
            dn,
            contact: b.contact,
            expires: Math.max(0, Math.ceil((b.expiresAt - now) / 1000)),
            source: `${b.source.transport}:${b.source.host.includes(':') ? `[${b.source.host}]` : b.source.host}:${b.source.port}`,
            nat: b.nat,
            userAgent: b.userAgent,
          });
        }
      }
      return rows;
    },
    close() {
      unhandle();
      unsubscribe();
      table.close();
    },
  };
}

/**
 * Send the registrar's answer statelessly, as RFC 3261 §8.2.7 allows a UAS to do (and as
 * Kamailio's `www_challenge` / `save` reply through `sl`): no server transaction, nothing kept
 * for 64·T1 (Timer J, §17.2.2). A retransmission is simply processed again: an unauthenticated
 * REGISTER gets a fresh 401 (fresh nonce, same To tag: a hash of the request); an accepted one
 * is recognised by the processor (right digest, nonce-count already used, Call-ID and CSeq of
 * its bindings) and gets the 200 with the current bindings again instead of the 400 that
 * RFC 3261 §10.3 step 7 would give it.
 */
function answer(ctx: IncomingRequest, status: number, reason: string, headers?: Array<[string, string]>): void {
  ctx.replyStateless(status, reason, headers);
}

/** Per registry: the answer counts of every registrar created on it (summed at scrape time). */
const answerSources = new WeakMap<Registry, Array<Map<number, number>>>();

/**
 * A new status → count map for one registrar, reported as `sipserver_register_responses_total`.
 * Counting is a plain map update per REGISTER; the Prometheus counter is filled from the maps
 * only when scraped (`collect`), so no label hashing and validation runs per request.
 */
function answerCounts(registry: Registry): Map<number, number> {
  let sources = answerSources.get(registry);
  if (!sources) {
    const list: Array<Map<number, number>> = [];
    sources = list;
    answerSources.set(registry, list);
    new Counter({
      name: 'sipserver_register_responses_total',
      help: 'REGISTER answers by status',
      labelNames: ['status'],
      registers: [registry],
      collect() {
        const sum = new Map<number, number>();
        for (const m of list) for (const [status, n] of m) sum.set(status, (sum.get(status) ?? 0) + n);
        this.reset();
        for (const [status, n] of sum) this.inc({ status: String(status) }, n);
      },
    });
  }
  const counts = new Map<number, number>();
  sources.push(counts);
  return counts;
}

/** AOR user parts may carry %-escapes (RFC 3261 §19.1.2); numbers never need them. */
function decodeUser(user: string): string {
  if (!user.includes('%')) return user;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
