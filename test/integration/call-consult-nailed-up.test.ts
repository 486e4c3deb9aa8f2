/**
 * Consultation on a nailed-up connection (behaviour §6 "always for nailed-up", §10.4): Joe's DN is
 * `line-type = 1` with `dual-dialog-enabled` left at its default `true`, and still his gateway
 * never sees a second INVITE dialog. The customer call rides the parked connection; the
 * consultation re-INVITEs it to ringback and then to the target; RequestCompleteTransfer
 * connects customer and target and re-parks the connection (a re-INVITE to a new park endpoint,
 * no BYE). SIPp plays the agent's gateway, the target's trunk and the customer; endpoints come
 * from the built-in media server recorded by {@link RecordingMediaServer} so each SDP is checked
 * against the endpoint it names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { RecordingMediaServer } from '../helpers/recording-media.js';
import { callIdOf, startSipp, type SippPeer } from '../helpers/sipp.js';
import { UdpPeer } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { CONSULT_ESTABLISHED, startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn, joe, softswitchDn } from './call-yaml.js';
import { eventsOf, invites, nthInvite, origin, sdpOf } from './consult-media-support.js';

const JOE = '+15551231111';

let server: CallServer | undefined;
let media: RecordingMediaServer | undefined;
const peers: SippPeer[] = [];
const sockets: UdpPeer[] = [];
afterEach(async () => {
  const left = media?.openEndpoints ?? 0;
  await Promise.all(peers.splice(0).map((p) => p.stop()));
  await server?.stop();
  await media?.close();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  [server, media] = [undefined, undefined];
  expect(left, 'media endpoints open at the end of the test').toBe(0);
});

function yaml(gatewayPort: number, trunkPort: number): string {
  return callYaml(
    [
      softswitchDn(gatewayPort, '+1', {
        'make-call-rfc3725-flow': '1',
        'connect-nailedup-on-login': 'gcti::park',
      }),
      softswitchDn(trunkPort, '9', {}, 'Trunk'),
      extensionDn(JOE, undefined, { 'line-type': '1' }),
    ],
    { name: 'NailedConsult', agents: [joe(JOE)] },
  );
}

describe('consultation on a nailed-up connection', () => {
  it('one dialog throughout: ringback, the target, then complete re-parks the connection (no BYE)', async () => {
    const gatewayPort = await freePort();
    const trunkPort = await freePort();
    media = await RecordingMediaServer.start();
    const s = (server = await startCallServer(yaml(gatewayPort, trunkPort), { media }));
    const sut = `127.0.0.1:${s.port}`;
    const [agentRtp, targetRtp] = [await UdpPeer.open(), await UdpPeer.open()];
    sockets.push(agentRtp, targetRtp);
    const device = (marker: string, rtp: UdpPeer, port: number, pauseMs: number) =>
      startSipp({
        scenario: scen('uas-device-media.xml'),
        target: sut,
        localPort: port,
        pauseMs,
        args: ['-key', 'marker', marker, '-key', 'rtp_port', String(rtp.port)],
      });
    const gateway = await device('agent', agentRtp, gatewayPort, 0);
    peers.push(gateway);
    const target = await device('target', targetRtp, trunkPort, 500);
    peers.push(target);

    s.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    await waitFor(() => s.nailedUp.stateOf(JOE) === 'parked', 'parked');
    const customer = await startSipp({
      scenario: scen('e2e-uac-customer-stays.xml'),
      target: sut,
      service: JOE,
      calls: 1,
    });
    peers.push(customer);
    const est = await waitFor(() => s.events.find((e) => e.name === 'EventEstablished'), 'the call established');
    const connId = est.connId;
    expect(s.nailedUp.stateOf(JOE)).toBe('active');

    await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: JOE, connId, otherDN: '9123' }, origin);
    expect(media.byPort(sdpOf(await nthInvite(customer, 1, 'hold re-INVITE')).port)!.source).toBe('music');
    const ring = await nthInvite(gateway, 3, 'ringback re-INVITE on the connection');
    expect(media.byPort(sdpOf(ring).port)!.source).toBe('ringback');
    await waitFor(() => s.events.filter((e) => e.name === 'EventEstablished').length === 2, 'consultation up');
    expect(sdpOf(await nthInvite(gateway, 4, 'the target offer on the connection'))).toMatchObject({
      name: 'target',
      port: targetRtp.port,
    });

    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: JOE, connId, transferConnId: consultId },
      origin,
    );
    expect(sdpOf(await nthInvite(customer, 2, 'the target offer to the customer'))).toMatchObject({
      name: 'target',
      port: targetRtp.port,
    });
    // Re-parked: a re-INVITE to a new silence endpoint on the same dialog, no BYE.
    const repark = await nthInvite(gateway, 5, 're-park re-INVITE');
    expect(media.byPort(sdpOf(repark).port)!.source).toBe('silence');
    await waitFor(() => s.nailedUp.stateOf(JOE) === 'parked', 'parked again');
    expect(new Set(invites(gateway).map(callIdOf)).size).toBe(1);
    expect(gateway.receivedRequests('BYE')).toHaveLength(0);
    await waitFor(() => media!.openEndpoints === 1, 'only the park endpoint open');

    s.b2bua.releaseCall(s.b2bua.getCall(connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
    s.agents.logout(JOE);
    await waitFor(() => gateway.receivedRequests('BYE').length === 1, 'BYE at logout');
    await waitFor(() => media!.openEndpoints === 0, 'every endpoint closed');
    expect(eventsOf(s, connId)).toEqual([...CONSULT_ESTABLISHED, 'EventReleased:consult', 'EventReleased:main']);
  });
});
