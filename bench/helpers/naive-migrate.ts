/**
 * The naive migrator the migration benchmark compares `sipserver migrate apply` with: the same
 * plan (`sipserver-migration-plan/1`, docs/migration.md) applied the way a person with a REST
 * client would, one admin-API request per object (`PUT`/`PATCH`/`DELETE /api/dns/{n}`,
 * `/api/agents/{id}`), sequentially, no batching, no throttling and no validation. An office DN
 * is deleted only when nobody was logged in on it when the run started (a logged-in agent's DN
 * stays, as `apply` does).
 */

/** One change of a plan (the change-set change objects of docs/admin-api.md). */
export interface PlanChange {
  op: 'put' | 'patch' | 'delete';
  kind: 'dn' | 'agent' | 'agent-group' | 'server';
  key: string;
  value?: unknown;
}

/** The parts of a migration plan the naive migrator reads. */
export interface NaivePlan {
  softswitchChange: PlanChange | null;
  agents: Array<{ agentId: string; changes: PlanChange[]; removeOfficeDn: string | null }>;
}

/** What {@link naiveMigrate} did. */
export interface NaiveResult {
  requests: number;
  /** Requests answered with a status other than 200. */
  failures: string[];
  ms: number;
}

const PATHS: Record<PlanChange['kind'], string> = {
  dn: 'dns',
  agent: 'agents',
  'agent-group': 'agent-groups',
  server: 'server',
};

/** Apply `plan` to the server at `url` one request per object. */
export async function naiveMigrate(url: string, token: string, plan: NaivePlan): Promise<NaiveResult> {
  const t0 = performance.now();
  const auth = { authorization: `Bearer ${token}` };
  const failures: string[] = [];
  let requests = 0;
  const send = async (method: string, path: string, body?: unknown): Promise<void> => {
    requests++;
    const res = await fetch(`${url}/api/${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== 200) failures.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  };
  const change = (c: PlanChange): Promise<void> => {
    const method = c.op === 'put' ? 'PUT' : c.op === 'patch' ? 'PATCH' : 'DELETE';
    return send(method, `${PATHS[c.kind]}/${encodeURIComponent(c.key)}`, c.op === 'delete' ? undefined : c.value);
  };
  const statusRes = await fetch(`${url}/api/status?sections=agents&agentState=logged-in`, { headers: auth });
  const status = (await statusRes.json()) as { agents: Array<{ dn: string }> };
  const inUse = new Set(status.agents.map((a) => a.dn));
  if (plan.softswitchChange) await change(plan.softswitchChange);
  for (const a of plan.agents) {
    for (const c of a.changes) await change(c);
    if (a.removeOfficeDn !== null && !inUse.has(a.removeOfficeDn))
      await change({ op: 'delete', kind: 'dn', key: a.removeOfficeDn });
  }
  return { requests, failures, ms: performance.now() - t0 };
}
