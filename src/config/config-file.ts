/**
 * The YAML configuration file (interfaces §2): loading with every problem reported as
 * `FILE:LINE: message`, and export back to the same format.
 */
import { readFileSync } from 'node:fs';
import { Document, LineCounter, isNode, parseDocument, stringify } from 'yaml';
import type { ConfigModel, DnConfig, AgentConfig, AgentGroupConfig, ServerConfig } from './config-model.js';
import { defaultServerConfig } from './config-model.js';
import type { ChangeRequest } from './change-set.js';
import { ConfigState } from './config-state.js';
import {
  ProblemSink,
  isObject,
  readAgentEntry,
  readDnEntry,
  readGroupEntry,
  readServer,
  show,
  type ValuePath,
} from './config-values.js';

/** One problem in a configuration file. */
export interface FileProblem {
  file: string;
  /** 1-based line; 0 when unknown. */
  line: number;
  message: string;
}

/** What loading a file gave: the model when there were no errors. Warnings never block. */
export interface LoadResult {
  model?: ConfigModel;
  errors: FileProblem[];
  warnings: FileProblem[];
}

/** `FILE:LINE: message` (interfaces §1). */
export function formatProblem(p: FileProblem, severity: 'error' | 'warning' = 'error'): string {
  return `${p.file}:${p.line}: ${severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

const TOP_KEYS = ['server', 'dns', 'agents', 'agent-groups'];

/** Reads and validates a configuration file. */
export function loadConfigFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [{ file, line: 0, message: `cannot read: ${(e as Error).message}` }], warnings: [] };
  }
  return loadConfigText(text, file);
}

/**
 * Validates configuration text. Every scalar is read as a string (YAML failsafe schema), so
 * `oos-check: 10` and `number: 0123` keep their text exactly.
 */
export function loadConfigText(text: string, file = '<config>'): LoadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, schema: 'failsafe', prettyErrors: false, uniqueKeys: true });
  const errors: FileProblem[] = [];
  const warnings: FileProblem[] = [];
  for (const e of doc.errors) errors.push({ file, line: lc.linePos(e.pos[0]).line, message: e.message.split('\n')[0] });
  if (errors.length) return { errors, warnings };

  const lineOf = (path: ValuePath): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
    }
    return 0;
  };
  const keyLineOf = (path: ValuePath): number => {
    // For an unknown key, point at the key itself.
    const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
    if (parent && typeof parent === 'object' && 'items' in parent && Array.isArray(parent.items)) {
      for (const item of parent.items as unknown[]) {
        if (item && typeof item === 'object' && 'key' in item) {
          const k = (item as { key: unknown }).key;
          if (isNode(k) && k.range && String((k as { value?: unknown }).value) === String(path[path.length - 1])) {
            return lc.linePos(k.range[0]).line;
          }
        }
      }
    }
    return lineOf(path);
  };
  const add = (list: FileProblem[], path: ValuePath, message: string): void => {
    list.push({ file, line: message.startsWith('unknown key') ? keyLineOf(path) : lineOf(path), message });
  };

  let js: unknown;
  try {
    js = doc.toJS();
  } catch (e) {
    return { errors: [{ file, line: lineOf([]), message: (e as Error).message.split('\n')[0] }], warnings };
  }
  if (js === null || js === undefined || js === '') return { model: { server: defaultServerConfig(), dns: [], agents: [], agentGroups: [] }, errors, warnings };
  if (!isObject(js)) {
    errors.push({ file, line: lineOf([]), message: 'the configuration must be a mapping with server, dns, agents and agent-groups' });
    return { errors, warnings };
  }
  const sink = new ProblemSink();
  for (const k of Object.keys(js)) if (!TOP_KEYS.includes(k)) sink.add([k], `unknown key "${k}" (allowed: ${TOP_KEYS.join(', ')})`);
  const server: ServerConfig | undefined = js.server === undefined ? defaultServerConfig() : readServer(js.server, ['server'], sink);

  const readList = <T>(key: string, reader: (v: unknown, p: ValuePath, s: ProblemSink) => T | undefined): { item: T; index: number }[] => {
    const v = js[key];
    if (v === undefined || v === '' || v === null) return [];
    if (!Array.isArray(v)) {
      sink.add([key], `${key} must be a list`);
      return [];
    }
    const out: { item: T; index: number }[] = [];
    v.forEach((e: unknown, i: number) => {
      const item = reader(e, [key, i], sink);
      if (item !== undefined) out.push({ item, index: i });
    });
    return out;
  };
  const dns = readList<DnConfig>('dns', readDnEntry);
  const agents = readList<AgentConfig>('agents', readAgentEntry);
  const groups = readList<AgentGroupConfig>('agent-groups', readGroupEntry);

  const dup = <T>(list: { item: T; index: number }[], key: string, keyOf: (t: T) => string, field: string, what: string): void => {
    const first = new Map<string, number>();
    for (const { item, index } of list) {
      const k = keyOf(item);
      const prev = first.get(k);
      if (prev !== undefined) {
        const raw = show((js[key] as Record<string, unknown>[])[index][field]);
        sink.add(
          [key, index, field],
          raw !== k
            ? `${what} "${raw}" normalises to ${k}, already defined at line ${lineOf([key, prev])}`
            : `${what} ${k} is already defined at line ${lineOf([key, prev])}`,
        );
      } else first.set(k, index);
    }
  };
  dup(dns, 'dns', (d) => d.number, 'number', 'DN');
  dup(agents, 'agents', (a) => a.id, 'id', 'agent');
  dup(groups, 'agent-groups', (g) => g.name, 'name', 'agent group');

  for (const p of sink.problems) add(errors, p.path, p.message);

  // Cross-object validation: the same planner the store uses, on an empty state.
  const changes: ChangeRequest[] = [];
  const paths: ValuePath[] = [];
  if (server) {
    changes.push({ op: 'put', kind: 'server', key: 'server', value: serverToDocument(server) });
    paths.push(['server']);
  }
  for (const { item, index } of dns) {
    changes.push({ op: 'put', kind: 'dn', key: item.number, value: { type: item.type, options: item.options } });
    paths.push(['dns', index]);
  }
  for (const { item, index } of agents) {
    changes.push({ op: 'put', kind: 'agent', key: item.id, value: agentToDocument(item) });
    paths.push(['agents', index]);
  }
  for (const { item, index } of groups) {
    changes.push({ op: 'put', kind: 'agent-group', key: item.name, value: { agents: item.agents } });
    paths.push(['agent-groups', index]);
  }
  // Structural problems are reported already; the planner still runs so that every
  // cross-object problem is listed in the same pass.
  const plan = new ConfigState().plan(changes);
  for (const e of plan.errors) add(errors, [...paths[e.index], ...(e.path ?? [])], e.message);
  for (const w of plan.warnings) add(warnings, [...paths[w.index], ...(w.path ?? [])], w.message);
  errors.sort((a, b) => a.line - b.line);
  warnings.sort((a, b) => a.line - b.line);
  if (errors.length || !server) return { errors, warnings };
  return {
    model: { server, dns: dns.map((d) => d.item), agents: agents.map((a) => a.item), agentGroups: groups.map((g) => g.item) },
    errors,
    warnings,
  };
}

/** The server section in file form (`admin-token` spelled as in the file). */
export function serverToDocument(s: ServerConfig): Record<string, unknown> {
  const sip: Record<string, unknown> = { listen: [...s.sip.listen] };
  if (s.sip.tls && (s.sip.tls.cert || s.sip.tls.key)) sip.tls = { ...s.sip.tls };
  const out: Record<string, unknown> = { name: s.name, sip };
  const http: Record<string, string> = {};
  if (s.http.listen !== undefined) http.listen = s.http.listen;
  if (s.http.adminToken !== undefined) http['admin-token'] = s.http.adminToken;
  if (Object.keys(http).length) out.http = http;
  if (Object.keys(s.options).length) out.options = { ...s.options };
  return out;
}

/** An agent in file form (id, name, password, dn, options). */
export function agentToDocument(a: AgentConfig, withPassword = true): Record<string, unknown> {
  const out: Record<string, unknown> = { id: a.id, name: a.name };
  if (withPassword) out.password = a.password;
  if (a.dn !== undefined) out.dn = a.dn;
  if (Object.keys(a.options).length) out.options = { ...a.options };
  return out;
}

/** A DN in file form. */
export function dnToDocument(d: DnConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { number: d.number, type: d.type };
  if (Object.keys(d.options).length) out.options = { ...d.options };
  return out;
}

/** The whole model in file form (plain object). */
export function modelToDocument(m: ConfigModel): Record<string, unknown> {
  return {
    server: serverToDocument(m.server),
    dns: m.dns.map(dnToDocument),
    agents: m.agents.map((a) => agentToDocument(a)),
    'agent-groups': m.agentGroups.map((g) => ({ name: g.name, agents: [...g.agents] })),
  };
}

/**
 * The model as YAML in the file format (interfaces §1 `config export`); loading it gives the
 * same model. Numbers are written normalised and every scalar is quoted where YAML would read
 * it as something other than a string.
 */
export function exportConfigYaml(m: ConfigModel, header?: string): string {
  const doc = new Document(modelToDocument(m));
  const body = doc.toString({ lineWidth: 0 });
  return (header ? header.replace(/^/gm, '# ') + '\n' : '') + body;
}

/** Re-export of `yaml.stringify` for callers that print fragments in the file style. */
export const toYaml = (v: unknown): string => stringify(v, { lineWidth: 0 });
