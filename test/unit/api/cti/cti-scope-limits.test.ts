/**
 * Per-scope request rates of the CTI gateway and the referenceId of every error
 * (docs/cti-protocol.md "Limits and abuse handling"; interfaces §4).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { CTI_ERROR } from '../../../../src/api/cti/cti-error-codes.js';
import { CtiGateway } from '../../../../src/api/cti/cti-gateway.js';
import { ctiLimitsFromOptions, DEFAULT_CTI_LIMITS } from '../../../../src/api/cti/cti-limits.js';
import { peekReferenceId } from '../../../../src/api/cti/cti-request-schemas.js';
import type { CtiTransport } from '../../../../src/api/cti/cti-transport.js';
import { AgentService } from '../../../../src/contact-center/agents/agent-service.js';
import { ContactCenterEventBus } from '../../../../src/contact-center/events.js';
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { exampleDirectory, FakeReachability } from '../../contact-center/fakes.js';

class MemoryTransport implements CtiTransport {
  readonly sent: Record<string, unknown>[] = [];
  closed: [number, string] | undefined;
  bufferedAmount = 0;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    this.closed = [code, reason];
  }
}

const query = (referenceId: number): string =>
  JSON.stringify({ request: 'RequestQueryAddress', referenceId, thisDN: '8888' });

describe('CTI request rates per scope', () => {
  let clock: FakeClock;
  let gw: CtiGateway;

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 10, 26, 9, 0, 0));
    const bus = new ContactCenterEventBus();
    const agents = new AgentService({
      directory: exampleDirectory(),
      reachability: new FakeReachability(),
      bus,
      clock,
      logger: silentLogger,
    });
    gw = new CtiGateway({ agents, bus, adminToken: 'tok', clock });
  });

  async function open(
    open: Record<string, unknown>,
  ): Promise<{ t: MemoryTransport; s: ReturnType<CtiGateway['connect']> }> {
    const t = new MemoryTransport();
    const s = gw.connect(t);
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestOpen', referenceId: 0, ...open }));
    expect(t.sent.pop()).toMatchObject({ event: 'EventOpened' });
    return { t, s };
  }

  it('defaults: agent scope 20/s with a burst of 40; application scope 5,000/s with a burst of 10,000', () => {
    expect(DEFAULT_CTI_LIMITS).toMatchObject({
      burst: 40,
      ratePerSecond: 20,
      applicationBurst: 10_000,
      applicationRatePerSecond: 5_000,
    });
  });

  it('an application-scope connection sustains 2,000 requests/s for 30 s without one RATE_LIMITED', async () => {
    const { t, s } = await open({ token: 'tok' });
    let ref = 1;
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < 2000; i++) {
        await gw.handleMessage(s, query(ref++));
        if (i % 2 === 1) clock.advance(1); // 2 requests per ms
      }
    }
    expect(t.closed).toBeUndefined();
    expect(t.sent.filter((m) => m.event === 'EventError')).toEqual([]);
    expect(t.sent.length).toBe(60_000);
  });

  it('an application-scope connection is still bounded: above its burst, RATE_LIMITED with the referenceId', async () => {
    const { t, s } = await open({ token: 'tok' });
    for (let i = 1; i <= 10_005; i++) await gw.handleMessage(s, query(i)); // no time passes
    const errors = t.sent.filter((m) => m.event === 'EventError');
    expect(errors.length).toBe(5);
    expect(errors.map((e) => [e.errorCode, e.referenceId])).toEqual(
      [10_001, 10_002, 10_003, 10_004, 10_005].map((r) => [CTI_ERROR.RATE_LIMITED.code, r]),
    );
  });

  it('an agent-scope connection keeps the tight limit: 40 at once, then RATE_LIMITED carrying the referenceId', async () => {
    const { t, s } = await open({ agentId: 'jay', password: 'jay-secret' });
    for (let i = 1; i <= 45; i++) await gw.handleMessage(s, query(i));
    const limited = t.sent.filter((m) => m.errorCode === CTI_ERROR.RATE_LIMITED.code);
    // The bucket started full at connect; RequestOpen took one token.
    expect(limited.map((m) => m.referenceId)).toEqual([40, 41, 42, 43, 44, 45]);
    expect(limited.every((m) => m.event === 'EventError')).toBe(true);
  });

  it('limits come from the application options cti-agent-rate/-burst and cti-application-rate/-burst', async () => {
    expect(
      ctiLimitsFromOptions({
        'cti-application-rate': '8000',
        'cti-application-burst': '',
        'cti-agent-burst': '5',
        other: 'x',
      }),
    ).toEqual({
      applicationRatePerSecond: 8000,
      burst: 5,
    });
    const bus = new ContactCenterEventBus();
    const agents = new AgentService({
      directory: exampleDirectory(),
      reachability: new FakeReachability(),
      bus,
      clock,
      logger: silentLogger,
    });
    const g = new CtiGateway({
      agents,
      bus,
      adminToken: 'tok',
      clock,
      applicationOptions: { 'cti-application-burst': '3' },
      limits: { ratePerSecond: 7 },
    });
    expect(g.effectiveLimits).toMatchObject({
      applicationBurst: 3,
      applicationRatePerSecond: 5_000,
      burst: 40,
      ratePerSecond: 7,
    });
  });
});

describe('every EventError carries the referenceId when it could be read', () => {
  let gw: CtiGateway;
  let t: MemoryTransport;
  let s: ReturnType<CtiGateway['connect']>;

  beforeEach(async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 26, 9, 0, 0));
    const bus = new ContactCenterEventBus();
    const agents = new AgentService({
      directory: exampleDirectory(),
      reachability: new FakeReachability(),
      bus,
      clock,
      logger: silentLogger,
    });
    gw = new CtiGateway({ agents, bus, adminToken: 'tok', clock, limits: { maxMessageBytes: 200 } });
    t = new MemoryTransport();
    s = gw.connect(t);
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestOpen', referenceId: 'open', token: 'tok' }));
    expect(t.sent.pop()).toMatchObject({ event: 'EventOpened', referenceId: 'open' });
  });

  it.each([
    [
      'invalid attributes',
      { request: 'RequestAgentReady', referenceId: 'r-1', thisDN: '' },
      'INVALID_ATTRIBUTES',
      'r-1',
    ],
    ['unknown request', { request: 'RequestTeleport', referenceId: 11 }, 'UNKNOWN_REQUEST', 11],
    ['missing request name', { referenceId: 12 }, 'INVALID_ATTRIBUTES', 12],
    ['refused request', { request: 'RequestAgentReady', referenceId: 13, thisDN: '8888' }, 'AGENT_NOT_LOGGED_IN', 13],
    ['unknown DN', { request: 'RequestRegisterAddress', referenceId: 14, thisDN: '1234' }, 'UNKNOWN_DN', 14],
  ])('%s', async (_what, frame, error, ref) => {
    await gw.handleMessage(s, JSON.stringify(frame));
    expect(t.sent.at(-1)).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR[error as keyof typeof CTI_ERROR].code,
      referenceId: ref,
    });
  });

  it('a frame above the size limit: MESSAGE_TOO_LARGE with its referenceId, then close 1009', async () => {
    await gw.handleMessage(
      s,
      JSON.stringify({
        request: 'RequestAttachUserData',
        referenceId: 21,
        thisDN: '8888',
        connId: '1',
        userData: { k: 'x'.repeat(300) },
      }),
    );
    expect(t.sent.at(-1)).toMatchObject({
      event: 'EventError',
      errorCode: CTI_ERROR.MESSAGE_TOO_LARGE.code,
      referenceId: 21,
    });
    expect(t.closed?.[0]).toBe(1009);
  });

  it('no referenceId when there is none to read: bad JSON, a malformed referenceId', async () => {
    await gw.handleMessage(s, '{"request":');
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_JSON.code });
    expect(t.sent.at(-1)).not.toHaveProperty('referenceId');
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestAgentReady', referenceId: -1, thisDN: '8888' }));
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.INVALID_ATTRIBUTES.code });
    expect(t.sent.at(-1)).not.toHaveProperty('referenceId');
  });

  it('peekReferenceId reads only a valid referenceId', () => {
    expect(peekReferenceId('{"referenceId":5}')).toBe(5);
    expect(peekReferenceId('{"referenceId":"a"}')).toBe('a');
    expect(peekReferenceId('{"referenceId":1.5}')).toBeUndefined();
    expect(peekReferenceId('[1]')).toBeUndefined();
    expect(peekReferenceId('nope')).toBeUndefined();
  });
});
