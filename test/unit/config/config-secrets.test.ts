/**
 * Secrets are write-only (docs/admin-api.md "Secrets"; interfaces §5): read-outs leave them out,
 * a write that leaves one out keeps the stored value, `""` removes it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeSetError } from '../../../src/config/change-set.js';
import { exportConfigYaml, loadConfigText } from '../../../src/config/config-file.js';
import { diffModels } from '../../../src/config/config-diff.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { optionSpec } from '../../../src/config/option-table.js';
import { redactChange, redactDn, redactModel, SECRET_OPTIONS } from '../../../src/config/secrets.js';
import { examplesDir } from '../../helpers/paths.js';

const OFFICE = readFileSync(join(examplesDir, 'office.yaml'), 'utf8').replace(
  '    listen: "127.0.0.1:8080"',
  '    listen: "127.0.0.1:8080"\n    admin-token: "admin-token-secret-1"',
);

let dir: string;
let store: ConfigStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  store = openStore(dir);
  store.reconcile(loadConfigText(OFFICE).model!);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('the option table marks the DN password secret', () => {
    expect(optionSpec('password')?.secret).toBe(true);
    expect(SECRET_OPTIONS).toEqual(['password']);
  });

  it('a read-out has no secret: DN options, agent passwords, the admin token', () => {
    const text = JSON.stringify(redactModel(store.exportModel())) + exportConfigYaml(redactModel(store.exportModel()));
    for (const s of ['8888-secret', 'joe-secret', 'jay-secret', 'admin-token-secret-1']) expect(text).not.toContain(s);
    expect(redactDn(store.getDn('8888')!)).toEqual({
      number: '8888',
      type: 'extension',
      options: { contact: '*' },
      hasPassword: true,
    });
    expect(redactDn(store.getDn('7777')!)).toEqual({ number: '7777', type: 'extension', options: {} });
    const feed = JSON.stringify(store.changesSince(0).flatMap((cs) => cs.changes.map(redactChange)));
    for (const s of ['8888-secret', 'joe-secret', 'jay-secret', 'admin-token-secret-1']) expect(feed).not.toContain(s);
  });

  it('an export without secrets loads back and reconciles to no change: the stored secrets stay', () => {
    const exported = loadConfigText(exportConfigYaml(redactModel(store.exportModel())), 'export.yaml');
    expect(exported.errors).toEqual([]);
    expect(diffModels(store.exportModel(), exported.model!)).toEqual([]);
    const before = store.version;
    expect(store.reconcile(exported.model!).changes).toEqual([]);
    expect(store.version).toBe(before);
    expect(store.getDn('8888')!.options.password).toBe('8888-secret');
    expect(store.getAgent('joe')!.password).toBe('joe-secret');
    expect(store.server.http.adminToken).toBe('admin-token-secret-1');
  });

  it('an export without secrets still changes what it changes, and keeps the secrets of changed objects', () => {
    const m = loadConfigText(exportConfigYaml(redactModel(store.exportModel()))).model!;
    m.dns.find((d) => d.number === '8888')!.options['oos-check'] = '30';
    m.agents.find((a) => a.id === 'joe')!.name = 'Joseph';
    const r = store.reconcile(m);
    expect(r.changes.map((c) => `${c.kind} ${c.key}`)).toEqual(['dn 8888', 'agent joe']);
    expect(store.getDn('8888')!.options).toEqual({ contact: '*', password: '8888-secret', 'oos-check': '30' });
    expect(store.getAgent('joe')).toMatchObject({ name: 'Joseph', password: 'joe-secret' });
  });

  it('"" removes a secret: a DN password (no authentication) and the admin token', () => {
    const text = OFFICE.replace('password: "8888-secret"', 'password: ""').replace(
      'admin-token: "admin-token-secret-1"',
      'admin-token: ""',
    );
    const r = store.reconcile(loadConfigText(text).model!);
    expect(r.changes.map((c) => `${c.kind} ${c.key}`).sort()).toEqual(['dn 8888', 'server server']);
    expect(store.getDn('8888')!.options.password).toBe('');
    expect(redactDn(store.getDn('8888')!)).not.toHaveProperty('hasPassword');
    expect(store.server.http.adminToken).toBeUndefined();
    // Again: nothing left to change.
    expect(store.reconcile(loadConfigText(text).model!).changes).toEqual([]);
  });

  it('a change-set put without a secret keeps the stored one; a new agent still needs a password', () => {
    store.apply([
      { op: 'put', kind: 'dn', key: '8888', value: { type: 'extension', options: { contact: '*' } } },
      {
        op: 'put',
        kind: 'server',
        key: 'server',
        value: { name: 'SIP_Server', sip: { listen: ['udp:127.0.0.1:5060'] } },
      },
    ]);
    expect(store.getDn('8888')!.options.password).toBe('8888-secret');
    expect(store.server.http.adminToken).toBe('admin-token-secret-1');
    expect(() => store.apply([{ op: 'put', kind: 'agent', key: 'ann', value: { name: 'Ann', dn: '7777' } }])).toThrow(
      ChangeSetError,
    );
    // A file may leave a password out (it validates), but reconciling a new agent without one fails.
    const withAnn = OFFICE.replace('\nagent-groups:', '\n  - { id: ann, name: Ann, dn: "7777" }\n\nagent-groups:');
    const loaded = loadConfigText(withAnn, 'f.yaml');
    expect(loaded.errors).toEqual([]);
    try {
      store.reconcile(loaded.model!);
      expect.unreachable('a new agent without password must be refused');
    } catch (e) {
      expect((e as ChangeSetError).errors.map((x) => x.message)).toEqual(['password is required']);
    }
  });

  it('config diff through the API (no secrets there) does not report secrets as differences', () => {
    const viaApi = redactModel(store.exportModel());
    expect(diffModels(viaApi, loadConfigText(OFFICE).model!, { ignoreSecrets: true })).toEqual([]);
  });
});
