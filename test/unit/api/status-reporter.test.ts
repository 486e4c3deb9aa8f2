import { describe, expect, it } from 'vitest';
import { LoadMeter } from '../../../src/api/load-meter.js';
import { StatusReporter, type StatusSection } from '../../../src/api/status.js';

/** A reporter whose sources count their calls. */
function reporter(): { r: StatusReporter; calls: Record<string, number> } {
  const calls: Record<string, number> = { registrations: 0, devices: 0, agents: 0, active: 0, waiting: 0 };
  const r = new StatusReporter(
    {
      registrations: () => (calls.registrations!++, []),
      devices: () => (calls.devices!++, [{ dn: 'Softswitch', state: 'in-service' }] as never),
      agents: () => (calls.agents!++, []),
      activeCalls: () => (calls.active!++, 0),
      waitingCalls: () => (calls.waiting!++, 0),
      lostCalls: [],
    },
    new LoadMeter(),
  );
  return { r, calls };
}

describe('StatusReporter computes only the sections asked for', () => {
  it.each<[StatusSection[], Record<string, number>]>([
    [['devices'], { registrations: 0, devices: 1, agents: 0, active: 0, waiting: 0 }],
    [['registrations'], { registrations: 1, devices: 0, agents: 0, active: 0, waiting: 0 }],
    [['agents', 'load'], { registrations: 0, devices: 0, agents: 1, active: 0, waiting: 0 }],
    [['calls'], { registrations: 0, devices: 0, agents: 0, active: 1, waiting: 1 }],
  ])('%j', (sections, expected) => {
    const { r, calls } = reporter();
    const out = r.status({ sections: new Set(sections) });
    expect(calls).toEqual(expected);
    expect(Object.keys(out).sort()).toEqual(
      sections.flatMap((s) => (s === 'calls' ? ['calls', 'lostCalls'] : [s])).sort(),
    );
  });

  it('without sections: every source once', () => {
    const { r, calls } = reporter();
    r.status();
    expect(calls).toEqual({ registrations: 1, devices: 1, agents: 1, active: 1, waiting: 1 });
  });
});
