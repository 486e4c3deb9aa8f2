import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { loadConfigText } from '../../src/config/config-file.js';
import type { CommittedChangeSet } from '../../src/config/change-set.js';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import type { ServerStatus } from '../../src/api/status.js';
import { resolveAdminToken } from '../../src/api/admin/admin-token.js';
import { examplesDir } from '../helpers/paths.js';

const TOKEN = 'test-admin-token-123';
let dir: string;
let store: ConfigStore;
let server: HttpServer;
let url: string;
let seen: CommittedChangeSet[];

async function start(): Promise<void> {
  store = openStore(dir);
  seen = [];
  store.subscribe((cs) => seen.push(cs));
  server = await createHttpServer({ store, token: TOKEN });
  url = (await server.listen('127.0.0.1:0')).url;
}
async function stop(): Promise<void> {
  await server.close();
  store.close();
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field in the assertions
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, json };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-api-'));
  const s = openStore(dir);
  s.reconcile(loadConfigText(readFileSync(join(examplesDir, 'office.yaml'), 'utf8')).model!);
  s.close();
  await start();
});
afterEach(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin API (interfaces §5)', () => {
  it('answers 401 without the token, on read and write endpoints alike', async () => {
    for (const [m, p] of [
      ['GET', '/api/dns'],
      ['GET', '/api/dns/8888'],
      ['PUT', '/api/dns/1'],
      ['POST', '/api/config/change-sets'],
      ['GET', '/api/config/changes?since=0'],
      ['GET', '/api/status'],
      ['GET', '/api/status?sections=load'],
      ['POST', '/api/dns/status'],
    ]) {
      expect((await call(m, p, m === 'GET' ? undefined : {}, null)).status, `${m} ${p}`).toBe(401);
      expect((await call(m, p, m === 'GET' ? undefined : {}, 'wrong-token')).status).toBe(401);
    }
  });

  it('a DN change through the API is visible, in the feed, survives a restart, and a subscriber sees it once', async () => {
    const put = await call('PUT', `/api/dns/${encodeURIComponent('+1 555 123 1111')}`, {
      type: 'extension',
      options: {},
    });
    expect(put).toEqual({ status: 200, json: { number: '+15551231111', type: 'extension', options: {} } });
    const patch = await call('PATCH', '/api/dns/Softswitch', { options: { prefix: '77,+1', 'oos-check': null } });
    expect(patch.status).toBe(200);
    expect(patch.json.options).toEqual({
      contact: '127.0.0.1:5081',
      'service-type': 'softswitch',
      prefix: '77,+1',
      'dual-dialog-enabled': 'false',
      'make-call-rfc3725-flow': '1',
      'oos-force': '2',
    });
    expect((await call('GET', '/api/dns/%2B15551231111')).json).toEqual({
      number: '+15551231111',
      type: 'extension',
      options: {},
    });
    expect((await call('GET', `/api/dns/${encodeURIComponent('+1-555-123-1111')}`)).status).toBe(200);
    const feed = await call('GET', '/api/config/changes?since=1');
    expect(feed.json.version).toBe(3);
    expect(
      feed.json.changeSets.map((c: CommittedChangeSet) => [c.version, c.changes.map((x) => `${x.op} ${x.key}`)]),
    ).toEqual([
      [2, ['put +15551231111']],
      [3, ['patch Softswitch']],
    ]);
    expect(seen.map((c) => c.version)).toEqual([2, 3]);
    // effective options: the DN behind the softswitch now inherits
    const eff = await call('GET', '/api/dns/%2B15551231111/effective-options');
    expect(eff.json.options['dual-dialog-enabled']).toEqual({
      value: 'false',
      source: 'softswitch',
      via: 'Softswitch',
    });

    await stop();
    await start();
    expect((await call('GET', '/api/dns/%2B15551231111')).status).toBe(200);
    expect((await call('GET', '/api/config/changes?since=2')).json.changeSets).toHaveLength(1);
    expect(seen).toEqual([]); // nothing is re-delivered after a restart
  });

  it('lists with limit and offset', async () => {
    const r = await call('GET', '/api/dns?limit=2&offset=1');
    expect(r.json).toEqual({
      items: [{ number: '7777', type: 'extension', options: {} }, expect.objectContaining({ number: 'Softswitch' })],
      total: 4,
    });
    expect((await call('GET', '/api/dns?limit=&offset=')).json.items).toHaveLength(4);
    expect((await call('GET', '/api/dns?limit=0')).status).toBe(422);
    expect((await call('GET', '/api/dns?limit=1.5')).status).toBe(422);
    expect((await call('GET', '/api/dns?offset=-1')).status).toBe(422);
    expect((await call('GET', '/api/agent-groups')).json).toEqual({
      items: [{ name: 'Support', agents: ['joe', 'jay'] }],
      total: 1,
    });
  });

  it('never returns an agent password', async () => {
    expect((await call('GET', '/api/agents/joe')).json).toEqual({ id: 'joe', name: 'Joe', dn: '8888' });
    const list = await call('GET', '/api/agents');
    expect(JSON.stringify(list.json)).not.toMatch(/joe-secret|jay-secret/);
    const put = await call('PUT', '/api/agents/ann', {
      name: 'Ann',
      password: 'ann-secret',
      dn: '7777',
      options: { 'agent-phone': '+1 555 000 1234' },
    });
    expect(put).toEqual({
      status: 200,
      json: { id: 'ann', name: 'Ann', dn: '7777', options: { 'agent-phone': '+1 555 000 1234' } },
    });
    const feed = await call('GET', '/api/config/changes?since=0');
    expect(JSON.stringify(feed.json)).not.toMatch(/joe-secret|jay-secret|ann-secret/);
    expect(store.getAgent('ann')!.password).toBe('ann-secret');
  });

  it('404 for unknown objects', async () => {
    expect((await call('GET', '/api/dns/9999')).status).toBe(404);
    expect((await call('PATCH', '/api/dns/9999', { options: {} })).status).toBe(404);
    expect((await call('DELETE', '/api/dns/9999')).status).toBe(404);
    expect((await call('GET', '/api/agents/nobody')).status).toBe(404);
    expect((await call('DELETE', '/api/agent-groups/Nobody')).status).toBe(404);
    expect((await call('GET', '/api/dns/9999/status')).status).toBe(404);
  });

  it('422 with every problem for invalid bodies, never 500', async () => {
    expect(await call('PUT', '/api/dns/1', { type: 'phone' })).toEqual({
      status: 422,
      json: {
        errors: [
          {
            index: 0,
            message:
              'type "phone" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
          },
        ],
      },
    });
    expect(await call('PUT', '/api/dns/1', { type: 'extension', options: { 'oos-check': 'often' } })).toEqual({
      status: 422,
      json: { errors: [{ index: 0, message: 'DN 1: option oos-check: "often" is not an integer from 0 to 86400' }] },
    });
    expect((await call('PUT', '/api/dns/1', [])).status).toBe(422);
    expect((await call('PUT', '/api/dns/1')).status).toBe(422);
    expect((await call('PUT', '/api/dns/1', '{not json')).status).toBe(400);
    expect(await call('DELETE', '/api/dns/8888')).toEqual({
      status: 422,
      json: { errors: [{ index: 0, message: 'DN 8888 is the DN of agent joe; change or delete the agent too' }] },
    });
    expect((await call('PATCH', '/api/dns/Softswitch', { options: { contact: '' } })).json).toEqual({
      errors: [{ index: 0, message: 'DN Softswitch: a softswitch needs a contact (host[:port] or SIP URI)' }],
    });
    expect((await call('PUT', '/api/agents/bob', { name: 'Bob', password: 'x', dn: '1234' })).json).toEqual({
      errors: [{ index: 0, message: 'agent bob: DN 1234 does not exist' }],
    });
    expect((await call('PATCH', '/api/agent-groups/Support', { agents: ['joe', 'bob'] })).json).toEqual({
      errors: [{ index: 0, message: 'agent group Support: agent bob does not exist' }],
    });
    expect((await call('PATCH', '/api/dns/5000', { options: { 'agent-group': 'Sales' } })).json).toEqual({
      errors: [{ index: 0, message: 'DN 5000: agent-group Sales does not exist' }],
    });
    for (const body of [
      'null',
      '"x"',
      '1',
      {},
      { changes: 'x' },
      { changes: [], extra: 1 },
      { changes: [null, 1, 'x'] },
    ]) {
      const r = await call('POST', '/api/config/change-sets', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect(store.version).toBe(1);
  });

  it('drops __proto__ keys of a JSON body, written plainly or with \\u escapes', async () => {
    for (const [n, key] of [
      ['6001', '__proto__'],
      ['6002', '\\u005f_proto__'],
    ] as const) {
      const body = `{"type":"extension","options":{"${key}":{"polluted":"yes"},"oos-check":"5"}}`;
      expect((await call('PUT', `/api/dns/${n}`, body)).json).toEqual({
        number: n,
        type: 'extension',
        options: { 'oos-check': '5' },
      });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a change-set with one bad change among 1,000 is refused whole, with every problem listed', async () => {
    const changes: unknown[] = [];
    for (let i = 0; i < 1000; i++)
      changes.push({
        op: 'put',
        kind: 'dn',
        key: `+1 555 7${String(i).padStart(6, '0')}`,
        value: { type: 'extension' },
      });
    changes[10] = {
      op: 'put',
      kind: 'dn',
      key: '+15557000010',
      value: { type: 'extension', options: { 'line-type': '9' } },
    };
    changes[999] = { op: 'delete', kind: 'agent', key: 'jay' };
    const r = await call('POST', '/api/config/change-sets', { changes });
    expect(r).toEqual({
      status: 422,
      json: {
        errors: [
          { index: 10, message: 'DN +15557000010: option line-type: "9" is not one of 0, 1' },
          { index: 999, message: 'agent jay is a member of agent group Support; remove it from the group too' },
        ],
      },
    });
    expect(store.dnCount).toBe(4);
    expect(seen).toEqual([]);
    changes[10] = { op: 'put', kind: 'dn', key: '+15557000010', value: { type: 'extension' } };
    changes[999] = { op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '5' } } };
    const dry = await call('POST', '/api/config/change-sets?dryRun=true', { changes });
    expect(dry.json).toEqual({ version: 1, applied: 1000, dryRun: true, warnings: [] });
    const ok = await call('POST', '/api/config/change-sets', { changes });
    expect(ok).toEqual({ status: 200, json: { version: 2, applied: 1000, warnings: [] } });
    expect(store.dnCount).toBe(1003);
    expect(seen.map((c) => [c.version, c.changes.length])).toEqual([[2, 1000]]);
  });

  it('the interfaces §5 change-set example applies', async () => {
    await call('PUT', '/api/dns/%2B15551231111', { type: 'extension' });
    await call('PUT', '/api/agents/joe2', { name: 'Joe2', password: 'p', dn: '+15551231111' });
    const r = await call('POST', '/api/config/change-sets', {
      changes: [
        { op: 'put', kind: 'dn', key: '+15551231111', value: { type: 'extension', options: {} } },
        { op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '5' } } },
        { op: 'delete', kind: 'agent', key: 'joe2' },
      ],
    });
    expect(r).toEqual({ status: 200, json: { version: 4, applied: 3, warnings: [] } });
  });

  it('unknown option names are accepted with a warning', async () => {
    const r = await call('POST', '/api/config/change-sets', {
      changes: [{ op: 'patch', kind: 'dn', key: '7777', value: { options: { 'x-custom': '1' } } }],
    });
    expect(r.json).toEqual({
      version: 2,
      applied: 1,
      warnings: [{ index: 0, message: 'DN 7777: unknown option x-custom (kept)' }],
    });
  });

  it('serves the OpenAPI document and Prometheus metrics', async () => {
    const o = await call('GET', '/api/openapi.json', undefined, null);
    expect(o.status).toBe(200);
    expect(o.json.openapi).toBe('3.0.3');
    expect(Object.keys(o.json.paths)).toEqual(
      expect.arrayContaining([
        '/api/dns',
        '/api/dns/{number}',
        '/api/agents/{id}',
        '/api/agent-groups/{name}',
        '/api/config/change-sets',
        '/api/config/changes',
      ]),
    );
    await call('PATCH', '/api/dns/7777', { options: { 'oos-check': '1' } });
    await call('PATCH', '/api/dns/7777', { options: { 'oos-check': 'x' } });
    const m = await fetch(url + '/metrics');
    const text = await m.text();
    expect(text).toContain('sipserver_config_change_sets_total 1');
    expect(text).toContain('sipserver_config_change_sets_rejected_total 1');
    expect(text).toContain('sipserver_config_changes_total{kind="dn"} 1');
    expect(text).toContain('sipserver_config_change_set_apply_seconds_count 1');
    expect(text).toContain('sipserver_config_version 2');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('status endpoints use the providers registered by other layers, 503 without', async () => {
    expect((await call('GET', '/api/status')).status).toBe(503);
    expect((await call('GET', '/api/dns/8888/status')).status).toBe(503);
    server.setStatusProviders({
      status: () => ({ calls: { active: 0 } }) as ServerStatus,
      dnStatus: (dn) => ({ mode: 'registered', target: `sip:${dn.number}@127.0.0.1:5062`, inService: true }),
    });
    // The admin API adds its change-set queue (behaviour §13) to what the provider gives.
    expect((await call('GET', '/api/status')).json).toEqual({
      calls: { active: 0 },
      config: {
        version: 1,
        queueDepth: 0,
        applying: false,
        lastApplyMs: 0,
        lastApplyLongestTurnMs: 0,
        appliedChangeSets: 0,
      },
    });
    expect((await call('GET', '/api/dns/8888/status')).json).toEqual({
      mode: 'registered',
      target: 'sip:8888@127.0.0.1:5062',
      inService: true,
    });
  });

  it('exports the whole configuration for `config export --server`, without secrets', async () => {
    const r = await call('GET', '/api/config');
    expect(r.json.version).toBe(1);
    expect(r.json.config.agents[0]).toEqual({ id: 'joe', name: 'Joe', dn: '8888' });
  });
});

describe('never 500 for a user mistake (fuzz)', () => {
  it('random bodies on every write endpoint answer 200, 400, 404 or 422', async () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(
        'extension',
        'put',
        'patch',
        'delete',
        'dn',
        'agent',
        'agent-group',
        'server',
        '7777',
        'joe',
        'Support',
      ),
    );
    const key = fc.constantFrom(
      'type',
      'options',
      'name',
      'password',
      'dn',
      'agents',
      'changes',
      'op',
      'kind',
      'key',
      'value',
      'contact',
      'x',
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        scalar,
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(key, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    const target = fc.constantFrom(
      'PUT /api/dns/7777',
      'PATCH /api/dns/Softswitch',
      'PUT /api/agents/joe',
      'PATCH /api/agents/jay',
      'PUT /api/agent-groups/Support',
      'PATCH /api/agent-groups/Support',
      'POST /api/config/change-sets',
    );
    await fc.assert(
      fc.asyncProperty(target, value, async (t, body) => {
        const [m, p] = t.split(' ');
        const r = await call(m, p, JSON.stringify(body));
        expect([200, 400, 404, 422]).toContain(r.status);
      }),
      { numRuns: 300 },
    );
  });
});

describe('plugins registered before listen', () => {
  it('a plugin adds a websocket route next to /api', async () => {
    const s2 = await createHttpServer({
      store,
      token: TOKEN,
      plugins: [
        async (app) => {
          app.get('/cti', { websocket: true }, (socket) => {
            socket.on('message', (m: Buffer) => socket.send(`echo ${m.toString()}`));
          });
        },
      ],
    });
    const { port } = await s2.listen('127.0.0.1:0');
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cti`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hi'));
      ws.on('message', (d) => resolve(d.toString()));
      ws.on('error', reject);
      setTimeout(() => reject(new Error('timeout')), 5000);
    });
    ws.close();
    expect(reply).toBe('echo hi');
    await s2.close();
  });
});

describe('admin token (interfaces §5)', () => {
  it('configured, else SIPSERVER_TOKEN, else generated once, stored 0600 and printed once', () => {
    const d = mkdtempSync(join(tmpdir(), 'sipserver-token-'));
    try {
      expect(resolveAdminToken({ configured: 'from-config', env: 'from-env', dataDir: d })).toEqual({
        token: 'from-config',
        source: 'config',
      });
      expect(resolveAdminToken({ env: 'from-env', dataDir: d })).toEqual({ token: 'from-env', source: 'env' });
      const printed: string[] = [];
      const g = resolveAdminToken({ env: undefined, dataDir: d, print: (l) => printed.push(l) });
      expect(g.source).toBe('generated');
      expect(g.token.length).toBeGreaterThanOrEqual(32);
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain(g.token);
      expect(statSync(join(d, 'admin-token')).mode & 0o777).toBe(0o600);
      const again = resolveAdminToken({ env: undefined, dataDir: d, print: (l) => printed.push(l) });
      expect(again).toEqual({ token: g.token, source: 'file' });
      expect(printed).toHaveLength(1);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('startHttpServer (for sipserver start)', () => {
  it('uses server.http.admin-token and listens where asked', async () => {
    store.apply([{ op: 'patch', kind: 'server', key: 'server', value: { options: {} } }]);
    store.apply([
      {
        op: 'put',
        kind: 'server',
        key: 'server',
        value: { name: 'S', http: { listen: '127.0.0.1:0', 'admin-token': 'configured-token-1' } },
      },
    ]);
    const { startHttpServer } = await import('../../src/api/http-server.js');
    const printed: string[] = [];
    const s = await startHttpServer({ store, dataDir: dir, print: (l) => printed.push(l) });
    try {
      expect(s.tokenSource).toBe('config');
      expect(printed).toEqual([]);
      const ok = await fetch(`${s.url}/api/dns/7777`, { headers: { authorization: 'Bearer configured-token-1' } });
      expect(ok.status).toBe(200);
      const no = await fetch(`${s.url}/api/dns/7777`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(no.status).toBe(401);
    } finally {
      await s.server.close();
    }
  });
});
