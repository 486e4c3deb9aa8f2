/**
 * Structural parsing of configuration values (interfaces §2): the file format and the JSON
 * bodies of the admin API share these readers. Every problem is reported with the path of the
 * offending value so that the YAML loader can turn it into a line number.
 */
import {
  isDnType,
  type AgentConfig,
  type AgentGroupConfig,
  type DnConfig,
  type DnType,
  type Options,
  type ServerConfig,
  type TlsConfig,
  DN_TYPES,
} from './config-model.js';
import { normaliseNumber } from './number-normalise.js';

/** A path inside a document: keys and list indexes. */
export type ValuePath = (string | number)[];

/** One structural problem. */
export interface ValueProblem {
  path: ValuePath;
  message: string;
}

/** Collects problems while reading a value. */
export class ProblemSink {
  readonly problems: ValueProblem[] = [];
  add(path: ValuePath, message: string): void {
    this.problems.push({ path, message });
  }
}

type Obj = Record<string, unknown>;

/** Shows any value in a message without ever throwing (objects without prototype included). */
export function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}

/** True for a plain JSON/YAML mapping. */
export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a scalar as a string (numbers and booleans from JSON are turned into strings). */
export function readScalar(v: unknown, path: ValuePath, sink: ProblemSink, what: string): string | undefined {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  sink.add(path, `${what} must be a string`);
  return undefined;
}

function checkKeys(o: Obj, allowed: readonly string[], path: ValuePath, sink: ProblemSink, where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) sink.add([...path, k], `unknown key "${k}" in ${where} (allowed: ${allowed.join(', ')})`);
  }
}

/**
 * Reads an `options` mapping: string keys, string values. `allowNull` lets a PATCH remove an
 * option by setting it to null. An empty YAML value (`options:`) is an empty mapping.
 */
export function readOptions(
  v: unknown,
  path: ValuePath,
  sink: ProblemSink,
  allowNull = false,
): Record<string, string | null> | undefined {
  if (v === undefined || v === null || v === '') return {};
  if (!isObject(v)) {
    sink.add(path, 'options must be a mapping of option name to string value');
    return undefined;
  }
  const out: Record<string, string | null> = {};
  for (const [k, raw] of Object.entries(v)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(k)) {
      sink.add([...path, k], `"${k}" is not an option name (letters, digits, - _ .)`);
      continue;
    }
    if (raw === null && allowNull) {
      out[k] = null;
      continue;
    }
    if (raw === null) {
      out[k] = '';
      continue;
    }
    const s = readScalar(raw, [...path, k], sink, `option ${k}`);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

function readOptionsStrict(v: unknown, path: ValuePath, sink: ProblemSink): Options | undefined {
  return readOptions(v, path, sink, false) as Options | undefined;
}

const LISTEN_SIP = /^(udp|tcp|tls|ws|wss):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const LISTEN_HTTP = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

function portOk(p: string): boolean {
  const n = Number(p);
  return n >= 0 && n <= 65535;
}

/** Reads the `server` section; undefined when it has any problem (all reported to `sink`). */
export function readServer(v: unknown, path: ValuePath, sink: ProblemSink): ServerConfig | undefined {
  const before = sink.problems.length;
  const server = readServerParts(v, path, sink);
  return sink.problems.length === before ? server : undefined;
}

/**
 * Reads the `server` section as far as it can: every problem goes to `sink`, and the result
 * holds what could be read (a bad listen entry is left out, a bad option too), so that the
 * checks of the rest still run. Undefined only when the section is not a mapping.
 */
export function readServerParts(v: unknown, path: ValuePath, sink: ProblemSink): ServerConfig | undefined {
  if (!isObject(v)) {
    sink.add(path, 'server must be a mapping');
    return undefined;
  }
  checkKeys(v, ['name', 'sip', 'http', 'options'], path, sink, 'server');
  const server: ServerConfig = { name: 'SIP_Server', sip: { listen: [] }, http: {}, options: {} };
  if (v.name !== undefined) {
    const n = readScalar(v.name, [...path, 'name'], sink, 'server.name');
    if (n !== undefined) {
      if (n.trim() === '') sink.add([...path, 'name'], 'server.name must not be empty');
      server.name = n;
    }
  }
  if (v.sip !== undefined && v.sip !== '') {
    if (!isObject(v.sip)) sink.add([...path, 'sip'], 'server.sip must be a mapping');
    else {
      checkKeys(v.sip, ['listen', 'tls'], [...path, 'sip'], sink, 'server.sip');
      const l = v.sip.listen;
      const lp = [...path, 'sip', 'listen'];
      const list = typeof l === 'string' ? [l] : l;
      if (list === undefined || list === '') {
        /* none */
      } else if (!Array.isArray(list)) sink.add(lp, 'server.sip.listen must be a list of transport:host:port');
      else
        list.forEach((item: unknown, i: number) => {
          const s = readScalar(item, [...lp, i], sink, 'listen entry');
          if (s === undefined) return;
          const m = LISTEN_SIP.exec(s);
          if (!m || !portOk(m[3]))
            sink.add([...lp, i], `"${s}" is not transport:host:port (transport udp, tcp, tls, ws or wss)`);
          else server.sip.listen.push(s);
        });
    }
  }
  if (v.http !== undefined && v.http !== '') {
    if (!isObject(v.http)) sink.add([...path, 'http'], 'server.http must be a mapping');
    else {
      checkKeys(v.http, ['listen', 'admin-token'], [...path, 'http'], sink, 'server.http');
      if (v.http.listen !== undefined) {
        const s = readScalar(v.http.listen, [...path, 'http', 'listen'], sink, 'server.http.listen');
        if (s !== undefined) {
          const m = LISTEN_HTTP.exec(s);
          if (!m || !portOk(m[2])) sink.add([...path, 'http', 'listen'], `"${s}" is not host:port`);
          else server.http.listen = s;
        }
      }
      if (v.http['admin-token'] !== undefined) {
        const s = readScalar(v.http['admin-token'], [...path, 'http', 'admin-token'], sink, 'admin-token');
        if (s !== undefined) {
          // "" removes a stored token: a secret left out keeps the stored one (src/config/secrets.ts).
          if (s !== '' && s.length < 8)
            sink.add([...path, 'http', 'admin-token'], 'admin-token must have at least 8 characters');
          else server.http.adminToken = s;
        }
      }
    }
  }
  const sip = isObject(v.sip) ? v.sip : {};
  const beforeTls = sink.problems.length;
  if (sip.tls !== undefined && sip.tls !== '') {
    if (!isObject(sip.tls)) sink.add([...path, 'sip', 'tls'], 'server.sip.tls must be a mapping');
    else {
      checkKeys(sip.tls, ['cert', 'key', 'ca', 'verify-peer'], [...path, 'sip', 'tls'], sink, 'server.sip.tls');
      const tls: TlsConfig = {};
      for (const k of ['cert', 'key', 'ca'] as const) {
        if (sip.tls[k] !== undefined) {
          const s = readScalar(sip.tls[k], [...path, 'sip', 'tls', k], sink, `server.sip.tls.${k}`);
          if (s !== undefined && s !== '') tls[k] = s;
        }
      }
      const vp = sip.tls['verify-peer'];
      if (vp !== undefined && vp !== '') {
        const s = readScalar(vp, [...path, 'sip', 'tls', 'verify-peer'], sink, 'server.sip.tls.verify-peer');
        if (s === 'true' || s === 'false') tls.verifyPeer = s === 'true';
        else if (s !== undefined)
          sink.add([...path, 'sip', 'tls', 'verify-peer'], `server.sip.tls.verify-peer "${s}" is not true or false`);
      }
      server.sip.tls = tls;
    }
  }
  const secure = server.sip.listen.find((l) => l.startsWith('tls:') || l.startsWith('wss:'));
  // A broken tls section is reported already; whether it would have had cert and key is unknown.
  if (secure && sink.problems.length === beforeTls && !(server.sip.tls?.cert && server.sip.tls.key)) {
    sink.add([...path, 'sip', 'listen'], `listener "${secure}" needs server.sip.tls with cert and key`);
  }
  const opts = readOptionsStrict(v.options, [...path, 'options'], sink);
  if (opts) server.options = opts;
  return server;
}

function readType(v: unknown, path: ValuePath, sink: ProblemSink): DnType | undefined {
  if (v === undefined) {
    sink.add(path, 'type is required');
    return undefined;
  }
  const s = readScalar(v, path, sink, 'type');
  if (s === undefined) return undefined;
  if (!isDnType(s)) {
    sink.add(path, `type "${s}" is not one of ${DN_TYPES.join(', ')}`);
    return undefined;
  }
  return s;
}

/** Reads a key (DN number, agent id, group name): non-empty string. */
export function readKey(v: unknown, path: ValuePath, sink: ProblemSink, what: string): string | undefined {
  if (v === undefined || v === '') {
    sink.add(path, `${what} is required`);
    return undefined;
  }
  const s = readScalar(v, path, sink, what);
  if (s === undefined) return undefined;
  if (s.trim() === '') {
    sink.add(path, `${what} must not be empty`);
    return undefined;
  }
  return s;
}

/** Reads a DN number and normalises it. */
export function readNumber(v: unknown, path: ValuePath, sink: ProblemSink, what: string): string | undefined {
  const s = readKey(v, path, sink, what);
  if (s === undefined) return undefined;
  const n = normaliseNumber(s);
  if (n === '') {
    sink.add(path, `${what} "${s}" is empty once normalised`);
    return undefined;
  }
  return n;
}

/** What could be read of a DN entry: a field is absent when it was missing or bad (reported). */
export type DnParts = Partial<DnConfig>;

/**
 * Reads one `dns` list entry (`{ number, type, options }`) as far as it can: every problem goes
 * to `sink`, and the fields that could be read are returned, so that checks that do not depend
 * on a bad field still run. Undefined only when the entry is not a mapping.
 */
export function readDnParts(v: unknown, path: ValuePath, sink: ProblemSink): DnParts | undefined {
  if (!isObject(v)) {
    sink.add(path, 'a DN must be a mapping with number, type and options');
    return undefined;
  }
  checkKeys(v, ['number', 'type', 'options'], path, sink, 'DN');
  const parts: DnParts = {};
  const number = readNumber(v.number, [...path, 'number'], sink, 'number');
  if (number !== undefined) parts.number = number;
  const type = readType(v.type, [...path, 'type'], sink);
  if (type !== undefined) parts.type = type;
  const options = readOptionsStrict(v.options, [...path, 'options'], sink);
  if (options !== undefined) parts.options = options;
  return parts;
}

/** Reads one `dns` list entry; undefined when it has any problem (all reported to `sink`). */
export function readDnEntry(v: unknown, path: ValuePath, sink: ProblemSink): DnConfig | undefined {
  const before = sink.problems.length;
  const p = readDnParts(v, path, sink);
  if (!p || sink.problems.length !== before || !p.number || !p.type || !p.options) return undefined;
  return { number: p.number, type: p.type, options: p.options };
}

/** What could be read of an agent entry (see {@link readDnParts}). */
export type AgentParts = Partial<AgentConfig>;

/**
 * Reads one `agents` list entry as far as it can (see {@link readDnParts}). `passwordOptional`:
 * a missing password is no problem (a file may leave secrets out; the store keeps its own).
 */
export function readAgentParts(
  v: unknown,
  path: ValuePath,
  sink: ProblemSink,
  passwordOptional = false,
): AgentParts | undefined {
  if (!isObject(v)) {
    sink.add(path, 'an agent must be a mapping with id, name, password, dn and options');
    return undefined;
  }
  checkKeys(v, ['id', 'name', 'password', 'dn', 'options'], path, sink, 'agent');
  const parts: AgentParts = {};
  const id = readKey(v.id, [...path, 'id'], sink, 'agent id');
  if (id !== undefined) parts.id = id;
  const name = v.name === undefined ? id : readScalar(v.name, [...path, 'name'], sink, 'name');
  if (name !== undefined) parts.name = name;
  const password =
    passwordOptional && v.password === undefined
      ? undefined
      : readKey(v.password, [...path, 'password'], sink, 'password');
  if (password !== undefined) parts.password = password;
  const dn = v.dn === undefined || v.dn === '' ? undefined : readNumber(v.dn, [...path, 'dn'], sink, 'dn');
  if (dn !== undefined) parts.dn = dn;
  const options = readOptionsStrict(v.options, [...path, 'options'], sink);
  if (options !== undefined) parts.options = options;
  return parts;
}

/** Reads one `agents` list entry; undefined when it has any problem (all reported to `sink`). */
export function readAgentEntry(v: unknown, path: ValuePath, sink: ProblemSink): AgentConfig | undefined {
  const before = sink.problems.length;
  const p = readAgentParts(v, path, sink);
  if (!p || sink.problems.length !== before || p.id === undefined || p.password === undefined || !p.options)
    return undefined;
  const a: AgentConfig = { id: p.id, name: p.name ?? p.id, password: p.password, options: p.options };
  if (p.dn !== undefined) a.dn = p.dn;
  return a;
}

/** What could be read of an agent-group entry (see {@link readDnParts}). */
export type GroupParts = Partial<AgentGroupConfig>;

/** Reads one `agent-groups` list entry as far as it can (see {@link readDnParts}). */
export function readGroupParts(v: unknown, path: ValuePath, sink: ProblemSink): GroupParts | undefined {
  if (!isObject(v)) {
    sink.add(path, 'an agent group must be a mapping with name and agents');
    return undefined;
  }
  checkKeys(v, ['name', 'agents'], path, sink, 'agent group');
  const parts: GroupParts = {};
  const name = readKey(v.name, [...path, 'name'], sink, 'group name');
  if (name !== undefined) parts.name = name;
  const agents = readAgentList(v.agents, [...path, 'agents'], sink);
  if (agents !== undefined) parts.agents = agents;
  return parts;
}

/** Reads one `agent-groups` list entry; undefined when it has any problem (all reported to `sink`). */
export function readGroupEntry(v: unknown, path: ValuePath, sink: ProblemSink): AgentGroupConfig | undefined {
  const before = sink.problems.length;
  const p = readGroupParts(v, path, sink);
  if (!p || sink.problems.length !== before || p.name === undefined || !p.agents) return undefined;
  return { name: p.name, agents: p.agents };
}

/** Reads a list of agent ids (no duplicates). */
export function readAgentList(v: unknown, path: ValuePath, sink: ProblemSink): string[] | undefined {
  if (v === undefined || v === '' || v === null) return [];
  if (!Array.isArray(v)) {
    sink.add(path, 'agents must be a list of agent ids');
    return undefined;
  }
  const out: string[] = [];
  const seen = new Set<string>();
  v.forEach((item: unknown, i: number) => {
    const s = readKey(item, [...path, i], sink, 'agent id');
    if (s === undefined) return;
    if (seen.has(s)) sink.add([...path, i], `agent "${s}" is listed twice`);
    seen.add(s);
    out.push(s);
  });
  return out;
}
