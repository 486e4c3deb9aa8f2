/**
 * Device health shared by two nodes through a real Redis (docs/cluster.md, "Device health"):
 * each node is an OOS prober over its own SIP stack, a membership lease and a DeviceHealth, and
 * the device is a UDP responder on loopback that counts the OPTIONS it gets per sender. Only one
 * node sends OPTIONS; both see the device go out of service and come back (listeners on both);
 * passive detection on the node that does not probe reaches the other; a node joining reads the
 * stored state; Redis stopped → both probe, Redis back (empty) → one again; the holder crashes →
 * the other takes over within the lease and two renewals. With prober stand-ins: opposite
 * findings at the same instant converge without flapping; a node that joins gets the devices that
 * prefer it; a device removed from a node's configuration is given back and taken by the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMembership } from '../../src/cluster/cluster-membership.js';
import { DeviceHealth, preferredNode } from '../../src/cluster/device-health.js';
import { OosProber, type DeviceState, type ProbeGate, type ProbeTarget } from '../../src/reachability/oos-prober.js';
import { StackOptionsSender } from '../../src/reachability/options-sender-stack.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';
import { connectRedisPair } from '../../src/util/redis-client.js';
import type { Redis } from 'ioredis';
import { OptionsDevice as Device } from '../helpers/options-device.js';
import { TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const LEASE_MS = 1500;
const RENEW_MS = 500;
const PREFIX = `dh${process.pid}`;
const DN = 'Softswitch';

interface Node {
  name: string;
  port: number;
  prober: OosProber;
  health: DeviceHealth;
  events: string[];
  /** Stops cleanly (leases given back) or as a crash (nothing given back). */
  stop(crash?: boolean): Promise<void>;
}

let redis: TestRedis;
let device: Device;
const nodes: Node[] = [];

function target(): ProbeTarget {
  return {
    dn: DN,
    uri: `sip:127.0.0.1:${device.port}`,
    dest: { transport: 'udp', host: '127.0.0.1', port: device.port },
    checkSeconds: 1,
    forceSeconds: 0.5,
  };
}

async function startNode(name: string): Promise<Node> {
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], logger: silentLogger });
  await stack.start();
  const port = Number(stack.addressStrings()[0].split(':').pop());
  const prober = new OosProber({
    clock: systemClock,
    sender: new StackOptionsSender(stack, silentLogger),
    logger: silentLogger,
  });
  prober.useGate({ probes: () => false }); // as the app does until the node joined
  const events: string[] = [];
  prober.addListener({
    outOfService: (dn) => events.push(`OUT ${dn}`),
    backInService: (dn) => events.push(`IN ${dn}`),
    stateChanged: (dn, from, to) => {
      if (from === 'unknown') events.push(`${to} ${dn}`);
    },
  });
  prober.upsert(target());
  const [cmd, sub]: [Redis, Redis] = await connectRedisPair(redis.url);
  const membership = new ClusterMembership({
    redis: cmd,
    prefix: PREFIX,
    self: { name, sip: [], pid: process.pid, startedAt: new Date().toISOString() },
    logger: silentLogger,
    leaseMs: LEASE_MS,
    renewMs: RENEW_MS,
    onDeadNode: async () => undefined,
  });
  await membership.start();
  const health = new DeviceHealth({
    redis: cmd,
    sub,
    prefix: PREFIX,
    self: name,
    liveNodes: () => membership.liveNodes(),
    logger: process.env.DH_DEBUG ? createLogger('debug').child({ node: name }) : silentLogger,
    leaseMs: LEASE_MS,
    renewMs: RENEW_MS,
  });
  await health.attach(prober);
  let stopped = false;
  const node: Node = {
    name,
    port,
    prober,
    health,
    events,
    async stop(crash = false) {
      if (stopped) return;
      stopped = true;
      prober.stop();
      if (crash) {
        cmd.disconnect();
        sub.disconnect();
      }
      await health.close().catch(() => undefined);
      await membership.stop().catch(() => undefined);
      cmd.disconnect();
      sub.disconnect();
      await stack.stop();
    },
  };
  nodes.push(node);
  return node;
}

/** The node that probes the device, once both nodes agree. */
async function holder(a: Node, b: Node): Promise<Node> {
  return waitFor(
    () => {
      const ha = a.health.probes()[DN];
      return ha !== undefined && ha === b.health.probes()[DN] ? (ha === a.name ? a : b) : undefined;
    },
    { what: 'both nodes agreeing on the device’s holder', timeoutMs: 15_000 },
  );
}

/** Waits until the holder has not changed for a lease and a renewal (rebalancing done). */
async function stableHolder(a: Node, b: Node): Promise<Node> {
  for (;;) {
    const h = await holder(a, b);
    await new Promise((r) => setTimeout(r, LEASE_MS + 2 * RENEW_MS));
    if ((await holder(a, b)) === h) return h;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  redis = await TestRedis.start();
  device = await Device.start();
});

afterAll(async () => {
  for (const n of nodes) await n.stop();
  device?.close();
  await redis?.stop();
});

describe('device health in a cluster: one prober per device, elected with a lease', () => {
  let a: Node;
  let b: Node;

  it('only one node sends OPTIONS; both see the device in service; the cluster view names the prober', async () => {
    [a, b] = await Promise.all([startNode('a'), startNode('b')]);
    await waitFor(() => a.prober.state(DN) === 'in-service' && b.prober.state(DN) === 'in-service', 'both in service');
    const h = await stableHolder(a, b);
    const t = Date.now();
    await sleep(3500);
    expect([...device.sendersSince(t)]).toEqual([h.port]);
    expect(device.seen.filter((s) => s.t >= t).length).toBeGreaterThanOrEqual(3);
    expect(a.events).toEqual(['in-service Softswitch']);
    expect(b.events).toEqual(['in-service Softswitch']);
  });

  it('the device stops answering: both nodes see it out of service, then back in service, from the one prober', async () => {
    const h = await holder(a, b);
    const other = h === a ? b : a;
    const t = Date.now();
    device.answering = false;
    await waitFor(() => a.events.includes('OUT Softswitch') && b.events.includes('OUT Softswitch'), 'OUT on both');
    device.answering = true;
    await waitFor(() => a.events.includes('IN Softswitch') && b.events.includes('IN Softswitch'), 'IN on both');
    for (const n of [a, b]) expect(n.events).toEqual(['in-service Softswitch', 'OUT Softswitch', 'IN Softswitch']);
    expect(device.sendersSince(t).has(other.port)).toBe(false);
  });

  it('passive detection on the node that does not probe reaches the prober; its next probe brings both back', async () => {
    const h = await holder(a, b);
    const other = h === a ? b : a;
    const before = h.events.length;
    other.prober.reportInviteFailure(DN, 'timeout');
    await waitFor(() => h.prober.state(DN) === 'out-of-service' || h.events.length > before + 1, 'the prober told');
    await waitFor(() => a.prober.state(DN) === 'in-service' && b.prober.state(DN) === 'in-service', 'both back');
    for (const n of [a, b]) expect(n.events.slice(-2)).toEqual(['OUT Softswitch', 'IN Softswitch']);
  });

  it('a node that joins reads the stored state before it probes anything', async () => {
    device.answering = false;
    await waitFor(() => a.prober.state(DN) === 'out-of-service' && b.prober.state(DN) === 'out-of-service', 'OUT');
    const c = await startNode('c');
    expect(c.prober.state(DN)).toBe('out-of-service');
    expect(c.events).toEqual(['out-of-service Softswitch', 'OUT Softswitch']);
    await c.stop();
    device.answering = true;
    await waitFor(() => a.prober.state(DN) === 'in-service' && b.prober.state(DN) === 'in-service', 'both back');
  });

  it('Redis stopped: both nodes probe; Redis back (empty): one node probes again and both agree', async () => {
    await redis.down();
    const down = Date.now();
    await waitFor(() => device.sendersSince(down).size === 2, { what: 'both nodes probing', timeoutMs: 10_000 });
    await redis.up();
    await stableHolder(a, b);
    const h = await holder(a, b);
    const t = Date.now();
    await sleep(3500);
    expect([...device.sendersSince(t)]).toEqual([h.port]);
    device.answering = false;
    await waitFor(() => a.prober.state(DN) === 'out-of-service' && b.prober.state(DN) === 'out-of-service', 'OUT');
    device.answering = true;
    await waitFor(() => a.prober.state(DN) === 'in-service' && b.prober.state(DN) === 'in-service', 'both back');
  });

  it('the holder crashes: the other node takes the lease over and probes within the lease and two renewals', async () => {
    const h = await stableHolder(a, b);
    const other = h === a ? b : a;
    const t = Date.now();
    await h.stop(true);
    const first = await waitFor(() => device.seen.find((s) => s.t >= t && s.port === other.port), {
      what: 'the other node probing',
      timeoutMs: 10_000,
    });
    const took = first.t - t;
    console.log(`takeover: first OPTIONS from the other node ${took} ms after the holder crashed`);
    expect(took).toBeLessThanOrEqual(LEASE_MS + 2 * RENEW_MS + 100 + 500);
    expect(other.health.probes()).toEqual({ [DN]: other.name });
  });
});

/** A prober stand-in: the states it holds, the gate it was given. */
class FakeDevices {
  gate: ProbeGate | undefined;
  readonly states = new Map<string, DeviceState>();
  constructor(readonly dns_: string[]) {
    for (const dn of dns_) this.states.set(dn, 'unknown');
  }
  dns(): IterableIterator<string> {
    return this.dns_.values();
  }
  useGate(g: ProbeGate | undefined): void {
    this.gate = g;
  }
  wake(): void {}
  /** States applied from the cluster that changed this node's state. */
  remoteChanges = 0;
  applyRemote(dn: string, state: DeviceState): boolean {
    if (!this.dns_.includes(dn)) return false;
    if (this.states.get(dn) !== state) this.remoteChanges++;
    this.states.set(dn, state);
    return true;
  }
  /** What the prober does on a local transition: set, then tell the gate. */
  local(dn: string, state: DeviceState): void {
    this.states.set(dn, state);
    this.gate?.observed?.(dn, state, state === 'out-of-service' ? 'test' : undefined, true);
  }
}

describe('device health with prober stand-ins: crossing findings, spread, removal', () => {
  it('two nodes reporting opposite transitions at the same instant end on the same state, the stored one, without flapping (40 rounds)', async () => {
    const prefix = `${PREFIX}x`;
    const conns: Redis[] = [];
    const healths: DeviceHealth[] = [];
    const fakes: FakeDevices[] = [];
    for (const name of ['p', 'q']) {
      const [cmd, sub] = await connectRedisPair(redis.url);
      conns.push(cmd, sub);
      const h = new DeviceHealth({
        redis: cmd,
        sub,
        prefix,
        self: name,
        liveNodes: () => ['p', 'q'],
        logger: silentLogger,
      });
      const f = new FakeDevices(['X']);
      await h.attach(f);
      healths.push(h);
      fakes.push(f);
    }
    const [p, q] = fakes;
    try {
      for (let round = 0; round < 40; round++) {
        const [first, second] = round % 2 === 0 ? [p, q] : [q, p];
        p.remoteChanges = q.remoteChanges = 0;
        first.local('X', 'in-service');
        second.local('X', 'out-of-service');
        const stored = await waitFor(
          async () => {
            const text = await conns[0].get(`${prefix}:device:X`);
            const rec = text ? (JSON.parse(text) as { v: number; state: DeviceState }) : undefined;
            return rec &&
              rec.v === 2 * (round + 1) &&
              p.states.get('X') === rec.state &&
              q.states.get('X') === rec.state
              ? rec
              : undefined;
          },
          { what: `round ${round}: both nodes on the stored state`, timeoutMs: 5000, intervalMs: 5 },
        );
        expect(['in-service', 'out-of-service']).toContain(stored.state);
        // The node whose finding lost goes over to the stored state once; a node never goes
        // through the other's older state first (its own write's version is awaited).
        await new Promise((r) => setTimeout(r, 20));
        expect(p.remoteChanges + q.remoteChanges, `round ${round}`).toBe(1);
      }
    } finally {
      for (const h of healths) await h.close();
      for (const c of conns) c.disconnect();
    }
  });

  it('a node that joins gets the devices that prefer it; a device removed from the configuration is given back', async () => {
    const prefix = `${PREFIX}y`;
    const lease = 600;
    const renew = 200;
    const live: string[] = ['p'];
    const conns: Redis[] = [];
    const healths: DeviceHealth[] = [];
    const start = async (name: string, f: FakeDevices): Promise<DeviceHealth> => {
      const [cmd, sub] = await connectRedisPair(redis.url);
      conns.push(cmd, sub);
      const h = new DeviceHealth({
        redis: cmd,
        sub,
        prefix,
        self: name,
        liveNodes: () => live,
        logger: silentLogger,
        leaseMs: lease,
        renewMs: renew,
      });
      await h.attach(f);
      healths.push(h);
      return h;
    };
    const dns = [...Array(20).keys()].map((i) => `D${i}`);
    try {
      const hp = await start('p', new FakeDevices([...dns]));
      expect(Object.values(hp.probes())).toEqual(dns.map(() => 'p'));
      live.push('q');
      const fq = new FakeDevices([...dns]);
      const hq = await start('q', fq);
      const want = Object.fromEntries(
        dns.map((dn) => [dn, preferredNode(dn, live)!]).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      expect(new Set(Object.values(want))).toEqual(new Set(['p', 'q']));
      const t = Date.now();
      await waitFor(
        () =>
          JSON.stringify(hp.probes()) === JSON.stringify(want) && JSON.stringify(hq.probes()) === JSON.stringify(want),
        {
          what: 'each device held by the node it prefers',
          timeoutMs: 2 * lease + 4 * renew,
          detail: () => JSON.stringify(hq.probes()),
        },
      );
      console.log(
        `device health: a joining node got its ${Object.values(want).filter((n) => n === 'q').length} of 20 devices ${Date.now() - t} ms after it joined (lease ${lease} ms)`,
      );
      // q's configuration loses a device it probes: its lease is deleted at q's next renewal.
      const mine = dns.find((dn) => want[dn] === 'q')!;
      fq.dns_.splice(fq.dns_.indexOf(mine), 1);
      await waitFor(async () => (await conns[0].get(`${prefix}:probe:${mine}`)) !== 'q', {
        what: 'the lease given back',
        timeoutMs: 3 * renew,
      });
      // p, which still has the device, takes it over.
      await waitFor(async () => (await conns[0].get(`${prefix}:probe:${mine}`)) === 'p', {
        what: 'p taking it',
        timeoutMs: 5 * renew,
      });
    } finally {
      for (const h of healths) await h.close();
      for (const c of conns) c.disconnect();
    }
  });
});
