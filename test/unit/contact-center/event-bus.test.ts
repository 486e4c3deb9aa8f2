import { describe, expect, it } from 'vitest';
import { ContactCenterEventBus, type ContactCenterEvent } from '../../../src/contact-center/events.js';

const released: ContactCenterEvent = {
  kind: 'call',
  name: 'EventReleased',
  thisDN: '7001',
  connId: '01',
  callType: 'Inbound',
};
const ready: ContactCenterEvent = {
  kind: 'agent',
  name: 'EventAgentReady',
  thisDN: '7001',
  agentId: 'jay',
  workMode: 'AutoIn',
};

describe('ContactCenterEventBus', () => {
  it('delivers an event published by a listener after the current one reached every listener (cause before effect)', () => {
    const bus = new ContactCenterEventBus();
    const seenByLate: string[] = [];
    bus.subscribe((e) => {
      if (e.name === 'EventReleased') bus.publish(ready); // like the agent service reacting
    });
    bus.subscribe((e) => seenByLate.push(e.name));
    bus.publish(released);
    expect(seenByLate).toEqual(['EventReleased', 'EventAgentReady']);
  });

  it('isolates a throwing listener and reports it', () => {
    const errors: unknown[] = [];
    const bus = new ContactCenterEventBus((e) => errors.push(e));
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    const off = bus.subscribe((e) => seen.push(e.name));
    bus.publish(released);
    off();
    bus.publish(released);
    expect(seen).toEqual(['EventReleased']);
    expect(errors).toHaveLength(2);
  });
});
