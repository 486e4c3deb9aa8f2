/**
 * A parked nailed-up connection on the built-in media server (behaviour §10.1 "park"): the
 * agent's gateway (SIPp, `uas-agent-rtp-port.xml`) puts a UDP port of this test in its SDP; while
 * parked that port receives the park endpoint's silence, 50 packets a second with consecutive
 * sequence numbers and timestamps +160, with the connection made either way of
 * `make-call-rfc3725-flow`. A customer call closes the park endpoint, its end opens a new one
 * (re-park), the logout closes it: `openEndpoints` follows.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaFixture } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';
import type { RtpPeer } from '../helpers/rtp-peer.js';
import { runSipp, sdpBody, startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn, joe, softswitchDn } from './call-yaml.js';

const JOE = '+15551231111';

/** Two seconds of what `peer` receives from now on: 50 packets/s, one SSRC, sequence +1, timestamp +160. */
async function expectParkRtp(peer: RtpPeer): Promise<void> {
  const start = peer.rtp.length;
  const t0 = performance.now();
  await waitFor(() => performance.now() - t0 >= 2000, { what: '2 s of RTP', timeoutMs: 4000 });
  const got = peer.rtp.slice(start).filter((r) => r.at - t0 < 2000);
  expect(got.length).toBeGreaterThanOrEqual(97);
  expect(got.length).toBeLessThanOrEqual(103);
  expect(new Set(got.map((r) => r.ssrc)).size).toBe(1);
  for (let i = 1; i < got.length; i++) {
    expect(got[i]!.sequence).toBe((got[i - 1]!.sequence + 1) & 0xffff);
    expect(got[i]!.timestamp).toBe((got[i - 1]!.timestamp + 160) >>> 0);
  }
  // PCMU silence (0xFF), the codec of the gateway's SDP.
  expect(got.every((r) => r.payloadType === 0 && r.payload.every((b) => b === 0xff))).toBe(true);
}

describe.each([
  ['1', 'INVITE without SDP, the park answer in the ACK'],
  ['2', "INVITE with the park endpoint's offer"],
])('nailed-up connection parked on the built-in media server, make-call-rfc3725-flow %s (%s)', (flow) => {
  let fx: MediaFixture;
  let server: CallServer;
  let gateway: SippPeer;
  let rtp: RtpPeer;

  beforeAll(async () => {
    fx = await MediaFixture.start();
    rtp = await fx.peer();
    const port = await freePort();
    gateway = await startSipp({
      scenario: scen('uas-agent-rtp-port.xml'),
      localPort: port,
      args: ['-set', 'rtpport', String(rtp.port)],
    });
    const yaml = callYaml(
      [
        softswitchDn(port, '+1', { 'make-call-rfc3725-flow': flow, 'connect-nailedup-on-login': 'gcti::park' }),
        extensionDn(JOE, undefined, { 'line-type': '1' }),
      ],
      { agents: [joe(JOE)] },
    );
    server = await startCallServer(yaml, { media: fx.server });
  });

  afterAll(async () => {
    await gateway?.stop();
    await server?.stop();
    await fx?.close();
  });

  it('parked: 50 RTP packets a second of silence at the agent; a call closes the park endpoint, its end opens a new one', async () => {
    server.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    await waitFor(() => server.nailedUp.stateOf(JOE) === 'parked', { what: 'parked' });
    expect(fx.server.openEndpoints).toBe(1);
    const connect = sdpBody(gateway.receivedRequests('INVITE')[0]!);
    if (flow === '1') expect(connect.trim()).toBe('');
    else expect(connect).toMatch(/c=IN IP4 127\.0\.0\.1[\s\S]*m=audio \d+ RTP\/AVP 0 8/);
    await expectParkRtp(rtp);

    const call = await runSipp({
      scenario: scen('e2e-uac-customer-call.xml'),
      target: `127.0.0.1:${server.port}`,
      service: JOE,
      pauseMs: 500,
    });
    expect(call.code, call.errors).toBe(0);
    // Reported parked as soon as the call is over; the new park endpoint opens with the re-INVITE.
    await waitFor(() => server.nailedUp.stateOf(JOE) === 'parked' && fx.server.openEndpoints === 1, {
      what: 're-parked',
    });
    // The re-park re-INVITE offered the new endpoint (our address, its port).
    const invites = gateway.receivedRequests('INVITE');
    const repark = sdpBody(invites[invites.length - 1]!);
    expect(repark).toMatch(/c=IN IP4 127\.0\.0\.1/);
    expect(repark).toMatch(/m=audio \d+ RTP\/AVP 0 8/);
    await expectParkRtp(rtp);

    server.agents.logout(JOE);
    await waitFor(() => gateway.distinctRequests('BYE') === 1, { what: 'BYE at logout' });
    await waitFor(() => server.nailedUp.stateOf(JOE) === 'none' && fx.server.openEndpoints === 0, {
      what: 'park endpoint closed',
    });
  });
});
