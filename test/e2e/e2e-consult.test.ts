/**
 * Acceptance, examples/home-agent-phone.yaml with `dual-dialog-enabled = false` on the Softswitch
 * (behaviour §6, §15 item 6): Jay consults an external number and completes the transfer; the
 * agent-phone never gets a second INVITE dialog (one Call-ID for every INVITE to
 * sip:+15551232222@127.0.0.1:5081), the customer ends up connected to the target.
 */
import { describe, expect, it } from 'vitest';
import { callIdOf as callId, sdpBody as body } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { dnEvent, homeAgentJay } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e consultation transfer of a PSTN home agent (single dialog)', () => {
  const { env, desk } = homeAgentJay();

  it('InitiateTransfer + CompleteTransfer: held customer, consult on the same dialog, customer connected to the target', async () => {
    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    const est = await desk().waitFor(on('EventEstablished'), 10_000);
    const connId = est.connId;

    const init = await desk().request(
      'RequestInitiateTransfer',
      { thisDN: '8888', connId, otherDN: '+1 555 987 6543' },
      15_000,
    );
    expect(['EventHeld', 'EventDialing']).toContain(init.event);
    const dialing = await desk().waitFor(on('EventDialing'), 10_000);
    expect(dialing).toMatchObject({ callType: 'Consult', otherDN: '+15559876543' });
    const consultConnId = dialing.connId;
    expect(consultConnId).not.toBe(connId);
    await desk().waitFor((f) => on('EventEstablished')(f) && f.connId === consultConnId, 10_000);
    // The customer was held with a sendonly black hole.
    await waitFor(() => customer.receivedRequests('INVITE').length >= 1, { what: 'hold re-INVITE to the customer' });
    expect(body(customer.receivedRequests('INVITE')[0]!)).toMatch(/a=sendonly/);
    const target = env.sbc
      .receivedRequests('INVITE')
      .filter((m) => m.firstLine === `INVITE sip:+15559876543@${env.sbcAddress} SIP/2.0`);
    expect(target.length).toBe(1);
    expect(target[0]!.text).toMatch(/Content-Length:\s*0/i);

    const done = await desk().request(
      'RequestCompleteTransfer',
      { thisDN: '8888', connId, transferConnId: consultConnId },
      15_000,
    );
    expect(done.event).toBe('EventReleased');
    await waitFor(
      () =>
        customer
          .receivedRequests('INVITE')
          .some((m) => body(m).includes('s=e2e-callee-sdp') && !/a=sendonly/.test(body(m))),
      { what: 'customer reconnected to the target' },
    );
    await waitFor(() => desk().events.filter((f) => f.event === 'EventReleased' && f.thisDN === '8888').length >= 2, {
      what: 'EventReleased on both calls',
    });
    const released = desk()
      .events.filter((f) => f.event === 'EventReleased' && f.thisDN === '8888')
      .map((f) => f.connId);
    expect(new Set(released)).toEqual(new Set([connId, consultConnId]));

    // Single dialog with the agent-phone: the SBC saw exactly two INVITE dialogs (Call-IDs): the
    // agent-phone's (initial INVITE + re-INVITEs) and the consultation target's.
    const invites = env.sbc.receivedRequests('INVITE');
    const phoneCallId = callId(invites[0]!);
    expect(invites[0]!.firstLine).toBe(`INVITE sip:+15551232222@${env.sbcAddress} SIP/2.0`);
    expect(new Set(invites.map(callId))).toEqual(new Set([phoneCallId, callId(target[0]!)]));
    expect(invites.filter((m) => callId(m) === phoneCallId).length).toBeGreaterThanOrEqual(2);
    await waitFor(() => env.sbc.receivedRequests('BYE').filter((m) => callId(m) === phoneCallId).length === 1, {
      what: 'BYE to the agent-phone leg',
    });
    expect(env.sbc.receivedRequests('BYE').filter((m) => callId(m) !== phoneCallId).length).toBe(0);
  });
});
