/**
 * Hold and consultation of an office phone (`dual-dialog-enabled = true`, behaviour §6): the main
 * call is held by re-INVITE (`sendonly`), the consultation is a second INVITE dialog to the phone
 * whose offer is a ringback endpoint, then the target's offer by re-INVITE. SIPp devices, a
 * built-in media server recorded by {@link RecordingMediaServer}; SDP checked at each step, RTP captured, no endpoint left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callIdOf } from '../helpers/sipp.js';
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
import { CONSULT_ESTABLISHED } from './call-harness.js';

const env = new ConsultMediaEnv();
afterEach(() => env.stop());

describe('hold and consultation with media endpoints, two dialogs (behaviour §6)', () => {
  it('RequestHoldCall, two dialogs (office phone): the customer hears music, the phone gets the usual sendonly hold', async () => {
    const { s, agent, customer, connId } = await env.customerOnAgent({ dualDialog: 'true' });
    await s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin);
    expect(env.endpointOf(await nthInvite(customer, 1, 'hold re-INVITE to the customer')).source).toBe('music');
    const held = await nthInvite(agent, 2, 'hold re-INVITE to the phone');
    expect(sdpOf(held)).toMatchObject({ direction: 'sendonly', ip: '0.0.0.0' });
    expect(env.media!.openEndpoints).toBe(1);
    await s.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    await waitFor(() => env.media!.openEndpoints === 0, 'the music endpoint closed');
    await releaseCall(s, connId);
  });

  it('two dialogs (office phone): main call held sendonly, a new INVITE dialog to the phone with ringback, then the target; complete ends both dialogs', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await env.customerOnAgent({
      dualDialog: 'true',
      ringMs: 1000,
    });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    expect(env.endpointOf(await nthInvite(customer, 1, 'hold re-INVITE to the customer')).source).toBe('music');
    const held = await nthInvite(agent, 2, 'hold re-INVITE to the phone');
    expect(callIdOf(held)).toBe(callIdOf(invites(agent)[0]!));
    expect(sdpOf(held)).toMatchObject({ direction: 'sendonly', ip: '0.0.0.0' });
    // The consultation is a second INVITE dialog whose offer is a ringback endpoint.
    const second = await nthInvite(agent, 3, 'the consultation INVITE to the phone');
    expect(callIdOf(second)).not.toBe(callIdOf(invites(agent)[0]!));
    expect(second.text).not.toMatch(/^To:.*;tag=/im);
    const ringback = env.endpointOf(second);
    expect(ringback.source).toBe('ringback');
    await rtpFrom(agentRtp, ringback.port, 10);
    await consultEstablished(s);
    const toTarget = await nthInvite(agent, 4, 'the target offer on the consultation dialog');
    expect(callIdOf(toTarget)).toBe(callIdOf(second));
    expect(sdpOf(toTarget)).toMatchObject({ name: 'target', port: targetRtp.port });
    await waitFor(() => ringback.closed, 'the ringback endpoint closed');

    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: '7001', connId, transferConnId: consultId },
      origin,
    );
    const joined = await nthInvite(customer, 2, 'the target offer to the customer');
    expect(sdpOf(joined)).toMatchObject({ name: 'target', port: targetRtp.port, direction: 'sendrecv' });
    await waitFor(() => agent.receivedRequests('BYE').length === 2, 'BYE on both dialogs of the phone');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    expect(invites(target)).toHaveLength(2);
    s.b2bua.releaseCall(s.b2bua.getCall(connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([...CONSULT_ESTABLISHED, 'EventReleased:consult', 'EventReleased:main']);
    expect(s.events.find((e) => e.name === 'EventReleased' && e.connId === connId)!.transferConnId).toBe(consultId);
  });

  it('two dialogs: RequestReconnectCall ends the consultation dialog and retrieves the main call', async () => {
    const { s, agent, target, customer, agentRtp, connId } = await env.customerOnAgent({ dualDialog: 'true' });
    await initiateConsult(s, connId);
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    await waitFor(() => target.receivedRequests('BYE').length === 1, 'BYE to the target');
    const second = invites(agent)[2]!;
    await waitFor(
      () => agent.receivedRequests('BYE').filter((m) => callIdOf(m) === callIdOf(second)).length === 1,
      'BYE on the consultation dialog',
    );
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    await releaseCall(s, connId);
    expect(eventsOf(s, connId)).toEqual([
      ...CONSULT_ESTABLISHED,
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('two dialogs: RequestAlternateCall holds the consultation dialog (target on music, phone sendonly) and retrieves the main one, and back', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await env.customerOnAgent({
      dualDialog: 'true',
    });
    const consultId = await initiateConsult(s, connId);
    const [mainDialog, consultDialog] = [callIdOf(invites(agent)[0]!), callIdOf(invites(agent)[2]!)];

    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId: consultId }, origin);
    expect(env.endpointOf(await nthInvite(target, 2, 'the target held')).source).toBe('music');
    const phoneHeld = await nthInvite(agent, 5, 'the consultation dialog held');
    expect(callIdOf(phoneHeld)).toBe(consultDialog);
    expect(sdpOf(phoneHeld)).toMatchObject({ direction: 'sendonly', ip: '0.0.0.0' });
    const retrieved = await nthInvite(agent, 6, 'the main dialog retrieved');
    expect(callIdOf(retrieved)).toBe(mainDialog);
    expect(sdpOf(await nthInvite(customer, 2, 'the phone offer to the customer'))).toMatchObject({
      name: 'agent',
      port: agentRtp.port,
    });
    await waitFor(() => env.media!.openEndpoints === 1, 'the customer music closed, the target music open');

    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId }, origin);
    expect(env.endpointOf(await nthInvite(customer, 3, 'the customer held again')).source).toBe('music');
    expect(sdpOf(await nthInvite(target, 3, 'the phone offer to the target'))).toMatchObject({ name: 'agent' });
    await waitFor(() => env.media!.openEndpoints === 1, 'the target music closed');

    await s.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: '7001', connId, transferConnId: consultId },
      origin,
    );
    expect(sdpOf(await nthInvite(customer, 4, 'the target offer to the customer'))).toMatchObject({
      name: 'target',
      port: targetRtp.port,
    });
    await waitFor(() => agent.receivedRequests('BYE').length === 2, 'BYE on both dialogs of the phone');
    await waitFor(() => env.media!.openEndpoints === 0, 'every endpoint closed');
    s.b2bua.releaseCall(s.b2bua.getCall(connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId).slice(6, 10)).toEqual([
      'EventHeld:consult',
      'EventRetrieved:main',
      'EventHeld:main',
      'EventRetrieved:consult',
    ]);
  });
});
