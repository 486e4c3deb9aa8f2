import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { createRegistrar } from '../../../src/registrar/registrar-module.js';
import { parseMessage } from '../../../src/sip/message/index.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import type { IncomingRequest } from '../../../src/sip/stack/incoming-request.js';
import type { RequestHandler } from '../../../src/sip/stack/uas-core.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { examplesDir } from '../../helpers/paths.js';

const dirs: string[] = [];
const stores: ConfigStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A stand-in for the stack: keeps the handler, answers into a list. */
function fakeStack() {
  let handler: RequestHandler | undefined;
  return {
    handle(method: string, h: RequestHandler) {
      expect(method).toBe('REGISTER');
      handler = h;
      return () => (handler = undefined);
    },
    deliver(text: string): Array<{ status: number; headers: Array<[string, string]>; stateless: boolean }> {
      const replies: Array<{ status: number; headers: Array<[string, string]>; stateless: boolean }> = [];
      const source = { transport: 'udp', host: '127.0.0.1', port: 5062 };
      const ctx = {
        request: parseMessage(Buffer.from(text.replace(/\n/g, '\r\n'))) as SipRequest,
        source,
        origin: source,
        finalSent: false,
        reply(status: number, _reason?: string, headers?: Array<[string, string]>) {
          replies.push({ status, headers: headers ?? [], stateless: false });
        },
        replyStateless(status: number, _reason?: string, headers?: Array<[string, string]>) {
          replies.push({ status, headers: headers ?? [], stateless: true });
        },
      } as unknown as IncomingRequest;
      expect(handler!(ctx)).toBe(true);
      return replies;
    },
    get registered() {
      return handler !== undefined;
    },
  };
}

const REGISTER = (user: string, expires = 3600) => `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK${Math.random().toString(36).slice(2)}
From: <sip:${user}@127.0.0.1>;tag=1
To: <sip:${user}@127.0.0.1>
Call-ID: c1
CSeq: ${Math.floor(Math.random() * 1e6) + 1} REGISTER
Contact: <sip:${user}@127.0.0.1:5062>
Expires: ${expires}
Content-Length: 0

`;

/** A store from office.yaml plus DN 6001 (`contact = *`, no password), in a temporary directory, and a fake clock. */
function officeStore(): { dir: string; store: ConfigStore; clock: FakeClock } {
  const dir = mkdtempSync(join(tmpdir(), 'regmod-'));
  dirs.push(dir);
  const store = openStore(dir);
  stores.push(store);
  store.reconcile(loadConfigFile(join(examplesDir, 'office.yaml')).model!);
  store.apply([{ op: 'put', kind: 'dn', key: '6001', value: { type: 'extension', options: { contact: '*' } } }]);
  return { dir, store, clock: new FakeClock(1_000_000) };
}

describe('createRegistrar', () => {
  it('handles REGISTER on the stack, drops bindings of a DN no longer contact=*, follows server options', () => {
    const { dir, store, clock } = officeStore();
    const stack = fakeStack();
    const reg = createRegistrar({ stack, store, clock, logger: silentLogger, dataDir: dir });
    const events: string[] = [];
    reg.addListener({
      registered: (dn) => events.push(`reg ${dn}`),
      unregistered: (dn, why) => events.push(`unreg ${dn} ${why}`),
    });

    expect(stack.deliver(REGISTER('6001')).map((r) => [r.status, r.stateless])).toEqual([[200, true]]);
    expect(reg.status()).toEqual([
      {
        dn: '6001',
        contact: 'sip:6001@127.0.0.1:5062',
        expires: 3600,
        source: 'udp:127.0.0.1:5062',
        nat: false,
        userAgent: undefined,
      },
    ]);
    store.apply([{ op: 'patch', kind: 'dn', key: '6001', value: { options: { contact: '127.0.0.1:5999' } } }]);
    expect(reg.bindings('6001')).toEqual([]);
    expect(events).toEqual(['reg 6001', 'unreg 6001 deconfigured']);
    // Every answer is stateless (RFC 3261 §8.2.7): no server transaction.
    expect(stack.deliver(REGISTER('6001')).map((r) => [r.status, r.stateless])).toEqual([[404, true]]);

    // 8888 has a password: challenges follow `auth-algorithms` changes without a restart.
    const www = (r: { headers: Array<[string, string]> }) => r.headers.filter(([n]) => n === 'WWW-Authenticate').length;
    expect(www(stack.deliver(REGISTER('8888'))[0])).toBe(1); // default: MD5 only
    store.apply([
      {
        op: 'patch',
        kind: 'server',
        key: 'server',
        value: { options: { 'auth-algorithms': 'SHA-256,MD5', 'registrar-min-expires': '120' } },
      },
    ]);
    expect(www(stack.deliver(REGISTER('8888'))[0])).toBe(2);
    store.apply([{ op: 'patch', kind: 'dn', key: '6001', value: { options: { contact: '*' } } }]);
    expect(stack.deliver(REGISTER('6001', 90))[0]).toEqual({
      status: 423,
      headers: [['Min-Expires', '120']],
      stateless: true,
    });

    reg.close();
    expect(stack.registered).toBe(false);
    expect(clock.pending).toBe(0);
  });
  it('counts answers by status in sipserver_register_responses_total: several registrars on one registry add up, a scrape changes nothing', async () => {
    const { store, clock } = officeStore();
    const registry = new Registry();
    const count = async (status: number): Promise<number> => {
      const m = await registry.getSingleMetric('sipserver_register_responses_total')!.get();
      return m.values.find((v) => v.labels.status === String(status))?.value ?? 0;
    };
    const a = fakeStack();
    const regA = createRegistrar({ stack: a, store, clock, logger: silentLogger, registry });
    // Distinct Call-IDs: each REGISTER is accepted whatever its (random) CSeq.
    a.deliver(REGISTER('6001').replace('Call-ID: c1', 'Call-ID: m1'));
    a.deliver(REGISTER('6001').replace('Call-ID: c1', 'Call-ID: m2'));
    a.deliver(REGISTER('7777')); // not contact=*: 404
    a.deliver(REGISTER('8888')); // password: 401
    expect([await count(200), await count(404), await count(401)]).toEqual([2, 1, 1]);
    expect([await count(200), await count(404), await count(401)]).toEqual([2, 1, 1]);
    // A second registrar on the same registry (a rebuilt one) adds to the same series.
    const b = fakeStack();
    const regB = createRegistrar({ stack: b, store, clock, logger: silentLogger, registry });
    b.deliver(REGISTER('6001').replace('Call-ID: c1', 'Call-ID: m3'));
    regA.close();
    expect([await count(200), await count(404), await count(401)]).toEqual([3, 1, 1]);
    expect(await registry.metrics()).toContain('sipserver_register_responses_total{status="200"} 3');
    regB.close();
  });
});
