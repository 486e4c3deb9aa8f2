/**
 * The console live feed's coalescing (src/api/admin/live-hub.ts) and call tracking
 * (src/api/admin/live-calls.ts) over fake sources: 2,000 agent changes in one window are one
 * `agents` event; a call is followed from ringing to its last release; nothing is computed
 * while no stream is attached.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveHub } from '../../../src/api/admin/live-hub.js';
import { LiveCalls } from '../../../src/api/admin/live-calls.js';
import type { CallDomainEvent } from '../../../src/contact-center/events.js';
import { fakeLiveSources as fakeSources } from '../../helpers/live-stream.js';
import type { LiveEvents } from '../../../src/api/admin/live-types.js';

const config = {
  version: 1,
  queueDepth: 0,
  applying: false,
  lastApplyMs: 0,
  lastApplyLongestTurnMs: 0,
  appliedChangeSets: 0,
};

describe('LiveHub', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces 2,000 agent changes of one window into one agents event; nothing read without a stream', () => {
    vi.useFakeTimers();
    const f = fakeSources();
    const hub = new LiveHub({ sources: f.sources, configStatus: () => config, flushMs: 100 });
    for (let i = 0; i < 10; i++) f.agentChange(`a${i}`);
    expect(f.agentReads()).toBe(0);
    const got: Array<{ event: string; data: unknown }> = [];
    const detach = hub.attach((event, data) => got.push({ event, data }));
    expect(got.map((g) => g.event)).toEqual(['snapshot']);
    for (let i = 0; i < 2000; i++) f.agentChange(`a${i % 1000}`);
    vi.advanceTimersByTime(99);
    expect(got).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(got.map((g) => g.event)).toEqual(['snapshot', 'agents']);
    expect((got[1].data as LiveEvents['agents']).length).toBe(1000);
    vi.advanceTimersByTime(1000);
    expect(got.map((g) => g.event)).toEqual(['snapshot', 'agents', 'load']);
    detach();
    hub.close();
  });

  it('keeps the last 20 change-sets for the snapshot, summarised by kind and op', () => {
    const f = fakeSources();
    const hub = new LiveHub({ sources: f.sources, configStatus: () => config });
    for (let v = 1; v <= 25; v++)
      f.changeSet({
        version: v,
        time: '2026-12-07T00:00:00.000Z',
        origin: 'migrate',
        changes: Array.from({ length: v }, (_, i) => ({
          op: 'patch' as const,
          kind: 'dn' as const,
          key: `${1000 + i}`,
          old: null,
          new: null,
        })),
      });
    const snap = hub.snapshot();
    expect(snap.changeSets.map((c) => c.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
    expect(snap.changeSets[19]).toEqual({
      version: 25,
      time: '2026-12-07T00:00:00.000Z',
      origin: 'migrate',
      size: 25,
      counts: { 'dn patch': 25 },
      firstKeys: ['1000', '1001', '1002', '1003', '1004'],
    });
    hub.close();
  });
});

describe('LiveHub calls', () => {
  it('sends changed calls, then ends every call left when the server has none', () => {
    vi.useFakeTimers();
    const f = fakeSources();
    let active = 1;
    f.sources.callCounts = () => ({ active, waiting: 0 });
    const hub = new LiveHub({ sources: f.sources, configStatus: () => config });
    const got: Array<{ event: string; data: unknown }> = [];
    hub.attach((event, data) => got.push({ event, data }));
    const call = { kind: 'call', connId: 'c9', callType: 'Inbound', thisDN: '8888' } as const;
    f.bus({ ...call, name: 'EventRinging' });
    vi.advanceTimersByTime(100);
    expect(got[1]).toMatchObject({ event: 'calls', data: { active: 1, changed: [{ connId: 'c9' }], ended: [] } });
    active = 0;
    f.bus({ ...call, connId: 'c10', name: 'EventDialing' });
    vi.advanceTimersByTime(100);
    expect(got[2]).toEqual({ event: 'calls', data: { active: 0, waiting: 0, changed: [], ended: ['c9', 'c10'] } });
    expect(hub.activeCalls()).toEqual([]);
    hub.close();
    vi.useRealTimers();
  });
});

describe('LiveCalls', () => {
  const ev = (
    name: CallDomainEvent['name'],
    thisDN: string,
    extra: Partial<CallDomainEvent> = {},
  ): CallDomainEvent => ({
    kind: 'call',
    name,
    thisDN,
    connId: 'c1',
    callType: 'Inbound',
    ...extra,
  });

  it('follows a call from ringing to established, through a second DN, to its last release', () => {
    const calls = new LiveCalls(() => Date.parse('2026-12-07T10:00:00Z'));
    expect(calls.apply(ev('EventReleased', '8888'))).toBeUndefined();
    expect(
      calls.apply(ev('EventRinging', '8888', { otherDN: '+15551230000', ani: '+15551230000', dnis: '5000' })),
    ).toEqual({
      changed: {
        connId: 'c1',
        callType: 'Inbound',
        state: 'ringing',
        parties: ['8888', '+15551230000'],
        ani: '+15551230000',
        dnis: '5000',
        start: '2026-12-07T10:00:00.000Z',
      },
    });
    expect(calls.apply(ev('EventEstablished', '8888'))).toMatchObject({ changed: { state: 'established' } });
    expect(calls.apply(ev('EventRinging', '7777'))).toMatchObject({
      changed: { state: 'established', parties: ['8888', '+15551230000', '7777'] },
    });
    expect(calls.apply(ev('EventReleased', '8888'))).toMatchObject({ changed: { state: 'ringing' } });
    expect(calls.list()).toHaveLength(1);
    expect(calls.apply(ev('EventReleased', '7777'))).toEqual({ ended: 'c1' });
    expect(calls.list()).toEqual([]);
  });
});
