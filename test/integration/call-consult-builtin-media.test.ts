/**
 * Single-dialog consultation (behaviour §6) on the built-in media server, heard where the devices
 * listen: the agent's gateway, the customer and the target (SIPp) put UDP ports of this test in
 * their SDP. While the target rings the agent's port receives the ringback endpoint's RTP (50
 * packets a second, sequence +1, timestamp +160, the US ringback's 440 + 480 Hz) and the
 * customer's port the music on hold (the 1 kHz WAV); once complete, no endpoint is left.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { MediaFixture } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';
import { RtpPeer, type ReceivedRtp } from '../helpers/rtp-peer.js';
import { startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import { consultYaml, invites, nthInvite, origin, sdpOf } from './consult-media-support.js';

let fx: MediaFixture | undefined;
let server: CallServer | undefined;
const peers: SippPeer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
  await server?.stop();
  await fx?.close();
});

/** One second of what `peer` receives from now on: ~50 packets, sequence +1, timestamp +160; decoded. */
async function oneSecondOf(peer: RtpPeer): Promise<Int16Array> {
  const start = peer.rtp.length;
  const t0 = performance.now();
  await waitFor(() => performance.now() - t0 >= 1000, { what: '1 s of RTP', timeoutMs: 3000 });
  const got: ReceivedRtp[] = peer.rtp.slice(start).filter((r) => r.at - t0 < 1000);
  expect(got.length).toBeGreaterThanOrEqual(47);
  expect(got.length).toBeLessThanOrEqual(53);
  for (let i = 1; i < got.length; i++) {
    expect(got[i]!.sequence).toBe((got[i - 1]!.sequence + 1) & 0xffff);
    expect(got[i]!.timestamp).toBe((got[i - 1]!.timestamp + 160) >>> 0);
  }
  return RtpPeer.decode(got);
}

describe('single-dialog consultation on the built-in media server', () => {
  it('the agent hears ringback while the target rings, the customer hears the music; complete leaves no endpoint', async () => {
    fx = await MediaFixture.start();
    const [agentRtp, customerRtp, targetRtp] = [await fx.peer(), await fx.peer(), await fx.peer()];
    const agentPort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(consultYaml(agentPort, ssPort), { media: fx.server });
    const sut = `127.0.0.1:${server.port}`;
    const keys = (marker: string, rtp: RtpPeer) => ['-key', 'marker', marker, '-key', 'rtp_port', String(rtp.port)];
    const agent = await startSipp({
      scenario: scen('uas-device-media.xml'),
      target: sut,
      localPort: agentPort,
      pauseMs: 0,
      args: keys('agent', agentRtp),
    });
    peers.push(agent);
    const target = await startSipp({
      scenario: scen('uas-device-media.xml'),
      target: sut,
      localPort: ssPort,
      pauseMs: 2500,
      args: keys('target', targetRtp),
    });
    peers.push(target);
    const customer = await startSipp({
      scenario: scen('uac-customer-media.xml'),
      target: sut,
      service: '7001',
      calls: 1,
      args: ['-key', 'rtp_port', String(customerRtp.port)],
    });
    peers.push(customer);
    const s = server;
    const est = await waitFor(() => s.events.find((e) => e.name === 'EventEstablished'), 'the call established');
    await s.control.handle(
      { request: 'RequestInitiateTransfer', thisDN: '7001', connId: est.connId, otherDN: '9123' },
      origin,
    );
    await nthInvite(agent, 2, 'ringback re-INVITE to the agent');
    expect(fx.server.openEndpoints).toBe(2);

    const [ringback, music] = await Promise.all([oneSecondOf(agentRtp), oneSecondOf(customerRtp)]);
    expect(s.events.filter((e) => e.name === 'EventEstablished')).toHaveLength(1); // the target still rings
    expect(goertzelPower(ringback, 440)).toBeGreaterThan(50 * goertzelPower(ringback, 1000));
    expect(goertzelPower(ringback, 480)).toBeGreaterThan(50 * goertzelPower(ringback, 1000));
    expect(goertzelPower(music, 1000)).toBeGreaterThan(50 * goertzelPower(music, 440));

    await waitFor(() => s.events.filter((e) => e.name === 'EventEstablished').length === 2, {
      what: 'the consultation established',
    });
    expect(sdpOf(invites(agent)[2]!)).toMatchObject({ name: 'target', port: targetRtp.port });
    await waitFor(() => fx!.server.openEndpoints === 1, 'the ringback endpoint closed');
    const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
    await s.control.handle(
      { request: 'RequestCompleteTransfer', thisDN: '7001', connId: est.connId, transferConnId: consultId },
      origin,
    );
    expect(sdpOf(await nthInvite(customer, 2, 'the target offer to the customer'))).toMatchObject({
      name: 'target',
      port: targetRtp.port,
    });
    await waitFor(() => fx!.server.openEndpoints === 0, 'every endpoint closed');
    s.b2bua.releaseCall(s.b2bua.getCall(est.connId)!);
    await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
  });
});
