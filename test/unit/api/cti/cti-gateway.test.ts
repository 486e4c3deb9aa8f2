import { beforeEach, describe, expect, it } from 'vitest';
import {
  CallControlError,
  type CallControl,
  type CallControlRequest,
} from '../../../../src/contact-center/call-control.js';
import { CTI_ERROR } from '../../../../src/api/cti/cti-error-codes.js';
import { CtiGateway } from '../../../../src/api/cti/cti-gateway.js';
import { parseCtiRequest } from '../../../../src/api/cti/cti-request-schemas.js';
import type { CtiTransport } from '../../../../src/api/cti/cti-transport.js';
import { TokenBucket } from '../../../../src/api/cti/token-bucket.js';
import { AgentService } from '../../../../src/contact-center/agents/agent-service.js';
import { ContactCenterEventBus, type EventOrigin } from '../../../../src/contact-center/events.js';
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

/** Call control fake: records requests, publishes EventDialing for MakeCall, refuses unknown connIds. */
class RecordingCallControl implements CallControl {
  readonly requests: CallControlRequest[] = [];
  constructor(private readonly bus: ContactCenterEventBus) {}
  async handle(request: CallControlRequest, origin: EventOrigin): Promise<void> {
    this.requests.push(request);
    if (request.request === 'RequestMakeCall') {
      this.bus.publish({
        kind: 'call',
        name: 'EventDialing',
        thisDN: request.thisDN,
        connId: '00c0ffee',
        otherDN: request.otherDN,
        callType: 'Outbound',
        origin,
      });
      return;
    }
    throw new CallControlError('unknown-conn-id', `no call ${'connId' in request ? request.connId : ''}`);
  }
}

describe('parseCtiRequest', () => {
  it('accepts a well-formed login and strips nothing it needs', () => {
    const r = parseCtiRequest(
      JSON.stringify({
        request: 'RequestAgentLogin',
        referenceId: 7,
        thisDN: '8888',
        agentId: 'jay',
        workMode: 'AutoIn',
        extensions: { 'agent-phone': '+1 555' },
      }),
    );
    expect(r).toEqual({
      ok: true,
      request: {
        request: 'RequestAgentLogin',
        referenceId: 7,
        thisDN: '8888',
        agentId: 'jay',
        workMode: 'AutoIn',
        extensions: { 'agent-phone': '+1 555' },
      },
    });
  });
  it.each([
    ['{', 'BAD_JSON'],
    ['"text"', 'BAD_JSON'],
    ['null', 'BAD_JSON'],
    ['{"referenceId":1}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestNope","referenceId":1}', 'UNKNOWN_REQUEST'],
    ['{"request":"toString","referenceId":1}', 'UNKNOWN_REQUEST'],
    ['{"request":"RequestAgentReady","thisDN":"8888"}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestAgentReady","referenceId":1,"thisDN":""}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestAgentReady","referenceId":1,"thisDN":"8888","workMode":"Sleeping"}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestOpen","referenceId":1,"agentId":"jay"}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestOpen","referenceId":1,"agentId":"jay","password":"x","token":"t"}', 'INVALID_ATTRIBUTES'],
    ['{"request":"RequestHoldCall","referenceId":1,"thisDN":"8888","connId":"xyz"}', 'INVALID_ATTRIBUTES'],
  ])('%s → %s', (text, error) => {
    const r = parseCtiRequest(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(error);
  });
  it('keeps the referenceId of a request with bad attributes', () => {
    const r = parseCtiRequest('{"request":"RequestAgentReady","referenceId":42}');
    expect(r).toMatchObject({ ok: false, referenceId: 42 });
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then the sustained rate', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(3, 2, clock);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    clock.advance(499);
    expect(b.take()).toBe(false);
    clock.advance(1);
    expect(b.take()).toBe(true);
    clock.advance(10_000);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});

describe('CtiGateway', () => {
  let clock: FakeClock;
  let bus: ContactCenterEventBus;
  let agents: AgentService;
  let calls: RecordingCallControl;
  let gw: CtiGateway;

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 10, 26, 9, 0, 0));
    bus = new ContactCenterEventBus();
    agents = new AgentService({
      directory: exampleDirectory(),
      reachability: new FakeReachability(),
      bus,
      clock,
      logger: silentLogger,
    });
    calls = new RecordingCallControl(bus);
    gw = new CtiGateway({
      agents,
      bus,
      callControl: calls,
      adminToken: () => 'tok',
      clock,
      limits: {
        burst: 5,
        ratePerSecond: 1,
        applicationBurst: 5,
        applicationRatePerSecond: 1,
        maxProtocolErrors: 4,
        protocolErrorForgivePerSecond: 0.1,
      },
    });
  });

  async function opened(): Promise<{ t: MemoryTransport; s: ReturnType<CtiGateway['connect']> }> {
    const t = new MemoryTransport();
    const s = gw.connect(t);
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestOpen', referenceId: 0, token: 'tok' }));
    expect(t.sent.pop()).toMatchObject({ event: 'EventOpened', scope: 'application' });
    return { t, s };
  }

  it('stamps events with time (ISO, from the clock) and server', async () => {
    const { t, s } = await opened();
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestRegisterAddress', referenceId: 1, thisDN: '88-88' }));
    expect(t.sent).toEqual([
      {
        event: 'EventRegistered',
        thisDN: '8888',
        server: 'SIP_Server',
        referenceId: 1,
        time: '2026-11-26T09:00:00.000Z',
      },
    ]);
  });

  it('hands call requests to call control; its events reach the requester with the referenceId', async () => {
    const { t, s } = await opened();
    await gw.handleMessage(
      s,
      JSON.stringify({
        request: 'RequestMakeCall',
        referenceId: 3,
        thisDN: '8888',
        otherDN: '+15551231111',
        userData: { k: 'v' },
      }),
    );
    expect(calls.requests).toEqual([
      { request: 'RequestMakeCall', thisDN: '8888', otherDN: '+15551231111', userData: { k: 'v' } },
    ]);
    expect(t.sent).toEqual([
      {
        event: 'EventDialing',
        server: 'SIP_Server',
        thisDN: '8888',
        connId: '00c0ffee',
        otherDN: '+15551231111',
        callType: 'Outbound',
        ani: '',
        dnis: '',
        userData: {},
        time: '2026-11-26T09:00:00.000Z',
        referenceId: 3,
      },
    ]);
    await gw.handleMessage(
      s,
      JSON.stringify({ request: 'RequestHoldCall', referenceId: 4, thisDN: '8888', connId: 'abc' }),
    );
    expect(t.sent.at(-1)).toMatchObject({
      event: 'EventError',
      referenceId: 4,
      errorCode: CTI_ERROR.UNKNOWN_CONN_ID.code,
    });
    // RequestAlternateCall (behaviour §6 step 5) goes to call control too, transferConnId optional.
    await gw.handleMessage(
      s,
      JSON.stringify({ request: 'RequestAlternateCall', referenceId: 5, thisDN: '8888', connId: 'abc' }),
    );
    expect(calls.requests.at(-1)).toEqual({ request: 'RequestAlternateCall', thisDN: '8888', connId: 'abc' });
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventError', referenceId: 5 });
  });

  it('conference requests (behaviour §11.1) reach call control with their attributes; a missing otherDN is INVALID_ATTRIBUTES', async () => {
    const { t, s } = await opened();
    const frames = [
      { request: 'RequestInitiateConference', referenceId: 5, thisDN: '8888', connId: 'ab12', otherDN: '77 77' },
      { request: 'RequestCompleteConference', referenceId: 6, thisDN: '8888', connId: 'ab12', transferConnId: 'cd34' },
      { request: 'RequestDeleteFromConference', referenceId: 7, thisDN: '8888', connId: 'ab12', otherDN: '7777' },
    ];
    for (const f of frames) await gw.handleMessage(s, JSON.stringify(f));
    expect(calls.requests).toEqual([
      { request: 'RequestInitiateConference', thisDN: '8888', connId: 'ab12', otherDN: '77 77' },
      { request: 'RequestCompleteConference', thisDN: '8888', connId: 'ab12', transferConnId: 'cd34' },
      { request: 'RequestDeleteFromConference', thisDN: '8888', connId: 'ab12', otherDN: '7777' },
    ]);
    await gw.handleMessage(
      s,
      JSON.stringify({ request: 'RequestDeleteFromConference', referenceId: 8, thisDN: '8888', connId: 'ab12' }),
    );
    expect(t.sent.at(-1)).toMatchObject({
      event: 'EventError',
      referenceId: 8,
      errorCode: CTI_ERROR.INVALID_ATTRIBUTES.code,
    });
  });

  it('application scope may not use unprovisioned DNs', async () => {
    const { t, s } = await opened();
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestRegisterAddress', referenceId: 1, thisDN: '1234' }));
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.UNKNOWN_DN.code });
  });

  it('the 4th protocol error in a burst closes the connection; valid requests do not reset, time forgives', async () => {
    const { t, s } = await opened();
    for (let i = 0; i < 3; i++) await gw.handleMessage(s, 'garbage');
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestQueryAddress', referenceId: 1, thisDN: '8888' }));
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventAddressInfo' });
    expect(t.closed).toBeUndefined();
    clock.advance(20_000); // two errors forgiven
    for (let i = 0; i < 2; i++) await gw.handleMessage(s, 'garbage');
    expect(t.closed).toBeUndefined();
    await gw.handleMessage(s, 'garbage');
    expect(t.sent.at(-1)).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_JSON.code });
    expect(t.closed).toEqual([1008, 'too many errors']);
    expect(gw.connectionCount).toBe(0);
    const before = t.sent.length;
    await gw.handleMessage(s, 'garbage');
    expect(t.sent.length).toBe(before);
  });

  it('a sustained flood above the rate limit is disconnected even though some requests pass', async () => {
    const { t, s } = await opened();
    for (let i = 0; i < 200 && !t.closed; i++) {
      await gw.handleMessage(s, JSON.stringify({ request: 'RequestQueryAddress', referenceId: i, thisDN: '8888' }));
      clock.advance(200); // 5 requests/s against a 1/s limit
    }
    expect(t.closed).toEqual([1008, 'too many errors']);
    expect(t.sent.filter((m) => m.errorCode === CTI_ERROR.RATE_LIMITED.code).length).toBeGreaterThanOrEqual(4);
  });

  it('drops a client that does not read its events', async () => {
    const { t, s } = await opened();
    await gw.handleMessage(s, JSON.stringify({ request: 'RequestRegisterAddress', referenceId: 1, thisDN: '8888' }));
    t.bufferedAmount = 10 * 1024 * 1024;
    bus.publish({ kind: 'dn', name: 'EventDNOutOfService', thisDN: '8888' });
    expect(t.closed?.[0]).toBe(1008);
  });

  it('refuses RequestOpen from an address after repeated failures, for the window', async () => {
    const g = new CtiGateway({
      agents,
      bus,
      adminToken: 'tok',
      clock,
      limits: { maxOpenFailuresPerAddress: 2, openFailureWindowMs: 60_000 },
    });
    const attempt = async (address: string, password: string): Promise<Record<string, unknown> | undefined> => {
      const t = new MemoryTransport();
      Object.assign(t, { remoteAddress: address });
      const s = g.connect(t);
      await g.handleMessage(s, JSON.stringify({ request: 'RequestOpen', referenceId: 1, agentId: 'jay', password }));
      return t.sent[0];
    };
    expect(await attempt('127.0.0.21', 'bad')).toMatchObject({ errorCode: CTI_ERROR.BAD_CREDENTIALS.code });
    expect(await attempt('127.0.0.21', 'bad')).toMatchObject({ errorCode: CTI_ERROR.BAD_CREDENTIALS.code });
    const blocked = await attempt('127.0.0.21', 'jay-secret');
    expect(blocked).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_CREDENTIALS.code });
    expect(String(blocked?.errorMessage)).toContain('too many failed opens');
    expect(await attempt('127.0.0.22', 'jay-secret')).toMatchObject({ event: 'EventOpened' });
    clock.advance(60_000);
    expect(await attempt('127.0.0.21', 'jay-secret')).toMatchObject({ event: 'EventOpened' });
  });

  it('close() closes every connection with 1001', async () => {
    const { t } = await opened();
    gw.close();
    expect(t.closed).toEqual([1001, 'server shutting down']);
  });
});
