/**
 * Hold and consultation on media endpoints (behaviour §6) with SIPp as the customer, the agent's
 * device (a PSTN agent: `dual-dialog-enabled = false`) and the target behind a softswitch, and a
 * media server whose endpoints are real UDP ports ({@link RecordingMediaServer}). Every SDP the
 * devices receive is checked against the endpoint or party it must name, RTP from the ringback
 * and silence endpoints is captured on the agent's media socket, and no endpoint is left open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import sdpTransform from 'sdp-transform';
import { freePort } from '../helpers/ports.js';
import { RecordingMediaServer, type RecordingEndpoint } from '../helpers/recording-media.js';
import { callIdOf, sdpBody, startSipp, type SippPeer, type TracedMessage } from '../helpers/sipp.js';
import { UdpPeer, type Datagram } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer } from './call-harness.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const origin = { requesterId: 'desk-1', referenceId: 9 };

let server: CallServer | undefined;
let media: RecordingMediaServer | undefined;
const peers: SippPeer[] = [];
const sockets: UdpPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
  await server?.stop();
  await media?.close();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  server = undefined;
  media = undefined;
});

function yaml(agentPort: number, ssPort: number, dualDialog = 'false'): string {
  return `server:
  name: CallTest
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
  - number: Softswitch
    type: voip-service
    options:
      contact: "127.0.0.1:${ssPort}"
      service-type: softswitch
      prefix: "9"
  - number: "7001"
    type: extension
    options:
      contact: "127.0.0.1:${agentPort}"
      dual-dialog-enabled: "${dualDialog}"
`;
}

/** What one SDP names: address, port, direction, session name. */
function sdpOf(m: TracedMessage): { ip: string; port: number; direction: string; name: string } {
  const s = sdpTransform.parse(sdpBody(m).replace(/\r?\n/g, '\r\n'));
  const a = s.media[0]!;
  return {
    ip: a.connection?.ip ?? s.connection?.ip ?? '',
    port: a.port,
    direction: a.direction ?? s.direction ?? 'sendrecv',
    name: s.name ?? '',
  };
}

interface Setup {
  s: CallServer;
  media: RecordingMediaServer;
  agent: SippPeer;
  target: SippPeer;
  customer: SippPeer;
  agentRtp: UdpPeer;
  targetRtp: UdpPeer;
  connId: string;
}

/** Customer → 7001 (SIPp device with its media on `agentRtp`), established; the target rings `ringMs`. */
async function customerOnAgent(
  opts: { ringMs?: number; dualDialog?: string; target?: string; agent?: string } = {},
): Promise<Setup> {
  const agentPort = await freePort();
  const ssPort = await freePort();
  media = new RecordingMediaServer();
  const s = (server = await startCallServer(yaml(agentPort, ssPort, opts.dualDialog), { media }));
  const sut = `127.0.0.1:${s.port}`;
  const agentRtp = await UdpPeer.open();
  const targetRtp = await UdpPeer.open();
  sockets.push(agentRtp, targetRtp);
  const device = (marker: string, rtp: UdpPeer, port: number, pauseMs: number, scenario = 'uas-device-media.xml') =>
    startSipp({
      scenario: scen(scenario),
      target: sut,
      localPort: port,
      pauseMs,
      timeoutMs: 30_000,
      args: ['-key', 'marker', marker, '-key', 'rtp_port', String(rtp.port)],
    });
  const agent = await device('agent', agentRtp, agentPort, 0, opts.agent);
  const target = await device('target', targetRtp, ssPort, opts.ringMs ?? 0, opts.target);
  const customer = await startSipp({
    scenario: scen('e2e-uac-customer-stays.xml'),
    target: sut,
    service: '7001',
    calls: 1,
    timeoutMs: 30_000,
  });
  peers.push(agent, target, customer);
  const est = await waitFor(() => s.events.find((e) => e.name === 'EventEstablished'), {
    what: 'the customer call established',
  });
  return { s, media, agent, target, customer, agentRtp, targetRtp, connId: est.connId };
}

/** The INVITEs a SIPp device received, in order. */
const invites = (p: SippPeer): TracedMessage[] => p.receivedRequests('INVITE');

/** Wait for the `n`th INVITE (1-based) a device receives and return it. */
async function nthInvite(p: SippPeer, n: number, what: string): Promise<TracedMessage> {
  return waitFor(() => invites(p)[n - 1], { what, timeoutMs: 10_000 });
}

/** The endpoint an SDP names (our address and one of our ports). */
function endpointOf(m: TracedMessage): RecordingEndpoint {
  const sdp = sdpOf(m);
  expect(sdp.ip).toBe('127.0.0.1');
  const e = media!.byPort(sdp.port);
  expect(e, `an endpoint on port ${sdp.port}`).toBeDefined();
  return e!;
}

/** RTP from `port` captured on `sock`: at least `n` packets with consecutive sequence numbers. */
async function rtpFrom(sock: UdpPeer, port: number, n: number): Promise<Datagram[]> {
  const got = await sock.waitFor((d) => d.from.port === port && d.buf.length === 172, n, 5000);
  expect(got.length).toBeGreaterThanOrEqual(n);
  const seqs = got.map((d) => d.buf.readUInt16BE(2));
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
  return got;
}

const eventsOf = (s: CallServer, connId: string) =>
  s.events.map((e) => `${e.name}:${e.connId === connId ? 'main' : 'consult'}`);

describe('hold and consultation with media endpoints (behaviour §6)', () => {
  it('single dialog: music for the customer, ringback to the agent while the target rings, then the target; complete connects customer and target', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await customerOnAgent({ ringMs: 1500 });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);

    // The customer is re-INVITEd to a music endpoint (sendonly hold, RFC 3264 §8.4).
    const hold = await nthInvite(customer, 1, 'hold re-INVITE to the customer');
    expect(sdpOf(hold).direction).toBe('sendonly');
    const music = endpointOf(hold);
    expect(music.source).toBe('music');
    // The agent's leg, in the same dialog, is re-INVITEd to a ringback endpoint while the target rings.
    const ring = await nthInvite(agent, 2, 'ringback re-INVITE to the agent');
    expect(callIdOf(ring)).toBe(callIdOf(invites(agent)[0]!));
    expect(sdpOf(ring).direction).toBe('sendrecv');
    const ringback = endpointOf(ring);
    expect(ringback.source).toBe('ringback');
    expect(ringback.remote).toEqual({ host: '127.0.0.1', port: agentRtp.port });
    await rtpFrom(agentRtp, ringback.port, 10);
    expect(s.events.some((e) => e.name === 'EventEstablished' && e.connId !== connId)).toBe(false);

    // The target answers: its offer reaches the agent's leg, the ringback endpoint closes.
    await waitFor(() => s.events.filter((e) => e.name === 'EventEstablished').length === 2, {
      what: 'the consultation established',
    });
    const toTarget = await nthInvite(agent, 3, 'the target offer to the agent');
    expect(sdpOf(toTarget)).toMatchObject({ name: 'target', port: targetRtp.port });
    await waitFor(() => ringback.closed, 'the ringback endpoint closed');
    expect(media!.openEndpoints).toBe(1);
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
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    expect(new Set(invites(agent).map(callIdOf)).size).toBe(1); // never a second dialog
    expect(invites(target)).toHaveLength(2); // the offer-less INVITE and the complete re-INVITE
    expect(sdpBody(invites(target)[1]!).trim()).toBe('');

    s.b2bua.releaseCall(s.b2bua.getCall(connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([
      'EventRinging:main',
      'EventEstablished:main',
      'EventHeld:main',
      'EventDialing:consult',
      'EventNetworkReached:consult',
      'EventEstablished:consult',
      'EventReleased:consult',
      'EventReleased:main',
    ]);
  });

  it('RequestAlternateCall swaps the agent between target and customer (the other one hears music); RequestReconnectCall ends on the customer', async () => {
    const { s, agent, target, customer, agentRtp, targetRtp, connId } = await customerOnAgent();
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => s.events.filter((e) => e.name === 'EventEstablished').length === 2, {
      what: 'the consultation established',
    });
    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await waitFor(() => media!.openEndpoints === 1, 'only the music endpoint open');
    const agentInvites0 = invites(agent).length;

    // To the customer: the target hears music, the agent's offer reaches the customer.
    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId: consultId }, origin);
    const targetHold = await nthInvite(target, 2, 'the target held');
    expect(sdpOf(targetHold).direction).toBe('sendonly');
    expect(endpointOf(targetHold).source).toBe('music');
    const offerless = await nthInvite(agent, agentInvites0 + 1, 'offer-less re-INVITE to the agent');
    expect(sdpBody(offerless).trim()).toBe('');
    const back = await nthInvite(customer, 2, 'the agent offer to the customer');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => media!.openEndpoints === 1, 'the customer music closed, the target music open');
    expect(media!.byPort(sdpOf(invites(customer)[0]!).port)!.closed).toBe(true);

    // Back to the target: the customer hears music again.
    await s.control.handle({ request: 'RequestAlternateCall', thisDN: '7001', connId }, origin);
    const customerHold = await nthInvite(customer, 3, 'the customer held again');
    expect(sdpOf(customerHold).direction).toBe('sendonly');
    expect(endpointOf(customerHold).source).toBe('music');
    const toTarget = await nthInvite(target, 3, 'the agent offer to the target');
    expect(sdpOf(toTarget)).toMatchObject({ name: 'agent', port: agentRtp.port });
    await waitFor(() => media!.openEndpoints === 1, 'the target music closed');

    // Reconnect: the target gets BYE, the agent is back with the customer, nothing left open.
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    await waitFor(() => target.receivedRequests('BYE').length === 1, 'BYE to the target');
    const last = await nthInvite(customer, 4, 'the customer reconnected');
    expect(sdpOf(last)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    expect(new Set(invites(agent).map(callIdOf)).size).toBe(1);
    expect(targetRtp.port).toBeGreaterThan(0);

    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([
      'EventRinging:main',
      'EventEstablished:main',
      'EventHeld:main',
      'EventDialing:consult',
      'EventNetworkReached:consult',
      'EventEstablished:consult',
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
    const { s, agent, customer, agentRtp, connId } = await customerOnAgent();
    await s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin);
    const hold = await nthInvite(customer, 1, 'hold re-INVITE to the customer');
    expect(sdpOf(hold).direction).toBe('sendonly');
    expect(endpointOf(hold).source).toBe('music');
    const quiet = await nthInvite(agent, 2, 'the agent to silence');
    expect(sdpOf(quiet).direction).toBe('sendrecv');
    expect(sdpBody(quiet)).not.toMatch(/a=(sendonly|recvonly|inactive)/);
    const silence = endpointOf(quiet);
    expect(silence.source).toBe('silence');
    await rtpFrom(agentRtp, silence.port, 5);
    expect(media!.openEndpoints).toBe(2);

    await s.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(s.events.map((e) => e.name)).toEqual([
      'EventRinging',
      'EventEstablished',
      'EventHeld',
      'EventRetrieved',
      'EventReleased',
    ]);
  });

  it('RequestHoldCall, two dialogs (office phone): the customer hears music, the phone gets the usual sendonly hold', async () => {
    const { s, agent, customer, connId } = await customerOnAgent({ dualDialog: 'true' });
    await s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin);
    expect(endpointOf(await nthInvite(customer, 1, 'hold re-INVITE to the customer')).source).toBe('music');
    const held = await nthInvite(agent, 2, 'hold re-INVITE to the phone');
    expect(sdpOf(held)).toMatchObject({ direction: 'sendonly', ip: '0.0.0.0' });
    expect(media!.openEndpoints).toBe(1);
    await s.control.handle({ request: 'RequestRetrieveCall', thisDN: '7001', connId }, origin);
    await waitFor(() => media!.openEndpoints === 0, 'the music endpoint closed');
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
  });

  it('target busy: EventDestinationBusy, the ringback turns to silence; reconnect leaves no endpoint', async () => {
    const { s, agent, customer, agentRtp, connId } = await customerOnAgent({ target: 'uas-busy-486.xml' });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => s.events.some((e) => e.name === 'EventDestinationBusy'), 'EventDestinationBusy');
    const ringback = endpointOf(await nthInvite(agent, 2, 'ringback re-INVITE to the agent'));
    await waitFor(() => ringback.source === 'silence', 'the ringback endpoint plays silence');
    expect(ringback.sources).toEqual(['silence', 'ringback', 'silence']);
    await s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin);
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port });
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    expect(eventsOf(s, connId)).toEqual([
      'EventRinging:main',
      'EventEstablished:main',
      'EventHeld:main',
      'EventDialing:consult',
      'EventDestinationBusy:consult',
      'EventReleased:consult',
      'EventRetrieved:main',
      'EventReleased:main',
    ]);
  });

  it('a target answering without SDP is ACKed and released (BYE); the desktop releases the consult call, then the main call: nothing left', async () => {
    const { s, agent, target, connId } = await customerOnAgent({ target: 'uas-answer-no-sdp.xml' });
    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
    await waitFor(() => target.receivedRequests('BYE').length === 1, 'BYE to the target after its ACK');
    expect(target.receivedRequests('ACK')).toHaveLength(1);
    const ringback = endpointOf(await nthInvite(agent, 2, 'ringback re-INVITE to the agent'));
    await waitFor(() => ringback.source === 'silence', 'the ringback endpoint plays silence');
    // Releasing the consult call keeps the agent's only dialog: it goes back to the held main call on silence.
    const consult = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId: consult }, origin);
    const quiet = await nthInvite(agent, 3, 'the agent to silence');
    expect(endpointOf(quiet).source).toBe('silence');
    expect(agent.receivedRequests('BYE')).toHaveLength(0);
    await waitFor(() => media!.openEndpoints === 2, 'music and silence, the ringback closed');
    expect(ringback.closed).toBe(true);
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    expect(agent.receivedRequests('BYE')).toHaveLength(1);
    expect(eventsOf(s, connId)).toEqual([
      'EventRinging:main',
      'EventEstablished:main',
      'EventHeld:main',
      'EventDialing:consult',
      'EventNetworkReached:consult', // reported with the (broken) answer
      'EventReleased:consult',
      'EventReleased:main',
    ]);
  });

  it('the agent gateway refuses the ringback re-INVITE (488): the customer is reconnected, EventError, no endpoint left', async () => {
    const { s, agent, customer, agentRtp, connId } = await customerOnAgent({
      agent: 'uas-device-488-first-reinvite.xml',
    });
    await expect(
      s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin),
    ).rejects.toMatchObject({ reason: 'failed' });
    const back = await nthInvite(customer, 2, 'the customer reconnected');
    expect(sdpOf(back)).toMatchObject({ name: 'agent', port: agentRtp.port, direction: 'sendrecv' });
    expect(invites(agent)).toHaveLength(3); // INVITE, refused re-INVITE, offer-less re-INVITE
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    expect(s.b2bua.activeCalls).toBe(1);
    await expect(
      s.control.handle({ request: 'RequestReconnectCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    await expect(
      s.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'unknown-conn-id' });
  });
});
