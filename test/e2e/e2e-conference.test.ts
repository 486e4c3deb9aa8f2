/**
 * Acceptance, examples/home-agent-phone.yaml over the real server (its built-in media server) and
 * the CTI WebSocket (behaviour §11.1): Jay, a PSTN home agent, conferences an external number into
 * a routed customer call — EventReleased for the consultation, EventPartyAdded on the wire — then
 * deletes it again (EventPartyDeleted, BYE to the consulted number) and releases the call.
 */
import { describe, expect, it } from 'vitest';
import { callIdOf } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { dnEvent, homeAgentJay } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e conference of a PSTN home agent', () => {
  const { env, desk } = homeAgentJay();

  it('InitiateConference + CompleteConference + DeleteFromConference: EventPartyAdded, EventPartyDeleted', async () => {
    const customer = await env.uac('uac-conf-party.xml', '5000', {
      timeoutMs: 30_000,
      args: ['-set', 'rtp', '9', '-set', 'leaveafter', '99'],
    });
    const connId = (await desk().waitFor(on('EventEstablished'), 10_000)).connId;
    await desk().request('RequestInitiateConference', { thisDN: '8888', connId, otherDN: '+1 555 987 6543' }, 15_000);
    const consultId = (await desk().waitFor(on('EventDialing'), 10_000)).connId;
    await desk().waitFor((f) => on('EventEstablished')(f) && f.connId === consultId, 10_000);
    const done = await desk().request(
      'RequestCompleteConference',
      { thisDN: '8888', connId, transferConnId: consultId },
      15_000,
    );
    expect(done).toMatchObject({ event: 'EventReleased', connId: consultId, transferConnId: connId });
    const added = await desk().waitFor(on('EventPartyAdded'), 10_000);
    expect(added).toMatchObject({ connId, otherDN: '+15559876543', callType: 'Inbound' });

    const deleted = await desk().request(
      'RequestDeleteFromConference',
      { thisDN: '8888', connId, otherDN: '+1 555 987 6543' },
      15_000,
    );
    expect(deleted).toMatchObject({ event: 'EventPartyDeleted', connId, otherDN: '+15559876543' });
    const target = env.sbc.receivedRequests('INVITE').find((m) => m.firstLine.includes('+15559876543'))!;
    await waitFor(() => env.sbc.distinctRequests('BYE', [callIdOf(target)]) === 1, { what: 'BYE to the target' });
    await desk().request('RequestReleaseCall', { thisDN: '8888', connId }, 15_000);
    expect(await customer.waitExit(), customer.errors() + customer.messagesLog().slice(-3000)).toBe(0);
  });
});
