/**
 * Three-party conferences (behaviour §6, §11.1) with SIPp parties and the built-in media server:
 * RequestInitiateConference / RequestCompleteConference re-INVITE the customer, the agent and
 * the consulted party each to its own endpoint on one mixer; each party's RTP (a tone sent from
 * the UDP socket its SDP names) reaches the other two and not itself. RequestDeleteFromConference,
 * RequestReleaseCall by a member and a party hanging up give EventPartyDeleted and reconnect the
 * two left by re-INVITEs; a member's own re-INVITE is answered by its endpoint; a two-dialog office
 * phone, a party refusing the bridge (488) and a nailed-up agent (re-parked, never BYEd) are
 * covered; no endpoint or mixer is left behind. Without a media server the requests are refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { callIdOf, startSipp } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { callYaml, extensionDn, joe, softswitchDn } from './call-yaml.js';
import {
  bridgePort,
  ConferenceWorld,
  conference,
  consult,
  eventsOf,
  exchangeTones,
  origin,
  received,
  scen,
  yaml,
} from './conference-support.js';

const world = new ConferenceWorld();
let server: CallServer | undefined;
afterEach(async () => {
  await world.cleanup(server);
  server = undefined;
});

describe('conference on the media server mixer', () => {
  it('three SIPp parties: each tone reaches the other two and not its sender; delete-from-conference reconnects the two left', async () => {
    const [agentPort, targetPort] = [await freePort(), await freePort()];
    const { s, m, target } = await world.serve(yaml(agentPort, targetPort, await freePort()));
    server = s;
    const agent = await world.party('uas-conf-party.xml', target, { port: agentPort });
    const consulted = await world.party('uas-conf-party.xml', target, { port: targetPort });
    const customer = await world.party('uac-conf-party.xml', target, {
      args: ['-s', '7001', '-set', 'leaveafter', '99'],
    });
    const { connId } = await conference(server, '7002');
    expect(m.openEndpoints).toBe(3);
    await expect(
      server.control.handle({ request: 'RequestHoldCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    const freqs = [600, 1000, 1400];
    const power = await exchangeTones([customer, agent, consulted], freqs, 1500);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i === j) expect(power[i]![j], `party ${i} hears itself`).toBeLessThan(1e4);
        else expect(power[i]![j], `party ${i} hears party ${j}`).toBeGreaterThan(1e6);
      }
    }
    const ports = [customer, agent, consulted].map((p) => Number(p.rtp.rtp.at(-1)!.from.split(':')[1]));
    expect(new Set(ports).size).toBe(3); // one endpoint per party
    await expect(
      server.control.handle(
        { request: 'RequestDeleteFromConference', thisDN: '7001', connId, otherDN: '7777' },
        origin,
      ),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    await server.control.handle(
      { request: 'RequestDeleteFromConference', thisDN: '7001', connId, otherDN: '7002' },
      origin,
    );
    await waitFor(() => m.openEndpoints === 0, { what: 'every endpoint closed' });
    await consulted.sipp.waitExit();
    await server.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    for (const p of [customer, agent, consulted])
      expect(await p.sipp.waitExit(), p.sipp.errors() + p.sipp.messagesLog().slice(-3000)).toBe(0);
    expect([customer, agent, consulted].map((p) => bridgePort(p.sipp))).toEqual(ports);
    expect(received(customer.sipp)).toEqual([
      '200+sdp',
      'INVITE+sdp',
      'ACK',
      'INVITE',
      'ACK+sdp',
      'INVITE',
      'ACK+sdp',
      'BYE',
    ]);
    expect(received(agent.sipp)).toEqual([
      'INVITE+sdp',
      'ACK',
      'INVITE+sdp', // ringback while the consulted party rings (single dialog, behaviour §6)
      'ACK',
      'INVITE+sdp', // the consulted party's offer
      'ACK',
      'INVITE', // to the bridge: offer-less, the bridge's answer in the ACK
      'ACK+sdp',
      'INVITE+sdp', // reconnected to the customer
      'ACK',
      'BYE',
    ]);
    expect(received(consulted.sipp)).toEqual(['INVITE', 'ACK+sdp', 'INVITE', 'ACK+sdp', 'BYE']);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no call left' });
    expect(eventsOf(server, connId)).toEqual([
      'EventRinging:7001:main:customer',
      'EventEstablished:7001:main:customer',
      'EventHeld:7001:main:customer',
      'EventDialing:7001:consult:7002',
      'EventRinging:7002:consult:7001',
      'EventEstablished:7002:consult:7001',
      'EventEstablished:7001:consult:7002',
      'EventReleased:7001:consult:7002',
      'EventPartyChanged:7002:main:7001',
      'EventPartyAdded:7001:main:7002',
      'EventReleased:7002:main:customer',
      'EventPartyDeleted:7001:main:7002',
      'EventReleased:7001:main:customer',
    ]);
  });

  it('the customer hangs up in the conference: EventPartyDeleted, agent and consulted party reconnected, the bridge closed', async () => {
    const [agentPort, ssPort] = [await freePort(), await freePort()];
    const { s, m, target } = await world.serve(yaml(agentPort, await freePort(), ssPort));
    server = s;
    const agent = await world.party('uas-conf-party.xml', target, { port: agentPort });
    const consulted = await world.party('uas-conf-party.xml', target, { port: ssPort });
    const customer = await world.party('uac-conf-party.xml', target, {
      args: ['-s', '7001', '-set', 'leaveafter', '2'],
    });
    const { connId } = await conference(server, '9123');
    expect(await customer.sipp.waitExit(), customer.sipp.errors()).toBe(0);
    // Its own hold in the conference was answered by its bridge endpoint, not relayed to anyone.
    const holdOk = customer.sipp.messages().find((m) => m.dir === 'received' && /^CSeq:\s*2 INVITE/im.test(m.text))!;
    expect(Number(/^m=audio (\d+)/m.exec(holdOk.text)?.[1])).toBe(bridgePort(customer.sipp));
    await waitFor(() => server!.events.some((e) => e.name === 'EventPartyDeleted'), { what: 'EventPartyDeleted' });
    await waitFor(() => m.openEndpoints === 0, { what: 'every endpoint closed' });
    await waitFor(() => received(agent.sipp).length >= 10, {
      what: 'the agent reconnected to the consulted party',
      detail: () => received(agent.sipp).join(' '),
    });
    await server.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    for (const p of [agent, consulted])
      expect(await p.sipp.waitExit(), p.sipp.errors() + p.sipp.messagesLog().slice(-3000)).toBe(0);
    expect(received(agent.sipp)).toEqual([
      'INVITE+sdp',
      'ACK',
      'INVITE+sdp',
      'ACK',
      'INVITE+sdp',
      'ACK',
      'INVITE',
      'ACK+sdp',
      'INVITE', // reconnect: offer-less to the agent, its offer to the consulted party, the answer in the ACK
      'ACK+sdp',
      'BYE',
    ]);
    expect(received(consulted.sipp)).toEqual(['INVITE', 'ACK+sdp', 'INVITE', 'ACK+sdp', 'INVITE+sdp', 'ACK', 'BYE']);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no call left' });
    expect(eventsOf(server, connId)).toEqual([
      'EventRinging:7001:main:customer',
      'EventEstablished:7001:main:customer',
      'EventHeld:7001:main:customer',
      'EventDialing:7001:consult:9123',
      'EventNetworkReached:7001:consult:9123',
      'EventEstablished:7001:consult:9123',
      'EventReleased:7001:consult:9123',
      'EventPartyAdded:7001:main:9123',
      'EventPartyDeleted:7001:main:customer',
      'EventReleased:7001:main:9123',
    ]);
  });

  it('two-dialog office phone (dual-dialog-enabled = true): complete-conference ends the consultation dialog and bridges the main one; RequestReleaseCall by the agent leaves the other two talking', async () => {
    const [phonePort, ssPort] = [await freePort(), await freePort()];
    const { s, m, target } = await world.serve(yaml(await freePort(), await freePort(), ssPort, phonePort));
    server = s;
    const phone = await world.party('uas-conf-party.xml', target, { port: phonePort, calls: 2 });
    const consulted = await world.party('uas-conf-party.xml', target, { port: ssPort });
    // The customer hangs up after its third re-INVITE: held, bridged, reconnected to the consulted party.
    const customer = await world.party('uac-conf-party.xml', target, {
      args: ['-s', '7003', '-set', 'leaveafter', '3'],
    });
    const { connId } = await conference(server, '9123', '7003');
    expect(m.openEndpoints).toBe(3);
    const power = await exchangeTones([customer, phone, consulted], [600, 1000, 1400], 1000);
    expect(power.map((p, i) => p.filter((_, j) => j !== i).every((x) => x > 1e6) && p[i]! < 1e4)).toEqual([
      true,
      true,
      true,
    ]);
    // RequestReleaseCall by a member: only the agent leaves; the customer and the consulted party go on.
    await server.control.handle({ request: 'RequestReleaseCall', thisDN: '7003', connId }, origin);
    for (const p of [customer, phone, consulted])
      expect(await p.sipp.waitExit(), p.sipp.errors() + p.sipp.messagesLog().slice(-3000)).toBe(0);
    expect(m.openEndpoints).toBe(0);
    const [main, second] = phone.sipp.callIds('INVITE');
    const byDialog = (id: string) =>
      phone.sipp
        .messages()
        .filter((x) => x.dir === 'received' && callIdOf(x) === id)
        .map((x) => x.firstLine.split(' ')[0]);
    // Main dialog: the call, its hold (sendonly), the bridge, the release; the second dialog: the consultation only.
    expect(byDialog(main!)).toEqual(['INVITE', 'ACK', 'INVITE', 'ACK', 'INVITE', 'ACK', 'BYE']);
    expect(byDialog(second!)).toEqual(['INVITE', 'ACK', 'INVITE', 'ACK', 'BYE']);
    expect(eventsOf(server, connId).filter((e) => /Party|Released/.test(e))).toEqual([
      'EventReleased:7003:consult:9123',
      'EventPartyAdded:7003:main:9123',
      'EventReleased:7003:main:customer',
    ]);
  });

  it('a party refusing its re-INVITE to the bridge (488): CALL_FAILED, the whole call released, no endpoint left', async () => {
    const [agentPort, ssPort] = [await freePort(), await freePort()];
    const { s, m, target } = await world.serve(yaml(agentPort, await freePort(), ssPort));
    server = s;
    const agent = await world.party('uas-conf-party.xml', target, { port: agentPort });
    const customer = await world.party('uac-conf-party.xml', target, {
      args: ['-s', '7001', '-set', 'leaveafter', '99'],
    });
    const refusing = await startSipp({
      scenario: scen('uas-device-488-first-reinvite.xml'),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 30_000,
      args: ['-key', 'marker', 'refusing', '-key', 'rtp_port', String(customer.rtp.port + 100)],
    });
    world.sipps.push(refusing);
    const { connId, consultId } = await consult(server, '9123', '7001');
    await expect(
      server.control.handle(
        { request: 'RequestCompleteConference', thisDN: '7001', connId, transferConnId: consultId },
        origin,
      ),
    ).rejects.toMatchObject({ reason: 'failed' });
    for (const p of [customer.sipp, agent.sipp, refusing])
      expect(await p.waitExit(), p.errors() + p.messagesLog().slice(-3000)).toBe(0);
    expect(
      refusing
        .messages()
        .filter((x) => x.dir === 'sent')
        .map((x) => x.firstLine.split(' ')[1]),
    ).toEqual(['200', '488', '200']);
    await waitFor(() => m.openEndpoints === 0 && server!.b2bua.activeCalls === 0, { what: 'nothing left' });
    expect(eventsOf(server, connId).slice(-2)).toEqual([
      'EventReleased:7001:consult:9123',
      'EventReleased:7001:main:9123', // the consulted party had joined the main call
    ]);
  });

  it('a nailed-up agent deletes itself from the conference: its connection is re-parked (no BYE), the customer and the consulted party talk on', async () => {
    const JOE = '+15551231111';
    const gatewayPort = await freePort();
    const gateway = await startSipp({ scenario: scen('e2e-uas-sbc-answer.xml'), localPort: gatewayPort });
    world.sipps.push(gateway);
    const m = await world.startMedia();
    server = await startCallServer(
      callYaml(
        [
          softswitchDn(gatewayPort, '+1', { 'connect-nailedup-on-login': 'gcti::park' }),
          extensionDn(JOE, undefined, { 'line-type': '1' }),
        ],
        { agents: [joe(JOE)] },
      ),
      { media: m },
    );
    server.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    await waitFor(() => server!.nailedUp.stateOf(JOE) === 'parked', { what: 'parked' });
    const target = `127.0.0.1:${server.port}`;
    // The customer hangs up after its third re-INVITE: held, bridged, reconnected to the consulted party.
    const customer = await world.party('uac-conf-party.xml', target, { args: ['-s', JOE, '-set', 'leaveafter', '3'] });
    const { connId } = await conference(server, '+15559876543', JOE);
    expect(m.openEndpoints).toBe(3); // the park endpoint closed when the call took the connection
    await server.control.handle({ request: 'RequestDeleteFromConference', thisDN: JOE, connId, otherDN: JOE }, origin);
    expect(await customer.sipp.waitExit(), customer.sipp.errors()).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0 && server!.nailedUp.stateOf(JOE) === 'parked', {
      what: 'the call over, the connection parked',
    });
    await waitFor(() => m.openEndpoints === 1, { what: 'only the park endpoint left' });
    const [connection, consulted] = gateway.callIds('INVITE');
    expect(gateway.callIds('INVITE')).toHaveLength(2);
    expect(gateway.distinctRequests('BYE', [connection!])).toBe(0);
    await waitFor(() => gateway.distinctRequests('BYE', [consulted!]) === 1, { what: 'BYE to the consulted party' });
    expect(eventsOf(server, connId).filter((e) => /Party|Released/.test(e))).toEqual([
      `EventReleased:${JOE}:consult:+15559876543`,
      `EventPartyAdded:${JOE}:main:+15559876543`,
      `EventReleased:${JOE}:main:customer`,
    ]);
  });

  it('refused: without a media server (not-supported); complete without a consultation, delete on a two-party call (invalid-state)', async () => {
    server = await startCallServer(yaml(await freePort(), await freePort(), await freePort()));
    const any = { thisDN: '7001', connId: '00ab' };
    await expect(
      server.control.handle({ request: 'RequestInitiateConference', ...any, otherDN: '7002' }, origin),
    ).rejects.toMatchObject({ reason: 'not-supported' });
    await expect(
      server.control.handle({ request: 'RequestCompleteConference', ...any, transferConnId: '00cd' }, origin),
    ).rejects.toMatchObject({ reason: 'not-supported' });
    await server.stop();
    const agentPort = await freePort();
    const { s, m, target } = await world.serve(yaml(agentPort, await freePort(), await freePort()));
    server = s;
    await world.party('uas-conf-party.xml', target, { port: agentPort });
    const customer = await world.party('uac-conf-party.xml', target, {
      args: ['-s', '7001', '-set', 'leaveafter', '99'],
    });
    await waitFor(() => server!.events.some((e) => e.name === 'EventEstablished'), { what: 'the call' });
    const connId = server.events.find((e) => e.name === 'EventEstablished')!.connId;
    await expect(
      server.control.handle(
        { request: 'RequestCompleteConference', thisDN: '7001', connId, transferConnId: connId },
        origin,
      ),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    await expect(
      server.control.handle(
        { request: 'RequestDeleteFromConference', thisDN: '7001', connId, otherDN: 'customer' },
        origin,
      ),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    await server.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
    expect(await customer.sipp.waitExit()).toBe(0);
    expect(m.openEndpoints).toBe(0);
  });
});
