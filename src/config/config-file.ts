/**
 * The YAML configuration file (interfaces §2): loading with every problem reported as
 * `FILE:LINE: message`, and export back to the same format.
 */
import { readFileSync } from 'node:fs';
import { Document, LineCounter, isNode, parseDocument, stringify } from 'yaml';
import type { ConfigInput, DnConfig, AgentInput, ServerConfig } from './config-model.js';
import { defaultServerConfig } from './config-model.js';
import type { ChangeKind, ChangeRequest } from './change-set.js';
import { ConfigState } from './config-state.js';
import { checkOptions } from './change-validation.js';
import type { OptionTarget } from './option-table.js';
import {
  ProblemSink,
  isObject,
  readAgentParts,
  readDnParts,
  readGroupParts,
  readKey,
  readNumber,
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

/**
 * What loading a file gave: the model when there were no errors. Warnings never block. Secrets
 * may be absent from the model (an export without secrets): reconciling keeps the stored ones.
 */
export interface LoadResult {
  model?: ConfigInput;
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
  if (js === null || js === undefined || js === '')
    return { model: { server: defaultServerConfig(), dns: [], agents: [], agentGroups: [] }, errors, warnings };
  if (!isObject(js)) {
    errors.push({
      file,
      line: lineOf([]),
      message: 'the configuration must be a mapping with server, dns, agents and agent-groups',
    });
    return { errors, warnings };
  }
  const sink = new ProblemSink();
  for (const k of Object.keys(js))
    if (!TOP_KEYS.includes(k)) sink.add([k], `unknown key "${k}" (allowed: ${TOP_KEYS.join(', ')})`);

  // Every object is one `put` of a change-set that the store's planner validates on an empty
  // state: the same rules as the admin API, and every problem in one pass (the planner reads an
  // object with problems as far as it can, checks what does not depend on the broken field, and
  // lets the other objects refer to it). Here: only the file's own structure, the keys and the
  // duplicates (with the line of the first definition).
  const changes: ChangeRequest[] = [];
  const paths: ValuePath[] = [];
  const put = (kind: ChangeKind, key: string, value: unknown, path: ValuePath): void => {
    changes.push({ op: 'put', kind, key, value });
    paths.push(path);
  };
  if (js.server === undefined) put('server', 'server', serverToDocument(defaultServerConfig()), ['server']);
  else if (!isObject(js.server)) sink.add(['server'], 'server must be a mapping');
  else put('server', 'server', js.server, ['server']);

  const keys = { dn: new Set<string>(), agent: new Set<string>(), 'agent-group': new Set<string>() };
  /** Checks of entries that have no usable key, run once every key is known; what they found. */
  const keyless: Array<() => void> = [];
  const found: Array<[ValuePath, string, boolean]> = [];
  for (const list of LISTS) {
    const v = js[list.key];
    if (v === undefined || v === '' || v === null) continue;
    if (!Array.isArray(v)) {
      sink.add([list.key], `${list.key} must be a list`);
      continue;
    }
    const first = new Map<string, number>();
    v.forEach((entry: unknown, i: number) => {
      const path: ValuePath = [list.key, i];
      const key = isObject(entry)
        ? list.readKey(entry[list.field], [...path, list.field], new ProblemSink())
        : undefined;
      if (key === undefined) {
        keyless.push(() => checkKeyless(list.kind, entry, path, keys, sink, (p, m, w) => found.push([p, m, w])));
        return;
      }
      keys[list.kind].add(key);
      const prev = first.get(key);
      if (prev !== undefined) {
        const raw = show((entry as Record<string, unknown>)[list.field]);
        sink.add(
          [...path, list.field],
          raw !== key
            ? `${list.what} "${raw}" normalises to ${key}, already defined at line ${lineOf([list.key, prev])}`
            : `${list.what} ${key} is already defined at line ${lineOf([list.key, prev])}`,
        );
      } else first.set(key, i);
      // A duplicate is planned too: the planner checks its own content (and reports it as a
      // duplicate put, which the message above replaces).
      put(list.kind, key, entry, path);
    });
  }
  for (const check of keyless) check();
  for (const p of sink.problems) add(errors, p.path, p.message);
  for (const [path, message, warning] of found) add(warning ? warnings : errors, path, message);

  // A file may leave secrets out (an export without secrets): the store keeps its own then.
  const plan = new ConfigState().plan(changes, { secretsMayBeOmitted: true });
  for (const e of plan.errors)
    if (e.duplicateOf === undefined) add(errors, [...paths[e.index], ...(e.path ?? [])], e.message);
  for (const w of plan.warnings) add(warnings, [...paths[w.index], ...(w.path ?? [])], w.message);
  // Deterministic order: by line, then as found (structure before cross-object checks).
  errors.sort((a, b) => a.line - b.line);
  warnings.sort((a, b) => a.line - b.line);
  if (errors.length) return { errors, warnings };
  const model: ConfigInput = { server: defaultServerConfig(), dns: [], agents: [], agentGroups: [] };
  for (const c of plan.applied) {
    if (c.kind === 'server' && c.new) model.server = c.new;
    else if (c.kind === 'dn' && c.new) model.dns.push(c.new);
    else if (c.kind === 'agent' && c.new) model.agents.push(c.new);
    else if (c.kind === 'agent-group' && c.new) model.agentGroups.push(c.new);
  }
  return { model, errors, warnings };
}

/** The three lists of the file: their key field and how it is read. */
const LISTS: ReadonlyArray<{
  key: string;
  kind: 'dn' | 'agent' | 'agent-group';
  field: string;
  what: string;
  readKey: (v: unknown, path: ValuePath, sink: ProblemSink) => string | undefined;
}> = [
  { key: 'dns', kind: 'dn', field: 'number', what: 'DN', readKey: (v, p, s) => readNumber(v, p, s, 'number') },
  { key: 'agents', kind: 'agent', field: 'id', what: 'agent', readKey: (v, p, s) => readKey(v, p, s, 'agent id') },
  {
    key: 'agent-groups',
    kind: 'agent-group',
    field: 'name',
    what: 'agent group',
    readKey: (v, p, s) => readKey(v, p, s, 'group name'),
  },
];

/**
 * An entry without a usable key (or no mapping at all) cannot be planned, but the checks that
 * need no key still run: its structure, its option values, and its references to the other
 * objects of the file (`keys`: every key found, broken objects included).
 */
function checkKeyless(
  kind: 'dn' | 'agent' | 'agent-group',
  entry: unknown,
  path: ValuePath,
  keys: Record<'dn' | 'agent' | 'agent-group', ReadonlySet<string>>,
  sink: ProblemSink,
  report: (path: ValuePath, message: string, warning: boolean) => void,
): void {
  const options = (o: Record<string, string> | undefined, target: OptionTarget | undefined, what: string): void => {
    if (!o) return;
    const r = checkOptions(o, target, what);
    for (const e of r.errors) report([...path, ...e.path], e.message, false);
    for (const w of r.warnings) report([...path, ...w.path], w.message, true);
  };
  if (kind === 'dn') {
    const p = readDnParts(entry, path, sink);
    options(p?.options, p?.type, 'DN (no number)');
    const g = p?.type === 'routing-point' ? p.options?.['agent-group'] : undefined;
    if (g && !keys['agent-group'].has(g))
      report([...path, 'options', 'agent-group'], `DN (no number): agent-group ${g} does not exist`, false);
  } else if (kind === 'agent') {
    const p = readAgentParts(entry, path, sink);
    options(p?.options, 'agent', 'agent (no id)');
    if (p?.dn !== undefined && !keys.dn.has(p.dn))
      report([...path, 'dn'], `agent (no id): DN ${p.dn} does not exist`, false);
  } else {
    const p = readGroupParts(entry, path, sink);
    p?.agents?.forEach((id, j) => {
      if (!keys.agent.has(id))
        report([...path, 'agents', j], `agent group (no name): agent ${id} does not exist`, false);
    });
  }
}

/** The server section in file form (`admin-token`, `verify-peer` spelled as in the file). */
export function serverToDocument(s: ServerConfig): Record<string, unknown> {
  const sip: Record<string, unknown> = { listen: [...s.sip.listen] };
  const t = s.sip.tls;
  if (t) {
    const tls: Record<string, string> = {};
    if (t.cert !== undefined) tls.cert = t.cert;
    if (t.key !== undefined) tls.key = t.key;
    if (t.ca !== undefined) tls.ca = t.ca;
    if (t.verifyPeer !== undefined) tls['verify-peer'] = String(t.verifyPeer);
    if (Object.keys(tls).length) sip.tls = tls;
  }
  const out: Record<string, unknown> = { name: s.name, sip };
  const http: Record<string, string> = {};
  if (s.http.listen !== undefined) http.listen = s.http.listen;
  if (s.http.adminToken !== undefined) http['admin-token'] = s.http.adminToken;
  if (Object.keys(http).length) out.http = http;
  if (Object.keys(s.options).length) out.options = { ...s.options };
  return out;
}

/** An agent in file form (id, name, password when it has one and `withPassword`, dn, options). */
export function agentToDocument(a: AgentInput, withPassword = true): Record<string, unknown> {
  const out: Record<string, unknown> = { id: a.id, name: a.name };
  if (withPassword && a.password !== undefined) out.password = a.password;
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

/** The whole model in file form (plain object), with the secrets it holds (see `redactModel`). */
export function modelToDocument(m: ConfigInput): Record<string, unknown> {
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
export function exportConfigYaml(m: ConfigInput, header?: string): string {
  const doc = new Document(modelToDocument(m));
  const body = doc.toString({ lineWidth: 0 });
  return (header ? header.replace(/^/gm, '# ') + '\n' : '') + body;
}

/** Re-export of `yaml.stringify` for callers that print fragments in the file style. */
export const toYaml = (v: unknown): string => stringify(v, { lineWidth: 0 });
