/**
 * Difference between two configurations as the change-set that turns one into the other
 * (interfaces §1: `start --config FILE` reconciles the store to FILE; `config diff`).
 */
import type { ConfigInput } from './config-model.js';
import type { ChangeRequest } from './change-set.js';
import { agentToDocument, serverToDocument } from './config-file.js';
import { redactModel, withStoredSecrets } from './secrets.js';

/** JSON with object keys sorted, so that option order never counts as a difference. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Options of {@link diffModels}. */
export interface DiffOptions {
  /**
   * Compare without secrets on either side: `from` was read through the admin API, which never
   * returns them (`config diff --server`).
   */
  ignoreSecrets?: boolean;
}

/**
 * The changes that turn `from` into `to`: puts for new or different objects, deletes for
 * objects `to` does not have. Unchanged objects give no change. A secret `to` leaves out is the
 * one `from` has (secrets are write-only: docs/admin-api.md "Secrets"), so an export without
 * secrets reconciles to no change.
 */
export function diffModels(source: ConfigInput, target: ConfigInput, options: DiffOptions = {}): ChangeRequest[] {
  const from = options.ignoreSecrets ? redactModel(source) : source;
  const to = options.ignoreSecrets ? redactModel(target) : withStoredSecrets(source, target);
  const out: ChangeRequest[] = [];
  const toServer = serverToDocument(to.server);
  if (canonicalJson(serverToDocument(from.server)) !== canonicalJson(toServer)) {
    out.push({ op: 'put', kind: 'server', key: 'server', value: toServer });
  }
  const fromDns = new Map(from.dns.map((d) => [d.number, d]));
  const toDnKeys = new Set<string>();
  for (const d of to.dns) {
    toDnKeys.add(d.number);
    const f = fromDns.get(d.number);
    if (!f || f.type !== d.type || canonicalJson(f.options) !== canonicalJson(d.options)) {
      out.push({ op: 'put', kind: 'dn', key: d.number, value: { type: d.type, options: { ...d.options } } });
    }
  }
  for (const d of from.dns) if (!toDnKeys.has(d.number)) out.push({ op: 'delete', kind: 'dn', key: d.number });

  const fromAgents = new Map(from.agents.map((a) => [a.id, a]));
  const toAgentKeys = new Set<string>();
  for (const a of to.agents) {
    toAgentKeys.add(a.id);
    const f = fromAgents.get(a.id);
    const doc = agentToDocument(a);
    if (!f || canonicalJson(agentToDocument(f)) !== canonicalJson(doc)) {
      const { id: _id, ...value } = doc;
      out.push({ op: 'put', kind: 'agent', key: a.id, value });
    }
  }
  for (const a of from.agents) if (!toAgentKeys.has(a.id)) out.push({ op: 'delete', kind: 'agent', key: a.id });

  const fromGroups = new Map(from.agentGroups.map((g) => [g.name, g]));
  const toGroupKeys = new Set<string>();
  for (const g of to.agentGroups) {
    toGroupKeys.add(g.name);
    const f = fromGroups.get(g.name);
    if (!f || canonicalJson(f.agents) !== canonicalJson(g.agents)) {
      out.push({ op: 'put', kind: 'agent-group', key: g.name, value: { agents: [...g.agents] } });
    }
  }
  for (const g of from.agentGroups)
    if (!toGroupKeys.has(g.name)) out.push({ op: 'delete', kind: 'agent-group', key: g.name });
  return out;
}

/** One line per change for people: `+ dn 7777 (extension)`, `- agent joe`, `~ dn Softswitch: prefix "77" → "+1"`. */
export function describeChange(c: ChangeRequest, from: ConfigInput): string {
  if (c.op === 'delete') return `- ${c.kind} ${c.key}`;
  const v = (c.value ?? {}) as Record<string, unknown>;
  const find = (): Record<string, unknown> | undefined => {
    switch (c.kind) {
      case 'dn': {
        const d = from.dns.find((x) => x.number === c.key);
        return d ? { type: d.type, options: d.options } : undefined;
      }
      case 'agent': {
        const a = from.agents.find((x) => x.id === c.key);
        if (!a) return undefined;
        const { id: _id, ...rest } = agentToDocument(a);
        return rest;
      }
      case 'agent-group': {
        const g = from.agentGroups.find((x) => x.name === c.key);
        return g ? { agents: g.agents } : undefined;
      }
      case 'server':
        return serverToDocument(from.server);
    }
  };
  const old = find();
  if (!old) {
    const t = c.kind === 'dn' ? ` (${typeof v.type === 'string' ? v.type : '?'})` : '';
    return `+ ${c.kind} ${c.key}${t}`;
  }
  const diffs: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
    if (isObj(a) || isObj(b)) {
      const ao = isObj(a) ? a : {};
      const bo = isObj(b) ? b : {};
      for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) walk(ao[k], bo[k], path ? `${path}.${k}` : k);
      return;
    }
    if (canonicalJson(a) === canonicalJson(b)) return;
    const show = (x: unknown): string =>
      x === undefined ? '(none)' : /password|admin-token/.test(path) ? '***' : JSON.stringify(x);
    diffs.push(`${path} ${show(a)} → ${show(b)}`);
  };
  walk(old, v, '');
  return `~ ${c.kind === 'server' ? 'server' : `${c.kind} ${c.key}`}: ${diffs.join(', ')}`;
}
