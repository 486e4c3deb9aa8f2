import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { OosProber, type ProbeTarget } from '../../../src/reachability/oos-prober.js';
import type { OptionsResult, OptionsSender } from '../../../src/reachability/options-sender.js';

/** An in-process peer: answers after `rttMs` on the fake clock while `alive`, else never (or as told). */
class FakePeer implements OptionsSender {
  alive = true;
  status = 200;
  rttMs = 10;
  /** What a dead peer gives: silence, or a transport error at once. */
  deadMode: 'silent' | 'transport-error' = 'silent';
  sent: number[] = [];
  constructor(private readonly clock: FakeClock) {}
  send(): Promise<OptionsResult> {
    this.sent.push(this.clock.now());
    if (!this.alive) {
      if (this.deadMode === 'transport-error')
        return Promise.resolve({ kind: 'transport-error', error: 'ECONNREFUSED' });
      return new Promise(() => undefined);
    }
    const status = this.status;
    return new Promise((resolve) => this.clock.setTimeout(() => resolve({ kind: 'final', status }), this.rttMs));
  }
}

/** Advance the fake clock in small steps, letting promise callbacks run in between. */
async function run(clock: FakeClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const SS: ProbeTarget = {
  dn: 'Softswitch',
  uri: 'sip:127.0.0.1:5081',
  dest: { transport: 'udp', host: '127.0.0.1', port: 5081 },
  checkSeconds: 10,
  forceSeconds: 2,
};

function setup(random = () => 0) {
  const clock = new FakeClock(0);
  const peer = new FakePeer(clock);
  const registry = new Registry();
  const prober = new OosProber({ clock, sender: peer, logger: silentLogger, random, registry });
  const events: string[] = [];
  prober.addListener({
    outOfService: (dn) => events.push(`${clock.now()} OUT ${dn}`),
    backInService: (dn) => events.push(`${clock.now()} IN ${dn}`),
  });
  return { clock, peer, prober, events, registry };
}

describe('OosProber', () => {
  it('probes at start, then every oos-check; OUT exactly oos-force after the unanswered probe; IN at the first answer (404)', async () => {
    const { clock, peer, prober, events } = setup();
    prober.upsert(SS);
    await run(clock, 20);
    expect(prober.state('Softswitch')).toBe('in-service');
    expect(peer.sent).toEqual([0]);
    await run(clock, 5_000 - 20);
    peer.alive = false; // dies at t = 5 s
    await run(clock, 11_990 - 5_000);
    expect(prober.state('Softswitch')).toBe('in-service');
    await run(clock, 10);
    expect(prober.state('Softswitch')).toBe('out-of-service'); // t = 12 s = probe at 10 + oos-force 2
    expect(events).toEqual(['12000 OUT Softswitch']);
    await run(clock, 31_000 - 12_000);
    peer.alive = true;
    peer.status = 404; // answers resume at t = 31 s, with an error code: still alive
    await run(clock, 10_000);
    expect(events).toEqual(['12000 OUT Softswitch', '40010 IN Softswitch']);
    expect(peer.sent).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
  });

  it('for any death and recovery time: down within oos-check + oos-force, up within oos-check + RTT', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 100, max: 30_000 }),
        fc.integer({ min: 13_000, max: 40_000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        async (die, downFor, jitter) => {
          const { clock, peer, prober, events } = setup(() => jitter);
          prober.upsert(SS);
          await run(clock, die, 100);
          peer.alive = false;
          await run(clock, downFor, 100);
          const out = events.find((e) => e.includes('OUT'));
          expect(out).toBeDefined();
          expect(Number(out!.split(' ')[0]) - die).toBeLessThanOrEqual(12_000 + 100);
          const back = clock.now();
          peer.alive = true;
          await run(clock, 10_200, 100);
          const inn = events.find((e) => e.includes(' IN '));
          expect(inn).toBeDefined();
          expect(Number(inn!.split(' ')[0]) - back).toBeLessThanOrEqual(10_000 + 100);
          prober.stop();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('first probe jittered by 0–10 % of oos-check', async () => {
    const { clock, peer, prober } = setup(() => 0.5);
    prober.upsert(SS);
    await run(clock, 499);
    expect(peer.sent).toEqual([]);
    await run(clock, 1);
    expect(peer.sent).toEqual([500]);
  });

  it("the guide's oos-check 10 / oos-force 2 to the millisecond: jittered first probe, fixed period after it, OUT 2 s after the unanswered probe, back at the next probe answered 404; status and metrics", async () => {
    // What test/e2e/e2e-oos-timing.test.ts checks over the real process with generous bounds.
    const { clock, peer, prober, events, registry } = setup(() => 0.3); // first probe 300 ms after start
    const metric = async (sample: string): Promise<number> => {
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${sample} `));
      return line ? Number(line.slice(sample.length + 1)) : 0;
    };
    prober.upsert(SS);
    await run(clock, 320);
    expect(peer.sent).toEqual([300]);
    expect(prober.state('Softswitch')).toBe('in-service'); // unknown → in service: no listener event
    expect(prober.snapshot()).toEqual([
      { dn: 'Softswitch', state: 'in-service', lastProbe: new Date(300).toISOString(), reason: undefined },
    ]);
    expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(1);
    expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(1);

    peer.alive = false; // the softswitch stops 20 ms after answering
    await run(clock, 12_300 - 320 - 10);
    expect(prober.state('Softswitch')).toBe('in-service'); // 12 290: the probe of 10 300 still within oos-force
    await run(clock, 10);
    expect(events).toEqual(['12300 OUT Softswitch']); // 10 300 + 2 000
    expect(peer.sent).toEqual([300, 10_300]); // the fixed period runs from the jittered first probe
    expect(prober.snapshot()).toEqual([
      {
        dn: 'Softswitch',
        state: 'out-of-service',
        lastProbe: new Date(10_300).toISOString(),
        reason: 'no final answer to OPTIONS within 2 s',
      },
    ]);
    expect(await metric('sipserver_oos_probes_total{result="timeout"}')).toBe(1);
    expect(await metric('sipserver_oos_transitions_total{to="out-of-service"}')).toBe(1);
    expect(await metric('sipserver_oos_devices{state="out-of-service"}')).toBe(1);

    peer.alive = true;
    peer.status = 404; // a UAS answering 404 takes its place: any final answer counts
    await run(clock, 20_300 + 10 - 12_300 - 10);
    expect(prober.state('Softswitch')).toBe('out-of-service'); // 20 300: probe sent, answer due at 20 310
    await run(clock, 10);
    expect(events).toEqual(['12300 OUT Softswitch', '20310 IN Softswitch']);
    expect(peer.sent).toEqual([300, 10_300, 20_300]);
    expect(prober.snapshot()).toEqual([
      { dn: 'Softswitch', state: 'in-service', lastProbe: new Date(20_300).toISOString(), reason: undefined },
    ]);
    expect(await metric('sipserver_oos_probes_total{result="answered"}')).toBe(2);
    expect(await metric('sipserver_oos_transitions_total{to="in-service"}')).toBe(2);
    expect(await metric('sipserver_oos_devices{state="in-service"}')).toBe(1);
    prober.stop();
  });

  it('never sends a new probe while one is pending (oos-force 0 → 32 s)', async () => {
    const { clock, peer, prober, events } = setup();
    peer.alive = false;
    prober.upsert({ ...SS, forceSeconds: 0 });
    await run(clock, 41_000, 100);
    expect(peer.sent).toEqual([0, 40_000]);
    expect(events).toEqual(['32000 OUT Softswitch']);
  });

  it('transport error → OUT at once; late answers after oos-force are ignored and counted', async () => {
    const { clock, peer, prober, events, registry } = setup();
    peer.alive = false;
    peer.deadMode = 'transport-error';
    prober.upsert(SS);
    clock.advance(0);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(events).toEqual(['0 OUT Softswitch']);
    // Alive but slower than oos-force: the answer at 3 s comes after the 2 s deadline.
    peer.alive = true;
    peer.rttMs = 3_000;
    await run(clock, 15_000, 100);
    expect(prober.state('Softswitch')).toBe('out-of-service');
    const text = await registry.metrics();
    expect(text).toMatch(/sipserver_oos_probes_total\{result="late"\} 1/);
    expect(text).toMatch(/sipserver_oos_transitions_total\{to="out-of-service"\} 1/);
  });

  it('passive detection: INVITE timeout, transport error and 503 mark OUT; 486/404/603 never', async () => {
    const { clock, prober } = setup();
    prober.upsert(SS);
    await run(clock, 20);
    for (const status of [404, 486, 603]) prober.reportInviteFailure('Softswitch', { status });
    expect(prober.state('Softswitch')).toBe('in-service');
    prober.reportInviteFailure('Softswitch', { status: 503 });
    expect(prober.state('Softswitch')).toBe('out-of-service');
    await run(clock, 10_000);
    expect(prober.state('Softswitch')).toBe('in-service');
    prober.reportInviteFailure('Softswitch', 'timeout');
    expect(prober.state('Softswitch')).toBe('out-of-service');
    prober.reportInviteFailure('NotProbed', 'timeout');
    expect(prober.state('NotProbed')).toBe('unknown');
  });

  it('snapshot for /api/status; remove and stop leave no timer behind', async () => {
    const { clock, prober } = setup();
    prober.upsert(SS);
    prober.upsert({ ...SS, dn: 'Other', checkSeconds: 0 });
    await run(clock, 20);
    expect(prober.snapshot()).toEqual([
      { dn: 'Softswitch', state: 'in-service', lastProbe: '1970-01-01T00:00:00.000Z', reason: undefined },
    ]);
    prober.remove('Softswitch');
    expect(clock.pending).toBe(0);
    prober.upsert(SS);
    prober.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('OosProber per-device options', () => {
  it('oos-failure-codes: 503 counts as failure; oos-recovery-count 2 needs two answers in a row', async () => {
    const { clock, peer, prober, events } = setup();
    peer.status = 503;
    prober.upsert({ ...SS, failureCodes: [503], recoveryCount: 2 });
    await run(clock, 20);
    expect(events).toEqual(['10 OUT Softswitch']);
    peer.status = 200;
    await run(clock, 10_000);
    expect(prober.state('Softswitch')).toBe('out-of-service'); // one answer at 10 s
    await run(clock, 10_000);
    expect(events).toEqual(['10 OUT Softswitch', '20010 IN Softswitch']);
  });

  it('passes oos-options-max-forwards to the sender; option-only changes keep the schedule', async () => {
    const clock = new FakeClock(0);
    const seen: Array<number | undefined> = [];
    const prober = new OosProber({
      clock,
      logger: silentLogger,
      random: () => 0,
      sender: { send: (_u, _d, _t, mf) => (seen.push(mf), Promise.resolve({ kind: 'final', status: 200 })) },
    });
    prober.upsert({ ...SS, maxForwards: 5 });
    await run(clock, 10);
    prober.upsert({ ...SS, maxForwards: 9 });
    await run(clock, 10_000);
    expect(seen).toEqual([5, 9]);
    prober.stop();
  });
});

describe('OosProber with a gate (a cluster: one node probes each device)', () => {
  it('sends no OPTIONS while the gate says another node probes; applyRemote fires the listeners as a local transition would; wake probes after the jitter', async () => {
    const { clock, peer, prober, events } = setup(() => 0.5);
    let mine = false;
    const seen: string[] = [];
    prober.useGate({
      probes: () => mine,
      observed: (dn, state, reason, changed) =>
        seen.push(`${clock.now()} ${dn} ${state} ${changed}${reason ? ` ${reason}` : ''}`),
    });
    const changes: string[] = [];
    prober.addListener({ stateChanged: (dn, from, to) => changes.push(`${dn} ${from}→${to}`) });
    prober.upsert(SS);
    await run(clock, 25_000);
    expect(peer.sent).toEqual([]);
    expect(prober.state('Softswitch')).toBe('unknown');

    expect(prober.applyRemote('Softswitch', 'out-of-service', 'no final answer to OPTIONS within 2 s')).toBe(true);
    expect(prober.applyRemote('Other', 'out-of-service')).toBe(false);
    expect(prober.snapshot()).toEqual([
      { dn: 'Softswitch', state: 'out-of-service', reason: 'no final answer to OPTIONS within 2 s' },
    ]);
    expect(prober.applyRemote('Softswitch', 'in-service')).toBe(true);
    expect(events).toEqual(['25000 OUT Softswitch', '25000 IN Softswitch']);
    expect(changes).toEqual(['Softswitch unknown→out-of-service', 'Softswitch out-of-service→in-service']);
    expect(seen).toEqual([]); // remote states are never reported back

    mine = true;
    prober.wake('Softswitch'); // first probe 0.5 × 10 % × 10 s = 500 ms later
    await run(clock, 490);
    expect(peer.sent).toEqual([]);
    await run(clock, 30);
    expect(peer.sent).toEqual([25_500]);
    expect(seen).toEqual(['25510 Softswitch in-service false']); // probed, unchanged: reported
    peer.alive = false;
    await run(clock, 12_000);
    expect(peer.sent).toEqual([25_500, 35_500]);
    expect(seen).toEqual([
      '25510 Softswitch in-service false',
      '37500 Softswitch out-of-service true no final answer to OPTIONS within 2 s',
    ]);
    mine = false;
    peer.alive = true;
    await run(clock, 20_000);
    expect(peer.sent).toEqual([25_500, 35_500]);
    expect(prober.state('Softswitch')).toBe('out-of-service');
  });

  it('passive detection on a node that does not probe is local and reported; without a gate every device is probed', async () => {
    const { clock, peer, prober, events } = setup(() => 0);
    const seen: string[] = [];
    prober.useGate({
      probes: () => false,
      observed: (dn, state, _r, changed) => seen.push(`${dn} ${state} ${changed}`),
    });
    prober.upsert(SS);
    prober.applyRemote('Softswitch', 'in-service');
    prober.reportInviteFailure('Softswitch', { status: 503 });
    prober.reportInviteFailure('Softswitch', 'timeout'); // already OUT: nothing new
    expect(events).toEqual(['0 OUT Softswitch']);
    expect(seen).toEqual(['Softswitch out-of-service true']);
    await run(clock, 5_000);
    expect(peer.sent).toEqual([]);
    prober.useGate(undefined);
    await run(clock, 5_020);
    expect(peer.sent).toEqual([10_000]);
    expect(events).toEqual(['0 OUT Softswitch', '10010 IN Softswitch']);
  });
});
