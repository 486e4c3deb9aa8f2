/**
 * The trust policy (docs/security.md): trusted peers by address (contact host, trusted-sources
 * CIDRs), phones by digest (407, default `authenticate-requests`) or location (strict or not).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import type { Binding } from '../../../src/registrar/binding.js';
import { createRegistrar } from '../../../src/registrar/registrar-module.js';
import { DigestClient } from '../../../src/sip/auth/digest-client.js';
import { parseMessage } from '../../../src/sip/message/index.js';
import type { SipRequest, TransportAddress } from '../../../src/sip/message/types.js';
import { RequestTrust } from '../../../src/trust/request-trust.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const CONFIG = `
server: { name: T, sip: { listen: ["udp:127.0.0.1:5060"] } }
dns:
  - { number: "8888", type: extension, options: { contact: "*", password: "8888-secret" } }
  - { number: "8889", type: extension, options: { contact: "*", password: "8889-secret", authenticate-requests: "register" } }
  - { number: "6001", type: extension, options: { contact: "*" } }
  - { number: "6002", type: extension, options: { contact: "*", enable-strict-location-match: "true" } }
  - { number: "6003", type: extension, options: { contact: "192.0.2.33:5070" } }
  - { number: "7777", type: extension }
  - { number: Softswitch, type: voip-service, options: { contact: "127.0.0.1:5081", service-type: softswitch, prefix: "77" } }
  - { number: SBC, type: voip-service, options: { contact: "192.0.2.1:5060", service-type: softswitch, prefix: "+1", trusted-sources: "198.51.100.0/24, 2001:db8::/32" } }
  - { number: "5000", type: routing-point }
`;

function setup(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'trust-'));
  const loaded = loadConfigText(CONFIG + extra);
  if (!loaded.model) throw new Error(JSON.stringify(loaded.errors));
  const store: ConfigStore = openStore(dir);
  store.reconcile(loaded.model);
  const clock = new FakeClock();
  const registrar = createRegistrar({ stack: { handle: () => () => undefined }, store, clock, logger: silentLogger });
  const bindings = new Map<string, Binding[]>();
  const registry = new Registry();
  const trust = new RequestTrust({
    config: store,
    registrar: {
      bindings: (dn) => bindings.get(dn) ?? [],
      authenticateRequest: (...a) => registrar.authenticateRequest(...a),
    },
    logger: silentLogger,
    registry,
  });
  cleanups.push(() => {
    trust.close();
    registrar.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bind = (dn: string, source: TransportAddress): void => {
    bindings.set(dn, [
      {
        dn,
        contact: `sip:${dn}@${source.host}:${source.port}`,
        key: 'k',
        expiresAt: 1e12,
        callId: 'c',
        cseq: 1,
        source,
        dest: source,
        nat: false,
        registeredAt: 0,
        updatedAt: 0,
      },
    ]);
  };
  return { store, trust, registry, bind };
}

let n = 0;
function invite(from: string, to = '+15559990000', auth?: string): SipRequest {
  n++;
  const text =
    `INVITE sip:${to}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKt${n}\r\nMax-Forwards: 70\r\n` +
    `From: <sip:${from}@127.0.0.1>;tag=f${n}\r\nTo: <sip:${to}@127.0.0.1>\r\nCall-ID: trust-${n}\r\nCSeq: 1 INVITE\r\n` +
    `Contact: <sip:${from}@203.0.113.1>\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}Content-Length: 0\r\n\r\n`;
  return parseMessage(Buffer.from(text)) as SipRequest;
}

const at = (host: string, port = 5060, transport: TransportAddress['transport'] = 'udp'): TransportAddress => ({
  transport,
  host,
  port,
});

async function refusedCount(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('sipserver_requests_refused_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.reason), v.value]));
}

describe('RequestTrust', () => {
  it('a softswitch by the host of its contact (any port), an SBC by trusted-sources (IPv4 and IPv6 CIDR): any From', () => {
    const { trust } = setup();
    expect(trust.check(invite('+15551234567'), at('127.0.0.1', 40000))).toEqual({
      admit: true,
      via: 'trusted-peer',
      peer: 'Softswitch',
    });
    expect(trust.check(invite('8888'), at('127.0.0.1', 5081))).toMatchObject({ admit: true, via: 'trusted-peer' });
    expect(trust.check(invite('x'), at('192.0.2.1', 5999))).toMatchObject({ admit: true, peer: 'SBC' });
    expect(trust.check(invite('x'), at('198.51.100.200'))).toMatchObject({ admit: true, peer: 'SBC' });
    expect(trust.check(invite('x'), at('2001:db8:5::1'))).toMatchObject({ admit: true, peer: 'SBC' });
    expect(trust.check(invite('x'), at('::ffff:198.51.100.9'))).toMatchObject({ admit: true, peer: 'SBC' });
    expect(trust.check(invite('x'), at('198.51.101.1'))).toMatchObject({
      admit: false,
      status: 403,
      why: 'untrusted-source',
    });
  });

  it('anyone else with a From that names no agent DN: 403, counted by reason', async () => {
    const { trust, registry } = setup();
    expect(trust.check(invite('+15551234567'), at('127.0.0.2'))).toEqual({
      admit: false,
      status: 403,
      reason: 'Forbidden',
      headers: [],
      why: 'untrusted-source',
    });
    expect(trust.check(invite('Softswitch'), at('127.0.0.2'))).toMatchObject({ status: 403, why: 'untrusted-source' });
    expect(trust.check(invite('5000'), at('127.0.0.2'))).toMatchObject({ status: 403 });
    expect(await refusedCount(registry)).toEqual({ 'untrusted-source': 3 });
  });

  it('a DN with a password: INVITE is digest-authenticated by default (authenticate-requests = invite,register): 407, then admitted; wrong password: 407 again, then 403', async () => {
    const { trust, store, registry } = setup();
    expect(store.effectiveOption('8888', 'authenticate-requests')).toBe('invite,register');
    const first = trust.check(invite('8888'), at('127.0.0.3', 5062));
    expect(first).toMatchObject({ admit: false, status: 407, reason: 'Proxy Authentication Required' });
    if (first.admit) throw new Error('admitted');
    expect(first.why).toBeUndefined();
    const challenges = first.headers.filter(([h]) => h === 'Proxy-Authenticate').map(([, v]) => v);
    expect(challenges[0]).toMatch(/^Digest realm="127\.0\.0\.1", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    const good = new DigestClient({ username: '8888', password: '8888-secret' }).answer({
      method: 'INVITE',
      uri: 'sip:+15559990000@127.0.0.1',
      challenges,
    })!;
    expect(trust.check(invite('8888', '+15559990000', good), at('127.0.0.3', 5062))).toEqual({
      admit: true,
      via: 'digest',
      dn: '8888',
    });
    // From elsewhere, with no credentials: challenged, never admitted on the From alone.
    expect(trust.check(invite('8888'), at('127.0.0.2'))).toMatchObject({ admit: false, status: 407 });
    const bad = new DigestClient({ username: '8888', password: 'guess' }).answer({
      method: 'INVITE',
      uri: 'sip:+15559990000@127.0.0.1',
      challenges,
    })!;
    const again = trust.check(invite('8888', '+15559990000', bad), at('127.0.0.2'));
    expect(again).toMatchObject({ admit: false, status: 407 });
    if (again.admit) throw new Error('admitted');
    const retry = again.headers.map(([, v]) => v);
    const bad2 = new DigestClient({ username: '8888', password: 'guess' }).answer({
      method: 'INVITE',
      uri: 'sip:+15559990000@127.0.0.1',
      challenges: retry,
    })!;
    expect(trust.check(invite('8888', '+15559990000', bad2), at('127.0.0.2'))).toMatchObject({
      admit: false,
      status: 403,
      why: 'bad-credentials',
    });
    expect(await refusedCount(registry)).toEqual({ 'bad-credentials': 1 });
    expect((await registry.getSingleMetric('sipserver_requests_challenged_total')!.get()).values[0]!.value).toBe(3);
  });

  it('a password DN without invite in authenticate-requests, and DNs without a password: location match, not the From', () => {
    const { trust, bind } = setup();
    expect(trust.check(invite('8889'), at('127.0.0.3'))).toMatchObject({
      admit: false,
      status: 403,
      why: 'location-mismatch',
    });
    expect(trust.check(invite('6001'), at('127.0.0.3'))).toMatchObject({
      admit: false,
      status: 403,
      why: 'location-mismatch',
    });
    bind('8889', at('127.0.0.3', 5062));
    bind('6001', at('127.0.0.3', 5062));
    expect(trust.check(invite('8889'), at('127.0.0.3', 5062))).toEqual({ admit: true, via: 'location', dn: '8889' });
    // Not strict: the IP is enough (another port, another transport).
    expect(trust.check(invite('6001'), at('127.0.0.3', 41000, 'tcp'))).toEqual({
      admit: true,
      via: 'location',
      dn: '6001',
    });
    expect(trust.check(invite('6001'), at('127.0.0.2', 5062))).toMatchObject({
      admit: false,
      why: 'location-mismatch',
    });
    // A static contact: its host.
    expect(trust.check(invite('6003'), at('192.0.2.33', 40000))).toEqual({ admit: true, via: 'location', dn: '6003' });
    // Behind a softswitch (no contact): only through the softswitch.
    expect(trust.check(invite('7777'), at('127.0.0.3'))).toMatchObject({ admit: false, why: 'location-mismatch' });
  });

  it('enable-strict-location-match = true: source IP, port and transport of the binding (DN or application level)', () => {
    const { trust, bind, store } = setup();
    bind('6002', at('127.0.0.3', 5062));
    expect(trust.check(invite('6002'), at('127.0.0.3', 5062))).toMatchObject({ admit: true, via: 'location' });
    expect(trust.check(invite('6002'), at('127.0.0.3', 5063))).toMatchObject({
      admit: false,
      why: 'location-mismatch',
    });
    expect(trust.check(invite('6002'), at('127.0.0.3', 5062, 'tcp'))).toMatchObject({
      admit: false,
      why: 'location-mismatch',
    });
    bind('6001', at('127.0.0.3', 5062));
    expect(trust.check(invite('6001'), at('127.0.0.3', 5099))).toMatchObject({ admit: true });
    store.apply([
      { op: 'patch', kind: 'server', key: 'server', value: { options: { 'enable-strict-location-match': 'true' } } },
    ]);
    expect(trust.check(invite('6001'), at('127.0.0.3', 5099))).toMatchObject({
      admit: false,
      why: 'location-mismatch',
    });
  });

  it('follows configuration changes: trusted-sources added and removed, a peer deleted', () => {
    const { trust, store } = setup();
    expect(trust.check(invite('x'), at('127.0.0.4'))).toMatchObject({ admit: false, status: 403 });
    store.apply([
      { op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'trusted-sources': '127.0.0.4/31' } } },
    ]);
    expect(trust.check(invite('x'), at('127.0.0.4'))).toMatchObject({ admit: true, peer: 'Softswitch' });
    expect(trust.check(invite('x'), at('127.0.0.5'))).toMatchObject({ admit: true, peer: 'Softswitch' });
    store.apply([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'trusted-sources': null } } }]);
    expect(trust.check(invite('x'), at('127.0.0.4'))).toMatchObject({ admit: false });
    expect(trust.check(invite('x'), at('127.0.0.1'))).toMatchObject({ admit: true });
    store.apply([{ op: 'delete', kind: 'dn', key: 'Softswitch' }]);
    expect(trust.check(invite('x'), at('127.0.0.1'))).toMatchObject({ admit: false, why: 'untrusted-source' });
  });

  it('validation: trusted-sources must be addresses or CIDR blocks; authenticate-requests names methods', () => {
    const bad = loadConfigText(
      CONFIG.replace(
        'trusted-sources: "198.51.100.0/24, 2001:db8::/32"',
        'trusted-sources: "198.51.100.0/24, sbc.example.com"',
      ),
    );
    expect(JSON.stringify(bad.errors)).toContain('trusted-sources');
    expect(JSON.stringify(bad.errors)).toContain('sbc.example.com');
    const bad2 = loadConfigText(
      CONFIG.replace('authenticate-requests: "register"', 'authenticate-requests: "invite,bye"'),
    );
    expect(JSON.stringify(bad2.errors)).toContain('authenticate-requests');
    const v6 = loadConfigText(CONFIG.replace('2001:db8::/32', '2001:db8::/129'));
    expect(JSON.stringify(v6.errors)).toContain('2001:db8::/129');
  });
});
