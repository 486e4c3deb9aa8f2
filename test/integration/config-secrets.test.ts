/**
 * Secrets are write-only (docs/admin-api.md "Secrets"; interfaces §5): the admin API (objects,
 * `GET /api/config`, the change feed, write answers), the OpenAPI document and
 * `sipserver config export` never show a DN password, an agent password or the admin token;
 * `config export --with-secrets --data` does; and an export without secrets fed back to
 * `sipserver start --config` keeps every stored secret.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';
import { startServerProcess } from '../helpers/server-process.js';

const ADMIN = 'admin-token-secret-1';
const CONFIG = readFileSync(join(examplesDir, 'office.yaml'), 'utf8').replace(
  '    listen: "127.0.0.1:8080"',
  `    listen: "127.0.0.1:8080"\n    admin-token: "${ADMIN}"`,
);
/** Every secret of CONFIG, and the ones the tests write. */
const SECRETS = [
  '8888-secret',
  'joe-secret',
  'jay-secret',
  ADMIN,
  'new-9999-secret',
  'cs-7000-secret',
  'ann-secret',
  'restore-6100-secret',
];
const API_TOKEN = 'api-token-for-secrets';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist/cli/main.js'), ...args],
      { cwd: repoRoot, env: { ...process.env, SIPSERVER_TOKEN: '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function expectNoSecret(text: string, where: string): void {
  for (const s of SECRETS) expect(text, `${where} shows ${s}`).not.toContain(s);
}

describe('secrets are write-only through the admin API and config export', () => {
  let dir: string;
  let store: ConfigStore;
  let server: HttpServer;
  let url: string;

  async function raw(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${API_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipserver-secrets-'));
    store = openStore(join(dir, 'data'));
    store.reconcile(loadConfigText(CONFIG).model!);
    server = await createHttpServer({ store, token: API_TOKEN });
    url = (await server.listen('127.0.0.1:0')).url;
  });

  afterAll(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /api/config, the DN list, DN 8888, its effective options and the agents show no secret; DN 8888 says hasPassword', async () => {
    for (const p of [
      '/api/config',
      '/api/dns',
      '/api/dns/8888',
      '/api/dns/8888/effective-options',
      '/api/agents',
      '/api/agents/joe',
      '/api/config/changes?since=0',
    ]) {
      const r = await raw('GET', p);
      expect(r.status, p).toBe(200);
      expectNoSecret(r.text, p);
    }
    expect(JSON.parse((await raw('GET', '/api/dns/8888')).text)).toEqual({
      number: '8888',
      type: 'extension',
      options: { contact: '*' },
      hasPassword: true,
    });
    expect(JSON.parse((await raw('GET', '/api/dns/7777')).text)).toEqual({
      number: '7777',
      type: 'extension',
      options: {},
    });
    expect(JSON.parse((await raw('GET', '/api/dns/8888/effective-options')).text).options.password).toEqual({
      source: 'dn',
      secret: true,
    });
    const config = JSON.parse((await raw('GET', '/api/config')).text) as {
      config: { server: { http: Record<string, unknown> }; agents: Record<string, unknown>[] };
    };
    expect(config.config.server.http).toEqual({ listen: '127.0.0.1:8080' });
    expect(config.config.agents[0]).toEqual({ id: 'joe', name: 'Joe', dn: '8888' });
  });

  it('writes carrying secrets answer without them, the change feed never shows them, a PUT without one keeps the stored one', async () => {
    const put = await raw('PUT', '/api/dns/9999', {
      type: 'extension',
      options: { contact: '*', password: 'new-9999-secret' },
    });
    expect(put.status).toBe(200);
    expectNoSecret(put.text + (put.headers.get('x-config-warnings') ?? ''), 'PUT answer');
    expect(JSON.parse(put.text)).toEqual({
      number: '9999',
      type: 'extension',
      options: { contact: '*' },
      hasPassword: true,
    });

    const patch = await raw('PATCH', '/api/dns/9999', { options: { 'oos-check': '0' } });
    expectNoSecret(patch.text, 'PATCH answer');

    const cs = await raw('POST', '/api/config/change-sets', {
      changes: [
        {
          op: 'put',
          kind: 'dn',
          key: '7000',
          value: { type: 'extension', options: { contact: '*', password: 'cs-7000-secret' } },
        },
        { op: 'put', kind: 'agent', key: 'ann', value: { name: 'Ann', password: 'ann-secret', dn: '7000' } },
      ],
    });
    expect(cs.status).toBe(200);
    expectNoSecret(cs.text, 'change-set answer');
    const refused = await raw('POST', '/api/config/change-sets', {
      changes: [
        {
          op: 'put',
          kind: 'dn',
          key: '7001',
          value: { type: 'routing-point', options: { password: 'new-9999-secret', 'agent-group': 'Nope' } },
        },
      ],
    });
    expect(refused.status).toBe(422);
    expectNoSecret(refused.text, 'refused change-set answer');

    // A DN read, changed without its password and written back keeps the password.
    const dn = JSON.parse((await raw('GET', '/api/dns/8888')).text) as {
      type: string;
      options: Record<string, string>;
    };
    expect(
      (await raw('PUT', '/api/dns/8888', { type: dn.type, options: { ...dn.options, 'oos-check': '0' } })).status,
    ).toBe(200);
    expect(store.getDn('8888')!.options).toEqual({ contact: '*', password: '8888-secret', 'oos-check': '0' });
    // "" removes it.
    expect(
      JSON.parse(
        (await raw('PUT', '/api/dns/9999', { type: 'extension', options: { contact: '*', password: '' } })).text,
      ),
    ).toEqual({
      number: '9999',
      type: 'extension',
      options: { contact: '*' },
    });
    expect(store.getDn('9999')!.options.password).toBe('');

    const feed = await raw('GET', '/api/config/changes?since=0');
    expectNoSecret(feed.text, 'change feed');
    const sets = (
      JSON.parse(feed.text) as {
        changeSets: { changes: { kind: string; key: string; new: Record<string, unknown> | null }[] }[];
      }
    ).changeSets;
    expect(sets.flatMap((s) => s.changes).find((c) => c.key === '7000')!.new).toEqual({
      number: '7000',
      type: 'extension',
      options: { contact: '*' },
      hasPassword: true,
    });
    expect(store.getAgent('ann')!.password).toBe('ann-secret');
    expect(store.getDn('7000')!.options.password).toBe('cs-7000-secret');
  });

  it('a removed DN restored with restoreFrom gets its password back, and no answer or feed shows it', async () => {
    const post = (changes: unknown[]) => raw('POST', '/api/config/change-sets', { changes });
    const put = await post([
      {
        op: 'put',
        kind: 'dn',
        key: '6100',
        value: { type: 'extension', options: { contact: '*', password: 'restore-6100-secret' } },
      },
    ]);
    expect(put.status, put.text).toBe(200);
    const del = await post([{ op: 'delete', kind: 'dn', key: '6100' }]);
    const removedIn = (JSON.parse(del.text) as { version: number }).version;
    // 422 with the change's index: an unknown version, a change-set that did not remove it.
    const bad = await post([
      { op: 'create', kind: 'dn', key: '6100', restoreFrom: removedIn + 9 },
      { op: 'create', kind: 'dn', key: '6101', restoreFrom: removedIn },
    ]);
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.text)).toEqual({
      errors: [
        { index: 0, message: `restoreFrom: no change-set has version ${removedIn + 9}` },
        { index: 1, message: `restoreFrom: change-set ${removedIn} did not remove DN 6101` },
      ],
    });
    const ok = await post([{ op: 'create', kind: 'dn', key: '6100', restoreFrom: removedIn }]);
    expect(ok.status, ok.text).toBe(200);
    expect(store.getDn('6100')).toEqual({
      number: '6100',
      type: 'extension',
      options: { contact: '*', password: 'restore-6100-secret' },
    });
    const dn = await raw('GET', '/api/dns/6100');
    expect(JSON.parse(dn.text)).toEqual({
      number: '6100',
      type: 'extension',
      options: { contact: '*' },
      hasPassword: true,
    });
    const feed = await raw('GET', `/api/config/changes?since=${removedIn}`);
    expectNoSecret(ok.text + dn.text + feed.text, 'the restore');
    expect(JSON.parse(feed.text).changeSets[0].changes).toEqual([
      {
        op: 'put',
        kind: 'dn',
        key: '6100',
        old: null,
        new: { number: '6100', type: 'extension', options: { contact: '*' }, hasPassword: true },
      },
    ]);
    // The DN exists now: a second restore is refused.
    const again = await post([{ op: 'create', kind: 'dn', key: '6100', restoreFrom: removedIn }]);
    expect(JSON.parse(again.text)).toEqual({ errors: [{ index: 0, message: 'DN 6100 exists' }] });
  });

  it('the OpenAPI document says secrets are write-only', async () => {
    const r = await fetch(`${url}/api/openapi.json`);
    const text = await r.text();
    expect(text).toContain('write-only');
    expect(text).toContain('hasPassword');
    expectNoSecret(text, 'OpenAPI');
  });

  it('config export: no secret without --with-secrets (--data and --server); every one with --with-secrets --data; --with-secrets --server is refused', async () => {
    const data = join(dir, 'data');
    const plain = await cli(['config', 'export', '--data', data]);
    expect(plain.code, plain.stderr).toBe(0);
    expectNoSecret(plain.stdout, 'export --data');
    expect(plain.stdout).toContain('secrets left out');
    const viaApi = await cli(['config', 'export', '--server', url, '--token', API_TOKEN]);
    expect(viaApi.code, viaApi.stderr).toBe(0);
    expectNoSecret(viaApi.stdout, 'export --server');

    const full = await cli(['config', 'export', '--data', data, '--with-secrets']);
    expect(full.code, full.stderr).toBe(0);
    for (const s of ['8888-secret', 'joe-secret', 'jay-secret', ADMIN, 'cs-7000-secret', 'ann-secret'])
      expect(full.stdout).toContain(s);
    expect(loadConfigText(full.stdout).model).toEqual(store.exportModel());

    const refused = await cli(['config', 'export', '--server', url, '--token', API_TOKEN, '--with-secrets']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--with-secrets needs --data DIR: the admin API never returns secrets');
    expect(refused.stdout).toBe('');
  });
});

describe('round trip: an export without secrets fed to `sipserver start --config` keeps the stored secrets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sipserver-secrets-rt-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passwords and the admin token survive; the reconcile changes nothing; the agent still opens CTI with its password', async () => {
    const data = join(dir, 'data');
    const s = openStore(data);
    s.reconcile(loadConfigText(CONFIG).model!);
    const version = s.version;
    s.close();

    const exported = await cli(['config', 'export', '--data', data]);
    expect(exported.code, exported.stderr).toBe(0);
    expectNoSecret(exported.stdout, 'export');
    const file = join(dir, 'exported.yaml');
    writeFileSync(file, exported.stdout);

    const proc = await startServerProcess({ config: file, dataDir: data, sipListen: ['udp:127.0.0.1:0'] });
    try {
      // The stored admin token is still the admin token.
      const status = await fetch(`${proc.httpUrl}/api/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(status.status).toBe(200);
      // The stored agent password still opens an agent-scope CTI connection.
      const ws = new WebSocket(`${proc.httpUrl!.replace(/^http/, 'ws')}/cti`);
      const answer = new Promise<Record<string, unknown>>((res, rej) => {
        ws.once('message', (d) => res(JSON.parse(d.toString()) as Record<string, unknown>));
        ws.once('error', rej);
      });
      await new Promise<void>((res, rej) => {
        ws.once('open', () => res());
        ws.once('error', rej);
      });
      ws.send(JSON.stringify({ request: 'RequestOpen', referenceId: 1, agentId: 'joe', password: 'joe-secret' }));
      expect(await answer).toMatchObject({ event: 'EventOpened', scope: 'agent', agentId: 'joe' });
      ws.terminate();
    } finally {
      expect(await proc.stop()).toBe(0);
    }

    const after = openStore(data, { readonly: true });
    try {
      expect(after.version).toBe(version);
      expect(after.getDn('8888')!.options.password).toBe('8888-secret');
      expect(after.getAgent('joe')!.password).toBe('joe-secret');
      expect(after.getAgent('jay')!.password).toBe('jay-secret');
      expect(after.server.http.adminToken).toBe(ADMIN);
    } finally {
      after.close();
    }
  }, 60_000);
});
