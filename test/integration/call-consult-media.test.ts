/**
 * Hold and consultation on media endpoints (behaviour §6) with SIPp as the customer, the agent's
 * device (a PSTN agent: `dual-dialog-enabled = false`, single dialog) and the target behind a softswitch, and
 * the built-in media server, recorded ({@link RecordingMediaServer}). Every SDP the
 * devices receive is checked against the endpoint or party it must name, RTP from the ringback
 * and silence endpoints is captured on the agent's media socket, and no endpoint is left open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callIdOf, sdpBody } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import {
  ConsultMediaEnv,
  eventsOf,
  invites,
  nthInvite,
  origin,
  rtpFrom,
  sdpOf,
  consultEstablished,
  initiateConsult,
  releaseCall,
} from './consult-media-support.js';
import { CONSULT_ESTABLISHED, CONSULT_DIALING } from './call-harness.js';

const env = new ConsultMediaEnv();
afterEach(() => env.stop());

describe('hold and consultation with media endpoints, single dialog (behaviour §6)', () => {
  it('single dialog: music for the customer, ringback to the agent while the target rings, then the target; complete connects customer and target', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await env.customerOnAgent({ ringMs: 1500 });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);

    // The customer is re-INVITEd to a music endpoint (sendonly hold, RFC 3264 §8.4).
    const hold = await nthInvite(customer, 1, 'hold re-INVITE to the customer');
    expect(sdpOf(hold).direction).toBe('sendonly');
    const music = env.endpointOf(hold);
    expect(music.source).toBe('music');
    // The agent's leg, in the same dialog, is re-INVITEd to a ringback endpoint while the target rings.
    const ring = await nthInvite(agent, 2, 'ringback re-INVITE to the agent');
    expect(callIdOf(ring)).toBe(callIdOf(invites(agent)[0]!));
    expect(sdpOf(ring).direction).toBe('sendrecv');
    const ringback = env.endpointOf(ring);
    expect(ringback.source).toBe('ringback');
    await rtpFrom(agentRtp, ringback.port, 10);
    expect(ringback.remote).toEqual({ host: '127.0.0.1', port: agentRtp.port });
    expect(s.events.some((e) => e.name === 'EventEstablished' && e.connId !== connId)).toBe(false);

    // The target answers: its offer reaches the agent's leg, the ringback endpoint closes.
    await consultEstablished(s);
    const toTarget = await nthInvite(agent, 3, 'the target offer to the agent');
    expect(sdpOf(toTarget)).toMatchObject({ name: 'target', port: targetRtp.port });
    await waitFor(() => ringback.closed, 'the ringback endpoint closed');
    expect(env.media!.openEndpoints).toBe(1);
    const ackToTarget = target.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('ACK'))!;
    expect(sdpOf(ackToTarget)).toMatchObject({ name: 'agent', port: agentRtp.port });

    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: '7001', connId, transferConnId: consultId },
      origin,
    );
    // Customer and target connected SDP by SDP; the agent's leg gets BYE; no endpoint left.
    const joined = await nthInvite(customer, 2, 'the target offer to the customer');
    expect(sdpOf(joined)).toMatchObject({ name: 'target', port: targetRtp.port, direction: 'sendrecv' });
    await waitFor(() => agent.receivedRequests('BYE').length === 1, 'BYE to the agent');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    expect(new Set(invites(agent).map(callIdOf)).size).toBe(1); // never a second dialog
    expect(invites(target)).toHaveLength(2); // the offer-less INVITE and the complete re-INVITE
    expect(sdpBody(invites(target)[1]!).trim()).toBe('');

    s.b2bua.releaseCall(s.b2bua.getCall(connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([...CONSULT_ESTABLISHED, 'EventReleased:consult', 'EventReleased:main']);
  });

  it('RequestAlternateCall swaps the agent between target and customer (the other one hears music); RequestReconnectCall ends on the customer', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await env.customerOnAgent();
    const consultId = await initiateConsult(s, connId);
    await waitFor(() => env.media!.openEndpoints === 1, 'only the music endpoint open');
    const agentInvites0 = invites(agent).length;

    // To the customer: the target hears music, the agent's offer reaches the customer.
    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId: consultId }, origin);
    const targetHold = await nthInvite(target, 2, 'the target held');
    expect(sdpOf(targetHold).direction).toBe('sendonly');
    expect(env.endpointOf(targetHold).source).toBe('music');
    const offerless = await nthInvite(agent, agentInvites0 + 1, 'offer-less re-INVITE to the agent');
    expect(sdpBody(offerless).trim()).toBe('');
    const back = await nthInvite(customer, 2, 'the agent offer to the customer');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => env.media!.openEndpoints === 1, 'the customer music closed, the target music open');
    expect(env.media!.byPort(sdpOf(invites(customer)[0]!).port)!.closed).toBe(true);

    // Back to the target: the customer hears music again.
    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId }, origin);
    const customerHold = await nthInvite(customer, 3, 'the customer held again');
    expect(sdpOf(customerHold).direction).toBe('sendonly');
    expect(env.endpointOf(customerHold).source).toBe('music');
    const toTarget = await nthInvite(target, 3, 'the agent offer to the target');
    expect(sdpOf(toTarget)).toMatchObject({ name: 'agent', port: agentRtp.port });
    await waitFor(() => env.media!.openEndpoints === 1, 'the target music closed');

    // Reconnect: the target gets BYE, the agent is back with the customer, nothing left open.
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    await waitFor(() => target.receivedRequests('BYE').length === 1, 'BYE to the target');
    const last = await nthInvite(customer, 4, 'the customer reconnected');
    expect(sdpOf(last)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    expect(new Set(invites(agent).map(callIdOf)).size).toBe(1);
    expect(targetRtp.port).toBeGreaterThan(0);

    await releaseCall(s, connId);
    expect(eventsOf(s, connId)).toEqual([
      ...CONSULT_ESTABLISHED,
      'EventHeld:consult',
      'EventRetrieved:main',
      'EventHeld:main',
      'EventRetrieved:consult',
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('RequestHoldCall, single dialog: the customer hears music, the agent a silence endpoint (no hold direction); retrieve closes both', async () => {
    const { s, agent, customer, agentRtp, connId } = await env.customerOnAgent();
    await s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin);
    const hold = await nthInvite(customer, 1, 'hold re-INVITE to the customer');
    expect(sdpOf(hold).direction).toBe('sendonly');
    expect(env.endpointOf(hold).source).toBe('music');
    const quiet = await nthInvite(agent, 2, 'the agent to silence');
    expect(sdpOf(quiet).direction).toBe('sendrecv');
    expect(sdpBody(quiet)).not.toMatch(/a=(sendonly|recvonly|inactive)/);
    const silence = env.endpointOf(quiet);
    expect(silence.source).toBe('silence');
    await rtpFrom(agentRtp, silence.port, 5);
    expect(env.media!.openEndpoints).toBe(2);

    await s.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await releaseCall(s, connId);
    expect(s.events.map((e) => e.name)).toEqual([
      'EventRinging',
      'EventEstablished',
      'EventHeld',
      'EventRetrieved',
      'EventReleased',
    ]);
  });

  it('target busy: EventDestinationBusy, the ringback turns to silence; reconnect leaves no endpoint', async () => {
    const { s, agent, customer, agentRtp, connId } = await env.customerOnAgent({ target: 'uas-busy-486.xml' });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => s.events.some((e) => e.name === 'EventDestinationBusy'), 'EventDestinationBusy');
    const ringback = env.endpointOf(await nthInvite(agent, 2, 'ringback re-INVITE to the agent'));
    await waitFor(() => ringback.source === 'silence', 'the ringback endpoint plays silence');
    expect(ringback.sources).toEqual(['silence', 'ringback', 'silence']);
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port });
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await releaseCall(s, connId);
    expect(eventsOf(s, connId)).toEqual([
      ...CONSULT_DIALING,
      'EventDestinationBusy:consult',
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('a target answering without SDP is ACKed and released (BYE); the desktop releases the consult call (the agent goes back on silence), retrieves and releases the main call: nothing left', async () => {
    const { s, agent, target, customer, agentRtp, connId } = await env.customerOnAgent({
      target: 'uas-answer-no-sdp.xml',
    });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => target.receivedRequests('BYE').length === 1, 'BYE to the target after its ACK');
    expect(target.receivedRequests('ACK')).toHaveLength(1);
    const ringback = env.endpointOf(await nthInvite(agent, 2, 'ringback re-INVITE to the agent'));
    await waitFor(() => ringback.source === 'silence', 'the ringback endpoint plays silence');
    // Releasing the consult call keeps the agent's only dialog: it goes back to the held main call on silence.
    const consult = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId: consult }, origin);
    const quiet = await nthInvite(agent, 3, 'the agent to silence');
    expect(env.endpointOf(quiet).source).toBe('silence');
    expect(agent.receivedRequests('BYE')).toHaveLength(0);
    await waitFor(() => env.media!.openEndpoints === 2, 'music and silence, the ringback closed');
    expect(ringback.closed).toBe(true);
    // The main call is still held: RequestRetrieveCall reconnects agent and customer.
    await s.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    expect(sdpOf(await nthInvite(customer, 2, 'the customer reconnected'))).toMatchObject({
      name: 'agent',
      port: agentRtp.port,
    });
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await releaseCall(s, connId);
    await waitFor(() => agent.distinctRequests('BYE') === 1, 'BYE to the agent');
    expect(eventsOf(s, connId)).toEqual([
      ...CONSULT_DIALING,
      'EventNetworkReached:consult', // reported with the (broken) answer
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('the agent gateway refuses the ringback re-INVITE (488): the customer is reconnected, EventError, no endpoint left', async () => {
    const { s, agent, customer, agentRtp, connId } = await env.customerOnAgent({
      agent: 'uas-device-488-first-reinvite.xml',
    });
    await expect(
      s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin),
    ).rejects.toMatchObject({ reason: 'failed' });
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    expect(invites(agent)).toHaveLength(3); // INVITE, refused re-INVITE, offer-less re-INVITE
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    expect(s.b2bua.activeCalls).toBe(1);
    await expect(
      s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    await releaseCall(s, connId);
    await expect(
      s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'unknown-conn-id' });
  });

  it('glare: the agent gateway answers the ringback re-INVITE 491; it is retried (RFC 3261 §14.1) and the consultation goes on', async () => {
    const { s, agent, customer, targetRtp, connId } = await env.customerOnAgent({
      agent: 'uas-device-491-first-reinvite.xml',
    });
    const started = Date.now();
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    const [refused, retried] = [invites(agent)[1]!, invites(agent)[2]!];
    // We own the agent leg's Call-ID (we INVITEd it): the retry waits 2.1–4 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(sdpBody(retried)).toBe(sdpBody(refused)); // the same offer again
    expect(env.endpointOf(retried).source).toBe('ringback');
    await consultEstablished(s);
    expect(sdpOf(await nthInvite(agent, 4, 'the target offer to the agent'))).toMatchObject({ port: targetRtp.port });
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    await nthInvite(customer, 2, 'the customer reconnected');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await releaseCall(s, connId);
  });

  it('the customer hangs up while the target rings: the music endpoint closes, the consultation goes on to the target', async () => {
    const { s, agent, targetRtp, connId } = await env.customerOnAgent({
      ringMs: 1500,
      customer: 'uac-customer-hangs-up-on-hold.xml',
      customerPauseMs: 300,
    });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => s.events.some((e) => e.name === 'EventReleased' && e.connId === connId), 'main call released');
    await waitFor(() => env.media!.openEndpoints === 1, 'the music endpoint closed, the ringback open');
    await consultEstablished(s);
    expect(sdpOf(await nthInvite(agent, 3, 'the target offer to the agent'))).toMatchObject({ port: targetRtp.port });
    await waitFor(() => env.media!.openEndpoints === 0, 'the ringback endpoint closed');
    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId: consultId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([
      ...CONSULT_DIALING,
      'EventNetworkReached:consult',
      'EventReleased:main',
      'EventEstablished:consult',
      'EventReleased:consult',
    ]);
  });

  it('the agent hangs up while the target rings: the target is CANCELled, the customer gets BYE, every endpoint closes', async () => {
    const { s, target, customer, connId } = await env.customerOnAgent({
      ringMs: 5000,
      agent: 'uas-device-hangs-up-after-reinvite.xml',
    });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await waitFor(() => target.receivedRequests('CANCEL').length === 1, 'CANCEL to the ringing target');
    await waitFor(() => customer.receivedRequests('BYE').length === 1, 'BYE to the customer');
    expect(env.media!.endpoints.map((e) => e.sources.at(-1))).toEqual(['music', 'ringback']);
  });

  it('the agent gateway never answers the ringback re-INVITE: Timer B ends its dialog (BYE), the customer is released, EventError, no endpoint left', async () => {
    const { s, agent, customer, connId } = await env.customerOnAgent({
      agent: 'uas-nailed-reinvite-silent.xml',
      t1: 50,
    });
    await expect(
      s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin),
    ).rejects.toMatchObject({ reason: 'failed' });
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await waitFor(() => agent.distinctRequests('BYE') === 1, 'BYE to the agent');
    await waitFor(() => customer.receivedRequests('BYE').length >= 1, 'BYE to the customer');
    expect(env.media!.endpoints.map((e) => e.sources.at(-1))).toEqual(['music', 'ringback']);
    expect(s.events.map((e) => e.name)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
  });
});
