import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import type { Binding } from '../../../src/registrar/binding.js';
import { ReachabilityResolver } from '../../../src/reachability/reachability-resolver.js';
import { examplesDir } from '../../helpers/paths.js';

const dirs: string[] = [];
const stores: ConfigStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function storeFrom(example: string): ConfigStore {
  const dir = mkdtempSync(join(tmpdir(), 'reach-'));
  dirs.push(dir);
  const store = openStore(dir);
  stores.push(store);
  const loaded = loadConfigFile(join(examplesDir, example));
  if (!loaded.model) throw new Error(JSON.stringify(loaded.errors));
  store.reconcile(loaded.model);
  return store;
}

function setup(store: ConfigStore) {
  const bindings = new Map<string, Binding[]>();
  const out = new Set<string>();
  const r = new ReachabilityResolver(
    store,
    { get: (dn) => bindings.get(dn) ?? [] },
    { isOutOfService: (dn) => out.has(dn) },
  );
  for (const dn of store.listDns(0, 1e9).items) r.addresses.applyDnChange(null, dn);
  store.subscribe((cs) => {
    for (const c of cs.changes) if (c.kind === 'dn') r.addresses.applyDnChange(c.old, c.new);
  });
  return { r, bindings, out };
}

function binding(dn: string, contact: string, port: number): Binding {
  return {
    dn,
    contact,
    key: contact,
    expiresAt: 1e15,
    callId: 'c',
    cseq: 1,
    source: { transport: 'udp', host: '127.0.0.1', port },
    dest: { transport: 'udp', host: '127.0.0.1', port },
    nat: false,
    registeredAt: 0,
    updatedAt: 0,
  };
}

describe('ReachabilityResolver with examples/office.yaml', () => {
  it('DN 7777 goes through the softswitch with the full number: sip:7777@127.0.0.1:5081', () => {
    const { r } = setup(storeFrom('office.yaml'));
    expect(r.resolve('7777')).toEqual({
      mode: 'softswitch',
      target: 'sip:7777@127.0.0.1:5081',
      dest: { transport: 'udp', host: '127.0.0.1', port: 5081 },
      via: 'Softswitch',
      inService: true,
      reason: undefined,
    });
  });

  it('DN 8888 (contact *) is registered or unreachable, never behind the softswitch', () => {
    const { r, bindings } = setup(storeFrom('office.yaml'));
    expect(r.resolve('8888')).toEqual({ mode: 'unreachable', inService: false, reason: 'not registered' });
    bindings.set('8888', [binding('8888', 'sip:8888@127.0.0.1:5062', 5062)]);
    expect(r.resolve('8888')).toMatchObject({
      mode: 'registered',
      target: 'sip:8888@127.0.0.1:5062',
      dest: { port: 5062 },
      inService: true,
    });
  });

  it('the softswitch itself is a static contact; OUT shows as not in service', () => {
    const { r, out } = setup(storeFrom('office.yaml'));
    expect(r.resolve('Softswitch')).toMatchObject({
      mode: 'static',
      target: 'sip:Softswitch@127.0.0.1:5081',
      inService: true,
    });
    out.add('Softswitch');
    expect(r.resolve('Softswitch')).toMatchObject({ mode: 'static', inService: false });
    expect(r.resolve('7777')).toMatchObject({
      mode: 'softswitch',
      via: 'Softswitch',
      inService: false,
      reason: 'every matching softswitch is out of service',
    });
    expect(r.candidates('7777')).toEqual([]);
  });

  it('unknown DN is unreachable; an external number resolves by prefix', () => {
    const { r } = setup(storeFrom('office.yaml'));
    expect(r.resolve('4242')).toEqual({ mode: 'unreachable', inService: false, reason: 'no such DN' });
    expect(r.resolveExternal('77 12')).toMatchObject({ mode: 'softswitch', target: 'sip:7712@127.0.0.1:5081' });
    expect(r.resolveExternal('12')).toMatchObject({ mode: 'unreachable' });
  });

  it('follows configuration changes: contact removed → behind the softswitch; static URI with user part', () => {
    const store = storeFrom('office.yaml');
    const { r } = setup(store);
    store.apply([
      { op: 'patch', kind: 'dn', key: '7777', value: { options: { contact: 'sip:jay@127.0.0.1:5090;transport=tcp' } } },
    ]);
    expect(r.resolve('7777')).toMatchObject({
      mode: 'static',
      target: 'sip:jay@127.0.0.1:5090;transport=tcp',
      dest: { transport: 'tcp', host: '127.0.0.1', port: 5090 },
    });
    store.apply([{ op: 'patch', kind: 'dn', key: '7777', value: { options: { contact: '127.0.0.1:5091' } } }]);
    expect(r.resolve('7777')).toMatchObject({ mode: 'static', target: 'sip:7777@127.0.0.1:5091' });
    store.apply([{ op: 'patch', kind: 'dn', key: '7777', value: { options: { contact: null } } }]);
    expect(r.resolve('7777')).toMatchObject({ mode: 'softswitch', target: 'sip:7777@127.0.0.1:5081' });
  });
});

describe('ReachabilityResolver with examples/home.yaml', () => {
  it('"+1 555 123 1111" resolves to sip:+15551231111@127.0.0.1:5071', () => {
    const { r } = setup(storeFrom('home.yaml'));
    expect(r.resolve('+1 555 123 1111')).toMatchObject({
      mode: 'softswitch',
      target: 'sip:+15551231111@127.0.0.1:5071',
      via: 'Softswitch',
      inService: true,
    });
  });

  it('two softswitches +1 and +1555: longest prefix first, the shorter once the longer is OUT; priority then name break ties', () => {
    const store = storeFrom('home.yaml');
    const { r, out } = setup(store);
    store.apply([
      {
        op: 'put',
        kind: 'dn',
        key: 'SBC1555',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5073', 'service-type': 'softswitch', prefix: '+1555' },
        },
      },
    ]);
    expect(r.resolve('+15551231111')).toMatchObject({ via: 'SBC1555', target: 'sip:+15551231111@127.0.0.1:5073' });
    expect(r.candidates('+15551231111').map((c) => c.via)).toEqual(['SBC1555', 'Softswitch']);
    out.add('SBC1555');
    expect(r.resolve('+15551231111')).toMatchObject({
      via: 'Softswitch',
      target: 'sip:+15551231111@127.0.0.1:5071',
      inService: true,
    });
    expect(r.candidates('+15551231111').map((c) => c.via)).toEqual(['Softswitch']);
    out.clear();
    store.apply([
      {
        op: 'put',
        kind: 'dn',
        key: 'B1555',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5074', 'service-type': 'softswitch', prefix: '+1555', priority: '5' },
        },
      },
      {
        op: 'put',
        kind: 'dn',
        key: 'A1555',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5075', 'service-type': 'softswitch', prefix: '+1555' },
        },
      },
    ]);
    expect(r.candidates('+15551231111').map((c) => c.via)).toEqual(['B1555', 'A1555', 'SBC1555', 'Softswitch']);
  });

  it('agent-phone: validation, binding overrides, reverse lookup, unbind', () => {
    const store = storeFrom('home.yaml');
    const { r } = setup(store);
    const dn = '+15551231111';
    expect(r.bindAgentPhone(dn, '+1 555 123 2222')).toMatchObject({ ok: false, error: 'internal-dn' });
    expect(r.bindAgentPhone(dn, '')).toMatchObject({ ok: false, error: 'empty' });
    expect(r.bindAgentPhone(dn, '4499')).toMatchObject({ ok: false, error: 'no-softswitch' });
    expect(r.bindAgentPhone(dn, '+1 (555) 987-6543')).toEqual({
      ok: true,
      phone: '+15559876543',
      softswitch: 'Softswitch',
    });
    expect(r.bindAgentPhone('+15551232222', '+15559876543')).toMatchObject({ ok: false, error: 'in-use' });
    expect(r.resolve(dn)).toMatchObject({
      mode: 'agent-phone',
      target: 'sip:+15559876543@127.0.0.1:5071',
      via: 'Softswitch',
    });
    const src = { transport: 'udp' as const, host: '127.0.0.1', port: 5071 };
    expect(r.identifyInbound(src, '+15559876543')).toEqual({ softswitch: 'Softswitch', dn, match: 'agent-phone' });
    expect(r.identifyInbound(src, '+1-555-123-2222')).toEqual({
      softswitch: 'Softswitch',
      dn: '+15551232222',
      match: 'dn',
    });
    expect(r.identifyInbound({ ...src, port: 40000 }, '999')).toEqual({ softswitch: 'Softswitch' });
    expect(r.identifyInbound({ ...src, host: '127.0.0.9' }, '+15559876543')).toBeUndefined();
    r.unbindAgentPhone(dn);
    expect(r.resolve(dn)).toMatchObject({ mode: 'softswitch', target: 'sip:+15551231111@127.0.0.1:5071' });
    expect(r.identifyInbound(src, '+15559876543')).toEqual({ softswitch: 'Softswitch' });
  });
});

describe('createReachability', () => {
  it('probes static-contact DNs with oos-check > 0, follows changes, reports the preferred softswitch', async () => {
    const { createReachability } = await import('../../../src/reachability/reachability-module.js');
    const { FakeClock } = await import('../../../src/util/clock.js');
    const { silentLogger } = await import('../../../src/util/logger.js');
    const store = storeFrom('office.yaml');
    const clock = new FakeClock(0);
    const sent: string[] = [];
    const reach = createReachability({
      store,
      registrations: { get: () => [] },
      clock,
      logger: silentLogger,
      random: () => 0,
      sender: {
        send: (uri, _d, timeout, mf) => (
          sent.push(`${uri} ${timeout} ${mf}`),
          Promise.resolve({ kind: 'final', status: 404 })
        ),
      },
    });
    clock.advance(0);
    expect(sent).toEqual(['sip:127.0.0.1:5081 2000 70']);
    expect(reach.preferredSoftswitch('7777')).toBe('Softswitch');
    expect(reach.preferredSoftswitch('8888')).toBeUndefined();
    store.apply([
      {
        op: 'patch',
        kind: 'dn',
        key: 'Softswitch',
        value: { options: { contact: '127.0.0.1:5082', 'oos-options-max-forwards': '3' } },
      },
    ]);
    clock.advance(0);
    expect(sent.at(-1)).toBe('sip:127.0.0.1:5082 2000 3');
    store.apply([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '0' } } }]);
    expect(reach.devices()).toEqual([]);
    expect(clock.pending).toBe(0);
    reach.close();
  });
});
