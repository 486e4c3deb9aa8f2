/**
 * The configuration model (interfaces §2, behaviour §2.1): the server section, DNs, agents and
 * agent groups. Numbers and DN references are kept normalised (see `normaliseNumber`).
 */

/** The DN types a configuration may hold (behaviour §2.1, interfaces §2). */
export const DN_TYPES = ['extension', 'acd-position', 'voip-service', 'trunk', 'routing-point', 'acd-queue'] as const;

/** One of {@link DN_TYPES}. */
export type DnType = (typeof DN_TYPES)[number];

/**
 * The DN types that are agent places: an agent logs in there, a direct call rings the phone, and
 * without `contact` they sit behind a softswitch (behaviour §2.1, §3.1). The one definition.
 */
export const AGENT_DN_TYPES: readonly DnType[] = ['extension', 'acd-position'];

/** True for an {@link AGENT_DN_TYPES agent DN type}. */
export function isAgentDnType(type: string): boolean {
  return (AGENT_DN_TYPES as readonly string[]).includes(type);
}

/** Option section: Genesys `[TServer]` key = value strings. */
export type Options = Record<string, string>;

/** A directory number (behaviour §2.1). `number` is normalised. */
export interface DnConfig {
  number: string;
  type: DnType;
  options: Options;
}

/** An agent (Genesys Person with a default Place → DN). `dn` is normalised when present. */
export interface AgentConfig {
  id: string;
  name: string;
  password: string;
  dn?: string;
  options: Options;
}

/** A named group of agents that routing points distribute calls to. */
export interface AgentGroupConfig {
  name: string;
  agents: string[];
}

/**
 * `server.sip.tls`: certificate and key files for `tls:`/`wss:` listeners (also presented as the
 * client certificate), and how the certificate of a peer we connect to is checked.
 */
export interface TlsConfig {
  cert?: string;
  key?: string;
  /** PEM file of the CAs trusted for outbound TLS (`ca`); replaces the system's CA store. */
  ca?: string;
  /** Check the certificate of peers we connect to (`verify-peer`; absent = true). */
  verifyPeer?: boolean;
}

/** The `server` section. `options` is the application-level `[TServer]` section. */
export interface ServerConfig {
  name: string;
  sip: { listen: string[]; tls?: TlsConfig };
  http: { listen?: string; adminToken?: string };
  options: Options;
}

/**
 * An agent as a write gives it (a configuration file, `config export` without secrets): the
 * password may be left out. Secrets are write-only (docs/admin-api.md "Secrets"): a write that
 * leaves one out keeps the stored value; a new agent needs one.
 */
export type AgentInput = Omit<AgentConfig, 'password'> & { password?: string };

/**
 * A configuration as a file describes it: like {@link ConfigModel}, but secrets may be left out
 * (agent passwords, secret options such as a DN's `password`, the admin token): reconciling the
 * store to it keeps the stored ones. `server.http.adminToken` `''` removes the stored token.
 */
export interface ConfigInput extends Omit<ConfigModel, 'agents'> {
  agents: AgentInput[];
}

/** A whole configuration, as the store holds it (every agent has its password). */
export interface ConfigModel {
  server: ServerConfig;
  dns: DnConfig[];
  agents: AgentConfig[];
  agentGroups: AgentGroupConfig[];
}

/** The server section a fresh store starts with. */
export function defaultServerConfig(): ServerConfig {
  return { name: 'SIP_Server', sip: { listen: [] }, http: {}, options: {} };
}

/** An empty configuration. */
export function emptyModel(): ConfigModel {
  return { server: defaultServerConfig(), dns: [], agents: [], agentGroups: [] };
}

/** True when `t` names a DN type. */
export function isDnType(t: string): t is DnType {
  return (DN_TYPES as readonly string[]).includes(t);
}
