/**
 * Registrations shared through a real Redis (docs/cluster.md): what one node's REGISTERs change
 * reaches the other nodes' binding tables, a node that starts later loads them, keys expire with
 * the bindings, and a Redis restarted empty is filled again from the nodes.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Binding } from '../../src/registrar/binding.js';
import { BindingTable } from '../../src/registrar/binding-table.js';
import { RedisBindingReplica } from '../../src/registrar/redis-binding-replica.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { freePort } from '../helpers/ports.js';
import { TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let redis: TestRedis;
const open: Array<{ replica: RedisBindingReplica; table: BindingTable }> = [];
let prefixSeq = 0;
let prefix = '';

async function node(
  name: string,
  admit?: (dn: string) => boolean,
): Promise<{ replica: RedisBindingReplica; table: BindingTable }> {
  const table = new BindingTable(systemClock);
  const replica = await RedisBindingReplica.connect({
    url: redis.url,
    node: name,
    clock: systemClock,
    logger: silentLogger,
    prefix,
  });
  await replica.attach(table, admit);
  const n = { replica, table };
  open.push(n);
  return n;
}

function binding(dn: string, port: number, expiresInMs = 60_000, updatedAt = Date.now()): Binding {
  const contact = `sip:${dn}@127.0.0.1:${port}`;
  const address = { transport: 'udp' as const, host: '127.0.0.1', port };
  return {
    dn,
    contact,
    key: contact,
    expiresAt: Date.now() + expiresInMs,
    callId: `c-${dn}-${port}`,
    cseq: 1,
    source: address,
    dest: address,
    nat: false,
    registeredAt: updatedAt,
    updatedAt,
  };
}

const contactsOf = (t: BindingTable, dn: string): string[] => t.get(dn).map((b) => b.contact);

beforeAll(async () => {
  redis = await TestRedis.start();
});

beforeEach(() => {
  // Each test its own keys and channel.
  prefix = `t${++prefixSeq}`;
});

afterEach(async () => {
  for (const n of open.splice(0)) {
    await n.replica.close();
    n.table.close();
  }
});

afterAll(async () => {
  await redis?.stop();
});

describe('registrations shared through Redis', () => {
  it('a REGISTER on one node reaches the others, with events; an unregister removes it there too', async () => {
    const a = await node('a');
    const b = await node('b');
    const registered: string[] = [];
    const unregistered: string[] = [];
    b.table.addListener({ registered: (dn) => registered.push(dn), unregistered: (dn) => unregistered.push(dn) });
    const bind = binding('8888', 15060);
    a.table.apply('8888', [{ op: 'put', binding: bind }]);
    await waitFor(() => contactsOf(b.table, '8888').length === 1, 'the binding on node b');
    expect(contactsOf(b.table, '8888')).toEqual(['sip:8888@127.0.0.1:15060']);
    expect(b.table.get('8888')[0].dest).toEqual(bind.dest);
    expect(registered).toEqual(['8888']);
    a.table.apply('8888', [{ op: 'remove', dn: '8888', key: bind.key }]);
    await waitFor(() => contactsOf(b.table, '8888').length === 0, 'the binding gone from node b');
    expect(unregistered).toEqual(['8888']);
  });

  it('a node that starts later loads every binding, with a TTL equal to its expiry; other DNs are not admitted', async () => {
    const a = await node('a');
    a.table.apply('8888', [{ op: 'put', binding: binding('8888', 15062, 30_000) }]);
    a.table.apply('7777', [{ op: 'put', binding: binding('7777', 15064, 30_000) }]);
    const raw = new Redis(redis.url);
    try {
      await waitFor(async () => (await raw.exists(`${prefix}:binding:8888:sip:8888@127.0.0.1:15062`)) === 1, 'the key');
      const ttl = await raw.pttl(`${prefix}:binding:8888:sip:8888@127.0.0.1:15062`);
      expect(ttl).toBeGreaterThan(28_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
    } finally {
      raw.disconnect();
    }
    const c = await node('c', (dn) => dn !== '7777');
    expect(contactsOf(c.table, '8888')).toEqual(['sip:8888@127.0.0.1:15062']);
    expect(contactsOf(c.table, '7777')).toEqual([]);
  });

  it('a late remove does not take away a newer binding; an expired one is not added', async () => {
    const b = await node('b');
    const fresh = binding('8888', 15066, 60_000, Date.now());
    b.table.applyRemote('8888', [{ op: 'put', binding: fresh }]);
    b.table.applyRemote('8888', [{ op: 'remove', dn: '8888', key: fresh.key, at: fresh.updatedAt - 1000 }]);
    expect(contactsOf(b.table, '8888')).toEqual([fresh.contact]);
    b.table.applyRemote('8888', [{ op: 'put', binding: { ...fresh, updatedAt: fresh.updatedAt - 5000 } }]);
    expect(b.table.get('8888')[0].updatedAt).toBe(fresh.updatedAt);
    b.table.applyRemote('6666', [{ op: 'put', binding: binding('6666', 15068, -1) }]);
    expect(contactsOf(b.table, '6666')).toEqual([]);
  });

  it('Redis restarted empty: each node writes its own bindings again, and a new node finds them', async () => {
    const a = await node('a');
    a.table.apply('8888', [{ op: 'put', binding: binding('8888', 15070) }]);
    const raw = new Redis(redis.url, { lazyConnect: true, retryStrategy: () => 100 });
    raw.on('error', () => undefined);
    await raw.connect();
    try {
      const key = `${prefix}:binding:8888:sip:8888@127.0.0.1:15070`;
      await waitFor(async () => (await raw.exists(key)) === 1, 'the key before the restart');
      await redis.down();
      await redis.up();
      await waitFor(async () => (await raw.exists(key).catch(() => 0)) === 1, {
        what: 'node a writing its binding again',
        timeoutMs: 10_000,
      });
    } finally {
      raw.disconnect();
    }
    const d = await node('d');
    expect(contactsOf(d.table, '8888')).toEqual(['sip:8888@127.0.0.1:15070']);
  });

  it('an unreachable Redis is a clear error', async () => {
    const port = await freePort();
    await expect(
      RedisBindingReplica.connect({
        url: `redis://:secret@127.0.0.1:${port}`,
        node: 'x',
        clock: systemClock,
        logger: silentLogger,
        connectTimeoutMs: 1000,
      }),
    ).rejects.toThrow(new RegExp(`^cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
  });
});
