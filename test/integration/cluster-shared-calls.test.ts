/**
 * The call records of the nodes in a real Redis (docs/cluster.md, "Calls of a dead node"): two
 * `RedisSharedCalls` stores in this process stand for two nodes. Checked: a record put by one
 * node is found by the other from either leg's Call-ID; a record whose legs changed drops the
 * stale Call-ID; the takeover makes the taker the holder of the dead node's records, as orphans;
 * a claim deletes a record only while it is unchanged, once; the end of an orphan is announced
 * to every node; a call that ends before the write-behind flush never reaches Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSharedCalls } from '../../src/cluster/redis-shared-calls.js';
import type { SharedCallRecord, SharedLeg } from '../../src/contact-center/calls/shared-calls.js';
import { DialogState } from '../../src/sip/dialog/dialog-state.js';
import { silentLogger } from '../../src/util/logger.js';
import { TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

function leg(callId: string, dn?: string): SharedLeg {
  return {
    ...(dn ? { dn } : {}),
    address: dn ?? '+15550001',
    transport: 'udp',
    dialog: {
      role: 'uas',
      state: DialogState.Confirmed,
      id: { callId, localTag: `l-${callId}`, remoteTag: `r-${callId}` },
      localSeq: 7,
      remoteSeq: 1,
      localHeader: `<sip:node@127.0.0.1>;tag=l-${callId}`,
      remoteHeader: `<sip:peer@127.0.0.1>;tag=r-${callId}`,
      remoteTarget: 'sip:peer@127.0.0.1:5099',
      routeSet: ['<sip:127.0.0.1:5060;lr>'],
      secure: false,
      localContact: '<sip:node@127.0.0.1:5070>',
    },
  };
}

describe('shared call records in Redis', () => {
  let redis: TestRedis;
  const conns: Redis[] = [];
  const alive = new Set(['n1', 'n2']);
  const stores: RedisSharedCalls[] = [];

  async function store(self: string): Promise<RedisSharedCalls> {
    const r = new Redis(redis.url);
    const sub = new Redis(redis.url);
    conns.push(r, sub);
    const s = new RedisSharedCalls({
      redis: r,
      sub,
      prefix: 'sipserver',
      self,
      isAlive: (n) => alive.has(n),
      logger: silentLogger,
    });
    await s.start();
    stores.push(s);
    return s;
  }

  beforeAll(async () => {
    redis = await TestRedis.start();
  });

  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await redis.stop();
  });

  it('a record put by one node is found by another from each leg; stale Call-IDs are dropped; a takeover makes orphans; a claim wins once', async () => {
    const n1 = await store('n1');
    const n2 = await store('n2');
    const probe = new Redis(redis.url);
    conns.push(probe);
    const record: SharedCallRecord = {
      connId: 'c0ffee01',
      callType: 'Inbound',
      ani: '+15550001',
      dnis: '5000',
      legs: [leg('cust-1'), leg('agent-1', '1000')],
    };
    n1.put(record, []);
    const found = await waitFor(() => n2.find('agent-1'), 'the record from the agent leg');
    expect(found).toMatchObject({ holder: 'n1', orphan: false, record });
    expect((await n2.find('cust-1'))?.record.connId).toBe('c0ffee01');
    expect(await probe.smembers('sipserver:calls:n1')).toEqual(['c0ffee01']);

    // The agent leg is replaced (a transfer): its old Call-ID no longer finds the call.
    const moved: SharedCallRecord = { ...record, legs: [leg('cust-1'), leg('agent-2', '1001')] };
    n1.put(moved, ['agent-1']);
    await waitFor(async () => (await n2.find('agent-2'))?.record.connId === 'c0ffee01', 'the new leg');
    expect(await n2.find('agent-1')).toBeUndefined();

    // n1 dies: n2 takes its records over as orphans.
    alive.delete('n1');
    expect(await n2.takeOver('n1')).toEqual([moved]);
    const orphan = await n2.find('cust-1');
    expect(orphan).toMatchObject({ holder: 'n2', orphan: true });
    expect(await probe.exists('sipserver:calls:n1')).toBe(0);
    expect(await probe.smembers('sipserver:calls:n2')).toEqual(['c0ffee01']);
    expect(await n2.takeOver('n1')).toEqual([]);

    // A claim on a text that changed since loses; the current one wins, once.
    expect(await n1.claim({ ...orphan!, text: JSON.stringify(record) })).toBe(false);
    expect(await n1.exist(['c0ffee01', 'nope'])).toEqual([true, false]);
    expect(await n1.claim(orphan!)).toBe(true);
    expect(await n2.claim(orphan!)).toBe(false);
    expect(await n1.exist(['c0ffee01'])).toEqual([false]);
    expect(await probe.exists('sipserver:dialog:cust-1', 'sipserver:dialog:agent-2')).toBe(0);
    expect(await probe.smembers('sipserver:calls:n2')).toEqual([]);

    // The end of an orphan reaches every node.
    const heard: string[] = [];
    n2.onEnded((id) => heard.push(`n2 ${id}`));
    n1.onEnded((id) => heard.push(`n1 ${id}`));
    n1.announceEnded('c0ffee01');
    await waitFor(() => heard.length === 2, 'the announcement on both nodes');
    expect(heard.sort()).toEqual(['n1 c0ffee01', 'n2 c0ffee01']);
  });

  it('a call that ended on its node leaves nothing; an orphan written again after Redis lost it is still an orphan', async () => {
    const [n1, n2] = stores;
    const probe = conns[conns.length - 1]!;
    const record: SharedCallRecord = {
      connId: 'c0ffee02',
      callType: 'Internal',
      legs: [leg('a-2', '1002'), leg('b-2')],
    };
    n1!.put(record, []);
    await waitFor(() => n2!.find('b-2'), 'the record');
    n1!.remove('c0ffee02', ['a-2', 'b-2']);
    await waitFor(async () => (await n2!.find('a-2')) === undefined, 'the record gone');
    expect(await probe.keys('sipserver:*c0ffee02*')).toEqual([]);
    expect(await probe.exists('sipserver:dialog:a-2', 'sipserver:dialog:b-2')).toBe(0);

    // Written behind: a call that ends before the flush never reaches Redis.
    const short: SharedCallRecord = { connId: 'c0ffee03', callType: 'Inbound', legs: [leg('a-3'), leg('b-3', '1003')] };
    n1!.put(short, []);
    n1!.remove('c0ffee03', ['a-3', 'b-3']);
    n1!.flush();
    expect(await n1!.find('a-3')).toBeUndefined(); // n1's own connection: after anything it sent
    expect(await probe.exists('sipserver:call:c0ffee03', 'sipserver:dialog:a-3')).toBe(0);

    n2!.put(record, [], true);
    expect(await waitFor(() => n1!.find('a-2'), 'the orphan again')).toMatchObject({ holder: 'n2', orphan: true });
  });
});
