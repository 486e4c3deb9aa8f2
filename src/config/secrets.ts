/**
 * Secrets are write-only (interfaces §5: an agent's password is "never returned"; docs/admin-api.md
 * "Secrets"): agent passwords, the options the option table marks `secret` (a DN's `password`),
 * and the admin token. Everything that reads the configuration out — the admin API, the change
 * feed, `config export` without `--with-secrets` — leaves them out; a write that leaves one out
 * keeps the stored value, so that what was read (or exported) can be written (or loaded) back
 * without wiping a credential. To remove a secret, write it empty (`password: ""` = no digest
 * authentication; `admin-token: ""` = no configured token).
 */
import type { AgentConfig, AgentInput, ConfigInput, DnConfig, Options, ServerConfig } from './config-model.js';
import type { AppliedChange } from './change-set.js';
import { OPTION_TABLE } from './option-table.js';

/** Names of the secret options (option table `secret: true`). */
export const SECRET_OPTIONS: readonly string[] = OPTION_TABLE.filter((o) => o.secret).map((o) => o.name);

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** True when the option is a credential (write-only). */
export function isSecretOption(name: string): boolean {
  return SECRET_OPTIONS.includes(name);
}

/** The options without secret ones (the same object when it has none). */
export function withoutSecretOptions(o: Options): Options {
  if (!SECRET_OPTIONS.some((n) => own(o, n))) return o;
  const out: Options = { ...o };
  for (const n of SECRET_OPTIONS) delete out[n];
  return out;
}

/**
 * `incoming` plus the secret options of `stored` that it leaves out (a write without a secret
 * keeps the stored one). The same object when nothing is added.
 */
export function keepSecretOptions(stored: Options | undefined, incoming: Options): Options {
  if (!stored) return incoming;
  let out: Options | undefined;
  for (const n of SECRET_OPTIONS) {
    if (own(stored, n) && !own(incoming, n)) (out ??= { ...incoming })[n] = stored[n];
  }
  return out ?? incoming;
}

/**
 * A DN as the API shows it: secret options left out, and `hasPassword: true` when it has a
 * non-empty `password` (the phone must authenticate).
 */
export function redactDn(d: DnConfig): {
  number: string;
  type: DnConfig['type'];
  options: Options;
  hasPassword?: true;
} {
  const out: { number: string; type: DnConfig['type']; options: Options; hasPassword?: true } = {
    number: d.number,
    type: d.type,
    options: withoutSecretOptions(d.options),
  };
  if ((d.options.password ?? '') !== '') out.hasPassword = true;
  return out;
}

/** An agent without its password (and without secret options). */
export function redactAgent(a: AgentInput): AgentInput {
  const { password: _p, ...rest } = a;
  void _p;
  return { ...rest, options: withoutSecretOptions(a.options) };
}

/** The server section without the admin token and secret options. */
export function redactServer(s: ServerConfig): ServerConfig {
  const { adminToken: _t, ...http } = s.http;
  void _t;
  return { ...s, http, options: withoutSecretOptions(s.options) };
}

/** The whole configuration without any secret (what the API and a plain export show). */
export function redactModel(m: ConfigInput): ConfigInput {
  return {
    server: redactServer(m.server),
    dns: m.dns.map((d) =>
      withoutSecretOptions(d.options) === d.options ? d : { ...d, options: withoutSecretOptions(d.options) },
    ),
    agents: m.agents.map(redactAgent),
    agentGroups: m.agentGroups,
  };
}

/**
 * `incoming` with the secrets it leaves out taken from `stored` (reconcile, diff): an export
 * without secrets loaded back changes nothing. `admin-token: ""` in `incoming` stays when
 * `stored` has a token (the change-set that removes it carries it) and is dropped otherwise.
 */
export function withStoredSecrets(stored: ConfigInput, incoming: ConfigInput): ConfigInput {
  const server = {
    ...incoming.server,
    http: { ...incoming.server.http },
    options: keepSecretOptions(stored.server.options, incoming.server.options),
  };
  if (server.http.adminToken === undefined && stored.server.http.adminToken !== undefined)
    server.http.adminToken = stored.server.http.adminToken;
  else if (server.http.adminToken === '' && stored.server.http.adminToken === undefined) delete server.http.adminToken;
  const dns = new Map(stored.dns.map((d) => [d.number, d]));
  const agents = new Map(stored.agents.map((a) => [a.id, a]));
  return {
    server,
    dns: incoming.dns.map((d) => {
      const options = keepSecretOptions(dns.get(d.number)?.options, d.options);
      return options === d.options ? d : { ...d, options };
    }),
    agents: incoming.agents.map((a) => {
      const s = agents.get(a.id);
      if (!s) return a;
      const options = keepSecretOptions(s.options, a.options);
      const password = a.password ?? s.password;
      return options === a.options && password === a.password
        ? a
        : { ...a, options, ...(password !== undefined ? { password } : {}) };
    }),
    agentGroups: incoming.agentGroups,
  };
}

/** A committed change without secrets, as the change feed shows it (DNs as {@link redactDn}). */
export function redactChange(c: AppliedChange): Record<string, unknown> {
  const strip = (v: DnConfig | AgentConfig | ServerConfig | { name: string; agents: string[] } | null): unknown => {
    if (!v) return v;
    switch (c.kind) {
      case 'dn':
        return redactDn(v as DnConfig);
      case 'agent':
        return redactAgent(v as AgentConfig);
      case 'server':
        return redactServer(v as ServerConfig);
      default:
        return v;
    }
  };
  return { op: c.op, kind: c.kind, key: c.key, old: strip(c.old), new: strip(c.new) };
}
