/**
 * `create` with `restoreFrom` (docs/admin-api.md "Restoring a removed object"): a DN or an agent
 * re-created exactly as a committed change-set removed it, secrets included, from the store's
 * change feed; the errors name the change's index.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { ChangeSetError, type ChangeProblem, type ChangeRequest } from '../../../src/config/change-set.js';
import { loadConfigText } from '../../../src/config/config-file.js';
import { ConfigState } from '../../../src/config/config-state.js';
import { redactChange } from '../../../src/config/secrets.js';
import { examplesDir } from '../../helpers/paths.js';

let dir: string;
let store: ConfigStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipserver-restore-'));
  store = openStore(dir);
  // examples/office.yaml: DN 8888 has the digest password 8888-secret, agent joe the password joe-secret.
  store.reconcile(loadConfigText(readFileSync(join(examplesDir, 'office.yaml'), 'utf8'), 'office.yaml').model!);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Moves joe to a home DN and removes his office DN 8888 (with its password): the removing version. */
function moveJoeHome(): number {
  return store.apply([
    { op: 'put', kind: 'dn', key: '+15551231111', value: { type: 'extension', options: {} } },
    { op: 'patch', kind: 'agent', key: 'joe', value: { dn: '+15551231111' } },
    { op: 'delete', kind: 'dn', key: '8888' },
  ]).version;
}

/** The problems of a refused change-set. */
function refused(changes: ChangeRequest[]): ChangeProblem[] {
  try {
    store.apply(changes);
  } catch (e) {
    expect(e).toBeInstanceOf(ChangeSetError);
    return (e as ChangeSetError).errors.map(({ index, message }) => ({ index, message }));
  }
  throw new Error('the change-set was applied');
}

describe('create with restoreFrom', () => {
  it('re-creates a removed DN exactly, digest password included; the feed shows a put without secrets', () => {
    const original = structuredClone(store.getDn('8888')!);
    expect(original.options.password).toBe('8888-secret');
    const v = moveJoeHome();
    expect(store.getDn('8888')).toBeUndefined();

    const r = store.apply([
      { op: 'create', kind: 'dn', key: '8888', restoreFrom: v },
      { op: 'patch', kind: 'agent', key: 'joe', value: { dn: '8888' } },
      { op: 'delete', kind: 'dn', key: '+15551231111' },
    ]);
    expect(r.version).toBe(v + 1);
    expect(store.getDn('8888')).toEqual(original);

    // Reopened: the password is in the SQLite row, not only in memory.
    store.close();
    store = openStore(dir);
    expect(store.getDn('8888')).toEqual(original);
    const [cs] = store.changesSince(v, 1);
    expect(cs!.changes[0]).toEqual({ op: 'put', kind: 'dn', key: '8888', old: null, new: original });
    // What the change feed route sends: no password, hasPassword.
    expect(redactChange(cs!.changes[0]!)).toEqual({
      op: 'put',
      kind: 'dn',
      key: '8888',
      old: null,
      new: { number: '8888', type: 'extension', options: { contact: '*' }, hasPassword: true },
    });
  });

  it('re-creates a removed agent with its password; a value equal to the object without secrets is accepted', () => {
    const joe = structuredClone(store.getAgent('joe')!);
    const v = store.apply([
      { op: 'patch', kind: 'agent-group', key: 'Support', value: { agents: ['jay'] } },
      { op: 'delete', kind: 'agent', key: 'joe' },
    ]).version;
    store.apply([
      {
        op: 'create',
        kind: 'agent',
        key: 'joe',
        restoreFrom: v,
        value: { name: 'Joe', dn: '8888', options: {} },
      },
    ]);
    expect(store.getAgent('joe')).toEqual(joe);
    expect(store.getAgent('joe')!.password).toBe('joe-secret');
  });

  it('restores the object as it was just before the change-set, not as it was first created', () => {
    store.apply([{ op: 'patch', kind: 'dn', key: '8888', value: { options: { password: 'changed-secret' } } }]);
    const before = structuredClone(store.getDn('8888')!);
    const v = moveJoeHome();
    store.apply([{ op: 'create', kind: 'dn', key: '8888', restoreFrom: v }]);
    expect(store.getDn('8888')).toEqual(before);
    expect(store.getDn('8888')!.options.password).toBe('changed-secret');
  });

  it('refuses an unknown version, a change-set that did not remove the object, an object that exists', () => {
    const v = moveJoeHome();
    const version = store.version;
    expect(
      refused([
        { op: 'create', kind: 'dn', key: '8888', restoreFrom: v + 5 },
        { op: 'create', kind: 'dn', key: '7777x', restoreFrom: v },
        { op: 'create', kind: 'dn', key: '+1 555 123 1111', restoreFrom: v },
        { op: 'create', kind: 'agent', key: 'joe', restoreFrom: v },
      ]),
    ).toEqual([
      { index: 0, message: `restoreFrom: no change-set has version ${v + 5}` },
      { index: 1, message: `restoreFrom: change-set ${v} did not remove DN 7777x` },
      { index: 2, message: 'DN +15551231111 exists' },
      { index: 3, message: 'agent joe exists' },
    ]);
    expect(store.version).toBe(version);
    expect(store.getDn('8888')).toBeUndefined();
  });

  it('refuses a value that differs from the removed object, or that carries the secret', () => {
    const v = moveJoeHome();
    const restore = (value: unknown): ChangeRequest => ({
      op: 'create',
      kind: 'dn',
      key: '8888',
      restoreFrom: v,
      value,
    });
    const tail = 'leave the value out, or give that object without its secrets (they come from the change feed)';
    expect(refused([restore({ type: 'extension', options: { contact: '*', password: '8888-secret' } })])).toEqual([
      { index: 0, message: `DN 8888: the value differs from the one change-set ${v} removed (options); ${tail}` },
    ]);
    expect(refused([restore({ type: 'acd-position', options: {} })])).toEqual([
      { index: 0, message: `DN 8888: the value differs from the one change-set ${v} removed (type, options); ${tail}` },
    ]);
    // A second restore of the object in the same change-set finds it there.
    expect(refused([restore(undefined), restore(undefined)])).toEqual([{ index: 1, message: 'DN 8888 exists' }]);
    store.apply([restore({ type: 'extension', options: { contact: '*' } })]);
    expect(store.getDn('8888')!.options.password).toBe('8888-secret');
  });

  it('a restored object is validated like any other; create without restoreFrom is a put that must not overwrite', () => {
    const v = store.apply([
      { op: 'patch', kind: 'agent-group', key: 'Support', value: { agents: ['jay'] } },
      { op: 'delete', kind: 'agent', key: 'joe' },
      { op: 'put', kind: 'agent', key: 'jay', value: { name: 'Jay', dn: '7777' } },
    ]).version;
    store.apply([
      { op: 'patch', kind: 'agent', key: 'jay', value: { dn: null } },
      { op: 'delete', kind: 'dn', key: '8888' },
    ]);
    expect(
      refused([
        { op: 'create', kind: 'agent', key: 'joe', restoreFrom: v },
        { op: 'create', kind: 'dn', key: '7777', value: { type: 'extension', options: {} } },
        { op: 'put', kind: 'dn', key: '9999', restoreFrom: v },
        { op: 'create', kind: 'agent-group', key: 'Sales', restoreFrom: v },
        { op: 'create', kind: 'server', key: 'server', value: {} },
      ]),
    ).toEqual([
      { index: 0, message: 'agent joe: DN 8888 does not exist' },
      { index: 1, message: 'DN 7777 exists' },
      { index: 2, message: 'restoreFrom goes with op create' },
      { index: 3, message: 'restoreFrom restores a DN or an agent' },
      { index: 4, message: 'the server section always exists: put or patch it' },
    ]);
    const r = store.apply([{ op: 'create', kind: 'dn', key: '9999', value: { type: 'extension', options: {} } }]);
    expect(r.changes.map((c) => [c.op, c.key, c.old])).toEqual([['put', '9999', null]]);
  });

  it('without a change feed (a file planned offline) restoreFrom is refused', () => {
    const plan = new ConfigState().plan([{ op: 'create', kind: 'dn', key: '8888', restoreFrom: 1 }]);
    expect(plan.errors.map((e) => e.message)).toEqual(['restoreFrom needs the change feed of a configuration store']);
  });

  it('applyAsync (the admin API path) restores the same way', async () => {
    const original = structuredClone(store.getDn('8888')!);
    const v = moveJoeHome();
    await store.applyAsync([{ op: 'create', kind: 'dn', key: '8888', restoreFrom: v }], { origin: 'api' });
    expect(store.getDn('8888')).toEqual(original);
  });
});
