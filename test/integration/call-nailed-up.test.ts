/**
 * Nailed-up connections (behaviour §10), in-process over the call harness with SIPp as the
 * agent's gateway and the customer: a re-INVITE refused with 488 (the customer gets 488, the
 * connection stays parked and carries the next call); a re-INVITE refused with 491 (retried after
 * the RFC 3261 §14.1 back-off, then the call connects); `agent-phone` on a nailed-up extension
 * (behaviour §7: the connection goes to the home number via the softswitch); RequestMakeCall and RequestSingleStepTransfer
 * from the agent (no new INVITE, no BYE to the phone; re-park), also to a destination answering
 * without SDP (that call ends, the connection is re-parked); an agent phone that never answers
 * at login (login succeeds, state `none`); a customer who abandons while the connection is being
 * built (CANCEL to the phone, nothing left); `disconnect-nailedup-timeout` (parked time only: a
 * longer call is not cut); requests naming a call that has ended (unknown-conn-id, nothing sent);
 * the agent hanging up while parked, the softswitch out of service. A counting media server
 * checks that no park endpoint is left behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallControlRequest } from '../../src/contact-center/call-control.js';
import type { MediaEndpoint, MediaMixer, MediaServer } from '../../src/media/media-server.js';
import { freePort } from '../helpers/ports.js';
import { callIdOf, runSipp, sdpBody, startSipp, type SippPeer, type SippRun } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import type { CallDomainEvent } from '../../src/contact-center/events.js';
import { callYaml, extensionDn, joe, routingPointDn, softswitchDn, type DnOptions } from './call-yaml.js';

const JOE = '+15551231111';
/** Jay's office extension, worked nailed-up from his home number {@link JAY_HOME} (agent-phone, behaviour §7). */
const JAY_DN = '8888';
const JAY_HOME = '+15551232222';

/** A media server that only counts endpoints (offers and answers point at an unused loopback port). */
class CountingMedia implements MediaServer {
  openEndpoints = 0;
  private next = 0;

  async createEndpoint(): Promise<MediaEndpoint> {
    this.openEndpoints++;
    const id = `ep${++this.next}`;
    let closed = false;
    const sdp = `v=0\r\no=- ${this.next} 1 IN IP4 127.0.0.1\r\ns=park-${id}\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
    return {
      id,
      port: 9,
      createOffer: async () => sdp,
      answer: async () => sdp,
      acceptAnswer: async () => undefined,
      play: async () => undefined,
      stats: async () => ({
        packetsSent: 0,
        packetsReceived: 0,
        telephoneEvents: 0,
        packetsRejected: 0,
        remote: undefined,
        payloadType: undefined,
      }),
      close: async () => {
        if (!closed) this.openEndpoints--;
        closed = true;
      },
    };
  }

  createMixer(): Promise<MediaMixer> {
    return Promise.reject(new Error('no mixer'));
  }

  async close(): Promise<void> {}
}

/**
 * Softswitch `+1` at the gateway's port, Joe's nailed-up DN, Jay's nailed-up extension 8888,
 * routing point 5000; with `brokenPort`, softswitch `+1555987` ({@link BROKEN}) there.
 */
function yaml(gatewayPort: number, softswitchOptions: DnOptions, brokenPort?: number): string {
  return callYaml(
    [
      ...(brokenPort === undefined ? [] : [softswitchDn(brokenPort, '+1555987', {}, 'Broken')]),
      softswitchDn(gatewayPort, '+1', { 'make-call-rfc3725-flow': '1', ...softswitchOptions }),
      extensionDn(JOE, undefined, { 'line-type': '1' }),
      extensionDn(JAY_DN, undefined, { 'line-type': '1' }),
      routingPointDn('5000', 'Support'),
    ],
    {
      name: 'NailedUpTest',
      serverOptions: { 'sip-invite-timeout': '2' },
      agents: [joe(JOE), { id: 'jay', name: 'Jay', password: 'jay-secret', dn: JAY_DN }],
      extra: 'agent-groups:\n  - name: Support\n    agents: [joe]\n',
    },
  );
}

/** Numbers behind softswitch `Broken` (see {@link yaml}). */
const BROKEN = '+15559870000';

/** The softswitch parks a nailed-up connection at login. */
const PARK: DnOptions = { 'connect-nailedup-on-login': 'gcti::park' };

describe('nailed-up connections over the call harness', () => {
  let server: CallServer | undefined;
  let gateway: SippPeer | undefined;
  const media = new CountingMedia();

  afterEach(async () => {
    await gateway?.stop();
    await server?.stop();
    gateway = server = undefined;
  });

  /** The gateway SIPp runs `gatewayScenario` (with `sipp`'s options); the server has `softswitchOptions`. */
  async function start(
    gatewayScenario: string,
    softswitchOptions: DnOptions,
    sipp: Partial<SippRun> = {},
    brokenPort?: number,
  ): Promise<void> {
    const port = await freePort();
    gateway = await startSipp({ ...sipp, scenario: scen(gatewayScenario), localPort: port });
    server = await startCallServer(yaml(port, softswitchOptions, brokenPort), { media });
  }

  const state = () => server!.nailedUp.stateOf(JOE);
  const login = () => server!.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });

  /** Start on `gatewayScenario` with `softswitchOptions`, log Joe in and wait for the connection to be parked. */
  async function parked(
    gatewayScenario: string,
    softswitchOptions: DnOptions,
    sipp?: Partial<SippRun>,
    brokenPort?: number,
  ): Promise<void> {
    await start(gatewayScenario, softswitchOptions, sipp, brokenPort);
    login();
    await waitFor(() => state() === 'parked', { what: 'parked' });
  }

  /** A customer calls `dn`, talks `pauseMs` and hangs up; the call must succeed. */
  async function customerCall(dn: string, pauseMs = 200): Promise<void> {
    const ok = await runSipp({
      scenario: scen('e2e-uac-customer-call.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: dn,
      pauseMs,
    });
    expect(ok.code, ok.errors).toBe(0);
  }

  /** A customer calls Joe and stays; `run` gets it and Joe's EventEstablished, then the customer is stopped. */
  async function withCustomerOnJoe(
    run: (customer: SippPeer, est: CallDomainEvent) => Promise<void>,
    dn = JOE,
  ): Promise<void> {
    const customer = await startSipp({
      scenario: scen('e2e-uac-customer-stays.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: dn,
      calls: 1,
    });
    try {
      const est = await waitFor(
        () => server!.events.find((e) => e.name === 'EventEstablished' && e.thisDN === dn),
        'EventEstablished on the agent',
      );
      await run(customer, est);
    } finally {
      await customer.stop();
    }
  }

  it('488 to the customer re-INVITE: the customer gets 488, the connection stays parked and takes the next call', async () => {
    await parked('uas-nailed-reinvite-488.xml', PARK);
    expect(media.openEndpoints).toBe(1);
    const refused = await runSipp({
      scenario: scen('uac-expect-488.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: JOE,
    });
    expect(refused.code, refused.errors).toBe(0);
    expect(state()).toBe('parked');
    expect(media.openEndpoints).toBe(1);
    expect(server!.b2bua.activeCalls).toBe(0);

    await customerCall(JOE);
    await waitFor(() => state() === 'parked' && media.openEndpoints === 1, { what: 're-parked' });
    const invites = gateway!.receivedRequests('INVITE');
    expect(new Set(invites.map(callIdOf)).size).toBe(1);
    expect(gateway!.distinctRequests('BYE')).toBe(0);
    // The refused offer and the accepted one both carried the customer's SDP on the same dialog.
    expect(invites.filter((m) => sdpBody(m).includes('s=uac-offer-marker')).length).toBeGreaterThan(0);
    expect(invites.filter((m) => sdpBody(m).includes('s=e2e-customer-sdp')).length).toBeGreaterThan(0);
  });

  it('491 to the customer re-INVITE: retried after the RFC 3261 §14.1 back-off (2.1–4 s, we own the Call-ID), then the call connects', async () => {
    await parked('uas-device-491-first-reinvite.xml', PARK, {
      args: ['-key', 'marker', 'gw491', '-key', 'rtp_port', '9'],
    });
    const sent = () => gateway!.messages().filter((m) => m.dir === 'sent');
    const started = Date.now();
    const customer = startSipp({
      scenario: scen('e2e-uac-customer-stays.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: JOE,
      calls: 1,
    });
    try {
      await waitFor(() => sent().some((m) => m.firstLine.startsWith('SIP/2.0 491')), '491 sent');
      const refusedAt = Date.now();
      await waitFor(() => gateway!.receivedRequests('INVITE').length >= 3, { what: 'the retry', timeoutMs: 8000 });
      const retriedAt = Date.now();
      // The retry cannot come before 2.1 s after the re-INVITE was sent (before `started`), nor
      // more than 4 s after the 491 (seen at `refusedAt`; 1 s for polling and a loaded machine).
      expect(retriedAt - started).toBeGreaterThanOrEqual(2100);
      expect(retriedAt - refusedAt).toBeLessThan(5000);
      const est = await waitFor(
        () => server!.events.find((e) => e.name === 'EventEstablished' && e.thisDN === JOE),
        'EventEstablished on the agent',
      );
      expect(state()).toBe('active');
      const [connection] = gateway!.callIds('INVITE');
      expect(gateway!.callIds('INVITE')).toEqual([connection]);
      // The connection (INVITE → 200 → ACK), the refused re-INVITE (491 → ACK), the retry (200 → ACK), one dialog.
      await waitFor(() => gateway!.receivedRequests('ACK').length >= 3, 'ACK of the retry');
      const flow = gateway!.messages().map((m) => `${m.dir} ${m.firstLine.split(' ')[m.dir === 'sent' ? 1 : 0]}`);
      expect(flow.filter((l, i) => flow[i - 1] !== l)).toEqual([
        'received INVITE',
        'sent 200',
        'received ACK',
        'received INVITE',
        'sent 491',
        'received ACK',
        'received INVITE',
        'sent 200',
        'received ACK',
      ]);
      const [, refused, retried] = gateway!.receivedRequests('INVITE');
      expect(sdpBody(retried!)).toBe(sdpBody(refused!)); // the customer's offer again
      expect(sdpBody(retried!)).toContain('s=e2e-customer-sdp');
      const origin = { requesterId: 'desk', referenceId: 4 };
      await server!.control.handle({ request: 'RequestReleaseCall', thisDN: JOE, connId: est.connId }, origin);
      await waitFor(() => state() === 'parked' && server!.b2bua.activeCalls === 0, { what: 're-parked' });
      await waitFor(() => server!.nailedUp.openEndpoints === 1, 'the re-park answered');
      expect(media.openEndpoints).toBe(1);
      expect(gateway!.distinctRequests('BYE')).toBe(0);
    } finally {
      await (await customer).stop();
    }
  });

  it('agent-phone on a nailed-up extension: the connection goes to the home number via the softswitch, calls ride it, logout BYEs it and drops the binding', async () => {
    await start('e2e-uas-sbc-answer.xml', PARK);
    const session = server!.agents.login({ agentId: 'jay', thisDN: JAY_DN, workMode: 'AutoIn', agentPhone: JAY_HOME });
    expect(session.agentPhone).toBe(JAY_HOME);
    await waitFor(() => server!.nailedUp.stateOf(JAY_DN) === 'parked', { what: 'parked' });
    const [connect] = gateway!.receivedRequests('INVITE');
    expect(connect!.firstLine).toBe(`INVITE sip:${JAY_HOME}@127.0.0.1:${gateway!.port} SIP/2.0`);
    expect(sdpBody(connect!).trim()).toBe(''); // make-call-rfc3725-flow = 1
    for (let i = 0; i < 2; i++) {
      await customerCall(JAY_DN);
      await waitFor(
        () => server!.nailedUp.stateOf(JAY_DN) === 'parked' && server!.b2bua.activeCalls === 0,
        're-parked',
      );
    }
    // One dialog: the connection, then per call the customer's re-INVITE and the re-park.
    await waitFor(() => server!.nailedUp.openEndpoints === 1, 'the last re-park answered');
    expect(gateway!.distinctRequests('INVITE')).toBe(5);
    expect(gateway!.callIds('INVITE')).toEqual([callIdOf(connect!)]);
    const call = ['EventRinging', 'EventEstablished', 'EventReleased'];
    expect(server!.events.filter((e) => e.thisDN === JAY_DN).map((e) => e.name)).toEqual([...call, ...call]);
    expect(gateway!.distinctRequests('BYE')).toBe(0);
    server!.agents.logout(JAY_DN);
    await waitFor(() => gateway!.distinctRequests('BYE', [callIdOf(connect!)]) === 1, 'BYE at logout');
    await waitFor(() => server!.nailedUp.stateOf(JAY_DN) === 'none', 'none');
    expect(server!.reachability.agentPhoneOf(JAY_DN)).toBeUndefined();
    expect(server!.reachability.resolve(JAY_DN).mode).not.toBe('agent-phone');
    expect(media.openEndpoints).toBe(0);
  });

  it('RequestMakeCall from a parked agent rides the connection; RequestReleaseCall re-parks it (no BYE to the agent)', async () => {
    await parked('e2e-uas-sbc-answer.xml', PARK);
    const origin = { requesterId: 'desk', referenceId: 1 };
    await server!.control.handle({ request: 'RequestMakeCall', thisDN: JOE, otherDN: '+15559876543' }, origin);
    const est = await waitFor(
      () => server!.events.find((e) => e.name === 'EventEstablished' && e.thisDN === JOE),
      'EventEstablished on the agent',
    );
    expect(state()).toBe('active');
    // Auto-answered (behaviour §10): RequestAnswerCall succeeds with no effect.
    await server!.control.handle({ request: 'RequestAnswerCall', thisDN: JOE, connId: est.connId }, origin);
    const [connection, destination] = gateway!.callIds('INVITE');
    expect(gateway!.callIds('INVITE')).toHaveLength(2);
    // Only the destination got a new INVITE; the agent's phone got re-INVITEs on its one dialog.
    const initial = gateway!.receivedRequests('INVITE').filter((m) => !/^To:.*;tag=/im.test(m.text));
    expect(new Set(initial.map(callIdOf))).toEqual(new Set([connection, destination]));
    expect(initial.filter((m) => m.firstLine.startsWith(`INVITE sip:${JOE}@`)).map(callIdOf)).toEqual([connection]);
    await server!.control.handle({ request: 'RequestReleaseCall', thisDN: JOE, connId: est.connId }, origin);
    await waitFor(() => state() === 'parked' && server!.b2bua.activeCalls === 0, { what: 're-parked' });
    await waitFor(() => gateway!.distinctRequests('BYE', [destination!]) === 1, { what: 'BYE to the destination' });
    expect(gateway!.distinctRequests('BYE', [connection!])).toBe(0);
    await waitFor(() => media.openEndpoints === 1, 'park endpoint reopened');
  });

  it('a destination answering 200 without SDP (RFC 3264 §4): RequestMakeCall and RequestSingleStepTransfer end that call, the connection is re-parked (no BYE), nothing left', async () => {
    const brokenPort = await freePort();
    const broken = await startSipp({ scenario: scen('uas-answer-no-sdp.xml'), localPort: brokenPort });
    try {
      await parked('e2e-uas-sbc-answer.xml', PARK, {}, brokenPort);
      const origin = { requesterId: 'desk', referenceId: 5 };
      await server!.control.handle({ request: 'RequestMakeCall', thisDN: JOE, otherDN: BROKEN }, origin);
      await waitFor(() => broken.distinctRequests('BYE') === 1, 'BYE to the destination');
      await waitFor(() => state() === 'parked' && server!.b2bua.activeCalls === 0, 're-parked');
      expect(broken.receivedRequests('ACK')).toHaveLength(1);
      const call = ['EventDialing', 'EventNetworkReached', 'EventReleased'];
      expect(server!.events.map((e) => e.name)).toEqual(call);

      await withCustomerOnJoe(async (customer, est) => {
        await server!.control.handle(
          { request: 'RequestSingleStepTransfer', thisDN: JOE, connId: est.connId, otherDN: BROKEN },
          origin,
        );
        await waitFor(() => broken.distinctRequests('BYE') === 2, 'BYE to the transfer target');
        expect(await customer.exited).toBe(0); // our BYE, its 200
        // The customer was never re-INVITEd: the target had no offer for it.
        expect(customer.receivedRequests('INVITE')).toHaveLength(0);
      });
      await waitFor(() => state() === 'parked' && server!.b2bua.activeCalls === 0, 're-parked');
      await waitFor(() => media.openEndpoints === 1, 'one park endpoint');
      expect(broken.receivedRequests('ACK')).toHaveLength(2);
      expect(gateway!.distinctRequests('BYE')).toBe(0);
      expect(gateway!.callIds('INVITE')).toHaveLength(1);
      // The transferred call: released on the agent at the transfer, nothing more for it.
      expect(server!.events.map((e) => e.name)).toEqual([...call, 'EventRinging', 'EventEstablished', 'EventReleased']);
    } finally {
      await broken.stop();
    }
  });

  it('RequestSingleStepTransfer re-parks the connection: the customer goes on to the target, no BYE to the agent', async () => {
    await parked('e2e-uas-sbc-answer.xml', PARK);
    await withCustomerOnJoe(async (customer, est) => {
      const origin = { requesterId: 'desk', referenceId: 2 };
      await server!.control.handle(
        { request: 'RequestSingleStepTransfer', thisDN: JOE, connId: est.connId, otherDN: '+15559876543' },
        origin,
      );
      await waitFor(() => state() === 'parked' && gateway!.callIds('INVITE').length === 2, {
        what: 're-parked, target called',
      });
      const [connection] = gateway!.callIds('INVITE');
      await waitFor(() => customer.receivedRequests('INVITE').length >= 1, 'customer re-INVITEd to the target');
      expect(gateway!.distinctRequests('BYE', [connection!])).toBe(0);
      expect(server!.events.filter((e) => e.thisDN === JOE).map((e) => e.name)).toEqual([
        'EventRinging',
        'EventEstablished',
        'EventReleased',
      ]);
      await waitFor(() => media.openEndpoints === 1, 'park endpoint reopened');
    });
  });

  it('logout during a call: the connection carries the call to its end, then is ended with BYE instead of re-parked', async () => {
    await parked('e2e-uas-sbc-answer.xml', PARK);
    await withCustomerOnJoe(async (customer, est) => {
      server!.agents.logout(JOE);
      expect(state()).toBe('active');
      expect(gateway!.distinctRequests('BYE')).toBe(0);
      await server!.control.handle(
        { request: 'RequestReleaseCall', thisDN: JOE, connId: est.connId },
        { requesterId: 'desk', referenceId: 3 },
      );
      await waitFor(() => gateway!.distinctRequests('BYE') === 1, 'BYE on the connection once the call is over');
      expect(await customer.exited).toBe(0);
      expect(state()).toBe('none');
      expect(gateway!.callIds('INVITE')).toHaveLength(1);
      expect(media.openEndpoints).toBe(0);
    });
  });

  it('an agent phone that never answers at login: login succeeds, state none after the ring time, no endpoint', async () => {
    await start('e2e-uas-sbc-no-answer.xml', PARK);
    expect(login().status.state).toBe('Ready');
    await waitFor(() => state() === 'connecting', { what: 'connecting' });
    await waitFor(() => gateway!.receivedRequests('CANCEL').length === 1, { what: 'CANCEL at the ring time' });
    await waitFor(() => state() === 'none', { what: 'none' });
    expect(media.openEndpoints).toBe(0);
    expect(server!.agents.sessionByDn(JOE)?.status.state).toBe('Ready');
  });

  it('a login taken over from a dead cluster node (adopted: no EventAgentLogin) gets a new connection', async () => {
    await start('e2e-uas-sbc-answer.xml', PARK);
    server!.nailedUp.followLogins(server!.agents);
    const status = { ...login().status };
    server!.agents.forget('joe'); // as if another node had the login
    await waitFor(() => state() === 'parked', { what: 'the connection of the login' });
    const first = gateway!.callIds('INVITE');
    expect(first).toHaveLength(1);
    const [adopted] = server!.agents.adopt([{ agentId: 'joe', dn: JOE, status, loggedInAt: 1, idleSince: 1 }]);
    expect(adopted?.status.state).toBe('Ready');
    // Parked already: adopting again connects nothing new.
    expect(gateway!.callIds('INVITE')).toEqual(first);
    server!.nailedUp.dialerFor(JOE)!.hangUp('test', true);
    await waitFor(() => state() === 'none', { what: 'hung up' });
    server!.agents.forget('joe');
    server!.agents.adopt([{ agentId: 'joe', dn: JOE, status, loggedInAt: 1, idleSince: 1 }]);
    await waitFor(() => state() === 'parked', { what: 'a new connection for the adopted login' });
    expect(gateway!.callIds('INVITE')).toHaveLength(2);
    expect(server!.events.filter((e) => e.thisDN === JOE)).toEqual([]);
  });

  it('logout while the phone rings for the connection: CANCEL, state none', async () => {
    await start('e2e-uas-sbc-no-answer.xml', PARK);
    login();
    await waitFor(() => gateway!.receivedRequests('INVITE').length === 1, 'connection INVITE');
    server!.agents.logout(JOE);
    await waitFor(() => gateway!.receivedRequests('CANCEL').length === 1, 'CANCEL at logout');
    await waitFor(() => state() === 'none', 'none');
    expect(media.openEndpoints).toBe(0);
  });

  it('a customer who abandons while the connection is being built: CANCEL to the phone, state none, nothing left', async () => {
    await start('e2e-uas-sbc-no-answer.xml', {});
    login();
    expect(state()).toBe('none');
    const c = await runSipp({ scenario: scen('uac-cancel.xml'), target: `127.0.0.1:${server!.port}`, service: '5000' });
    expect(c.code, c.errors).toBe(0);
    await waitFor(() => gateway!.receivedRequests('CANCEL').length === 1, { what: 'CANCEL to the phone' });
    await waitFor(() => state() === 'none' && server!.b2bua.activeCalls === 0, { what: 'nothing left' });
    expect(gateway!.receivedRequests('INVITE')).toHaveLength(1);
    expect(media.openEndpoints).toBe(0);
    expect(server!.agents.sessionByDn(JOE)?.status.state).toBe('Ready');
    // The call never reached the agent (a connection is auto-answered once made): no call event.
    expect(server!.events).toEqual([]);
  });

  it('disconnect-nailedup-timeout: a connection parked that long without a call is ended with BYE', async () => {
    await parked('e2e-uas-sbc-answer.xml', { ...PARK, 'disconnect-nailedup-timeout': '1' });
    const parkedAt = Date.now();
    await waitFor(() => gateway!.distinctRequests('BYE') === 1, { what: 'BYE at the timeout' });
    expect(Date.now() - parkedAt).toBeGreaterThanOrEqual(900);
    await waitFor(() => state() === 'none', { what: 'none' });
    expect(media.openEndpoints).toBe(0);
  });

  it('disconnect-nailedup-timeout counts parked time only: a call longer than it is not cut, the re-park starts it again', async () => {
    await start('e2e-uas-sbc-answer.xml', { 'disconnect-nailedup-timeout': '1' });
    login();
    // No connection at login: the call makes it and talks 1.5 s, longer than the timeout.
    await customerCall(JOE, 1500);
    expect(gateway!.distinctRequests('BYE')).toBe(0);
    await waitFor(() => state() === 'parked', { what: 're-parked' });
    const reparkedAt = Date.now();
    await waitFor(() => gateway!.distinctRequests('BYE') === 1, { what: 'BYE at the timeout' });
    expect(Date.now() - reparkedAt).toBeGreaterThanOrEqual(900);
    expect(gateway!.callIds('INVITE')).toHaveLength(1);
    await waitFor(() => state() === 'none' && media.openEndpoints === 0, { what: 'none, no endpoint' });
    expect(server!.events.map((e) => e.name)).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
  });

  it('requests naming a call that has ended: EventError unknown-conn-id for each, nothing sent, the connection stays parked', async () => {
    await parked('e2e-uas-sbc-answer.xml', PARK);
    await customerCall(JOE);
    await waitFor(() => state() === 'parked' && media.openEndpoints === 1, { what: 're-parked' });
    await waitFor(() => gateway!.distinctRequests('INVITE') === 3, 'the re-park re-INVITE');
    const connId = server!.events.find((e) => e.name === 'EventReleased' && e.thisDN === JOE)!.connId;
    const eventsBefore = server!.events.length;
    const messagesBefore = gateway!.messages().length;
    const on = { thisDN: JOE, connId };
    const requests: CallControlRequest[] = [
      { request: 'RequestAnswerCall', ...on },
      { request: 'RequestReleaseCall', ...on },
      { request: 'RequestHoldCall', ...on },
      { request: 'RequestRetrieveCall', ...on },
      { request: 'RequestAttachUserData', ...on, userData: { k: 'v' } },
      { request: 'RequestSingleStepTransfer', ...on, otherDN: '+15559876543' },
      { request: 'RequestInitiateTransfer', ...on, otherDN: '+15559876543' },
      { request: 'RequestCompleteTransfer', ...on, transferConnId: connId },
      { request: 'RequestReconnectCall', ...on },
      { request: 'RequestAlternateCall', ...on },
      { request: 'RequestInitiateConference', ...on, otherDN: '+15559876543' },
      { request: 'RequestCompleteConference', ...on, transferConnId: connId },
      { request: 'RequestDeleteFromConference', ...on, otherDN: '+15559876543' },
    ];
    for (const [i, request] of requests.entries()) {
      await expect(
        server!.control.handle(request, { requesterId: 'desk', referenceId: 10 + i }),
        request.request,
      ).rejects.toMatchObject({ reason: 'unknown-conn-id' });
    }
    expect(server!.events).toHaveLength(eventsBefore);
    expect(gateway!.messages()).toHaveLength(messagesBefore);
    expect(state()).toBe('parked');
    expect(media.openEndpoints).toBe(1);
    expect(server!.b2bua.activeCalls).toBe(0);
  });

  it('the agent hangs up while parked: state none, the park endpoint closed, no call event', async () => {
    await parked('e2e-uas-sbc-answer-hangup.xml', PARK, { pauseMs: 500 });
    await waitFor(() => state() === 'none', { what: 'none after the BYE' });
    expect(media.openEndpoints).toBe(0);
    expect(server!.events).toEqual([]);
  });

  it('the softswitch of the connection out of service: BYE, state none', async () => {
    await parked('e2e-uas-sbc-answer.xml', PARK);
    server!.bus.publish({ kind: 'dn', name: 'EventDNOutOfService', thisDN: 'Softswitch' });
    await waitFor(() => gateway!.distinctRequests('BYE') === 1, { what: 'BYE' });
    expect(state()).toBe('none');
    expect(media.openEndpoints).toBe(0);
  });
});
