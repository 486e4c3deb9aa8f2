/**
 * The agent desktop's model (web/src/desktop/desk-model.ts) and phone history: what the desktop
 * shows for each CTI event, the resync of a reconnect, and the numbers offered again.
 */
import { describe, expect, it } from 'vitest';
import type { CtiServerEvent } from '../../../src/api/cti/cti-wire-types.js';
import { applyEvent, EMPTY_MODEL, LOG_SIZE, type DeskModel } from '../../../web/src/desktop/desk-model.js';
import { recentPhones, rememberPhone } from '../../../web/src/desktop/phone-history.js';

const base = { server: 'SIP_Server', time: '2026-12-07T09:00:00.000Z', thisDN: '8888' };
const call = {
  ...base,
  connId: 'a1',
  otherDN: '+15557654321',
  callType: 'Inbound',
  ani: '+15557654321',
  dnis: '5000',
  userData: {},
} as const;

function run(events: CtiServerEvent[], start: DeskModel = EMPTY_MODEL): DeskModel {
  return events.reduce((m, e, i) => applyEvent(m, e, 1000 * i), start);
}

describe('desk model', () => {
  it('follows the agent state: Ready, Not Ready with its reason, After Call Work, Logged out', () => {
    const agent = { ...base, agentId: 'jay' };
    const labels = [
      { ...agent, event: 'EventAgentReady', workMode: 'ManualIn' },
      { ...agent, event: 'EventAgentNotReady', workMode: 'AuxWork', reasonCode: 'Break' },
      { ...agent, event: 'EventAgentNotReady', workMode: 'AfterCallWork' },
      { ...agent, event: 'EventAgentLogout', workMode: 'Unknown' },
    ].map((_e, i, all) => run(all.slice(0, i + 1) as CtiServerEvent[]).agent.label);
    expect(labels).toEqual(['Ready', 'Not Ready — Break', 'After Call Work', 'Logged out']);
  });

  it('follows a call by connId: Ringing, Established, Held, Established, gone on Released; timer per state', () => {
    const names = ['EventRinging', 'EventEstablished', 'EventHeld', 'EventRetrieved'] as const;
    const states = names.map((_name, i) => {
      const m = run(names.slice(0, i + 1).map((n) => ({ ...call, event: n })) as CtiServerEvent[]);
      return [m.calls[0]!.state, m.calls[0]!.since];
    });
    expect(states).toEqual([
      ['Ringing', 0],
      ['Established', 1000],
      ['Held', 2000],
      ['Established', 3000],
    ]);
    const end = run([...names, 'EventReleased'].map((n) => ({ ...call, event: n })) as CtiServerEvent[]);
    expect(end.calls).toEqual([]);
    expect(end.log.map((l) => l.name)).toEqual(['EventReleased', ...[...names].reverse()]);
  });

  it('replaces agent state and calls by the EventAddressInfo of a resync, keeping the log', () => {
    const before = run([
      { ...call, event: 'EventEstablished' },
      { ...call, connId: 'b2', event: 'EventRinging' },
    ]);
    const after = applyEvent(
      before,
      {
        ...base,
        event: 'EventAddressInfo',
        agentState: 'BusyAfterCallWork',
        agentId: 'jay',
        workMode: 'ManualIn',
        calls: [
          {
            connId: 'a1',
            state: 'Held',
            callType: 'Inbound',
            otherDN: '+1',
            ani: '+1',
            dnis: '5000',
            userData: { Case: '7' },
            inStateMs: 65_000,
          },
        ],
      },
      100_000,
    );
    expect(after.agent).toEqual({ loggedIn: true, label: 'After Call Work', workMode: 'AfterCallWork' });
    expect(after.calls).toEqual([
      {
        connId: 'a1',
        state: 'Held',
        callType: 'Inbound',
        otherDN: '+1',
        ani: '+1',
        dnis: '5000',
        userData: { Case: '7' },
        inStateMs: 65_000,
        since: 35_000, // held for 65 s already: the timer shows 01:05, not 00:00
      },
    ]);
    expect(after.log.map((l) => l.name)).toEqual(['EventAddressInfo', 'EventRinging', 'EventEstablished']);
  });

  it(`keeps the last ${LOG_SIZE} events, newest first`, () => {
    const m = run(
      Array.from({ length: LOG_SIZE + 5 }, (_, i) => ({
        ...call,
        connId: `c${i}`,
        event: 'EventRinging',
      })) as CtiServerEvent[],
    );
    expect(m.log).toHaveLength(LOG_SIZE);
    expect(m.log[0]!.details).toContain(`connId=c${LOG_SIZE + 4}`);
  });
});

describe('phone history', () => {
  class MemoryStorage {
    readonly items = new Map<string, string>();
    getItem(k: string) {
      return this.items.get(k) ?? null;
    }
    setItem(k: string, v: string) {
      this.items.set(k, v);
    }
  }

  it('offers the last numbers of each agent, most recent first, without duplicates, at most 5', () => {
    const s = new MemoryStorage() as unknown as Storage;
    for (const n of ['1', '2', '3', '2', '4', '5', '6']) rememberPhone('jay', n, s);
    rememberPhone('joe', '+1 555', s);
    expect(recentPhones('jay', s)).toEqual(['6', '5', '4', '2', '3']);
    expect(recentPhones('joe', s)).toEqual(['+1 555']);
    expect(recentPhones('ann', s)).toEqual([]);
  });
});
