/**
 * The server with `media-server = rtpengine` (the App, from its configuration file): a nailed-up
 * agent's connection is parked on rtpengine (behaviour §10.1 "park"). The agent's gateway (SIPp,
 * `uas-agent-rtp-port.xml`, make-call-rfc3725-flow 2: the INVITE carries the park offer) gets
 * rtpengine's address and port in SDP, and its RTP port receives rtpengine's silence: 50 packets a
 * second from that port, sequence +1, timestamp +160. A conference is refused (rtpengine cannot
 * mix). The logout ends the connection and deletes the rtpengine call.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { NgClient } from '../../src/media/rtpengine/index.js';
import { parseSdp } from '../../src/media/sdp.js';
import { silentLogger } from '../../src/util/logger.js';
import { freePort } from '../helpers/ports.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { startRtpengine, type RtpengineDaemon } from '../helpers/rtpengine.js';
import { sdpBody, startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { scen } from './call-harness.js';
import { callYaml, extensionDn, joe, softswitchDn } from './call-yaml.js';

const JOE = '+15551231111';

describe('server with media-server = rtpengine', () => {
  let daemon: RtpengineDaemon;
  let ng: NgClient;
  let rtp: RtpPeer;
  let gateway: SippPeer;
  let app: App | undefined;
  let dir: string;

  beforeAll(async () => {
    daemon = await startRtpengine();
    ng = new NgClient({ host: '127.0.0.1', port: daemon.ngPort });
    rtp = await RtpPeer.open();
    const port = await freePort();
    gateway = await startSipp({
      scenario: scen('uas-agent-rtp-port.xml'),
      localPort: port,
      args: ['-set', 'rtpport', String(rtp.port)],
    });
    dir = mkdtempSync(join(tmpdir(), 'rtpengine-app-'));
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      callYaml(
        [
          softswitchDn(port, '+1', { 'make-call-rfc3725-flow': '2', 'connect-nailedup-on-login': 'gcti::park' }),
          extensionDn(JOE, undefined, { 'line-type': '1' }),
        ],
        { agents: [joe(JOE)], serverOptions: { 'media-server': 'rtpengine', 'rtpengine-ng': daemon.ng } },
      ),
    );
    app = App.create({
      configFile: cfg,
      dataDir: join(dir, 'data'),
      sipListen: ['udp:127.0.0.1:0'],
      httpListen: '127.0.0.1:0',
      logger: silentLogger,
      print: () => {},
    });
    await app.start();
  });

  afterAll(async () => {
    await app?.stop();
    await gateway?.stop();
    rtp?.close();
    ng?.close();
    await daemon?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parks the nailed-up agent on rtpengine: the gateway receives rtpengine’s RTP; logout deletes the call', async () => {
    const a = app!;
    a.agents.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    await waitFor(() => a.calls.nailedUp.stateOf(JOE) === 'parked', { what: 'parked', timeoutMs: 10_000 });
    expect(a.media.openEndpoints).toBe(1);
    const offer = parseSdp(sdpBody(gateway.receivedRequests('INVITE')[0]!));
    const port = offer.media[0]!.port;
    expect(offer.connection?.ip).toBe('127.0.0.1');
    expect(port).toBeGreaterThanOrEqual(daemon.portMin);
    expect(port).toBeLessThanOrEqual(daemon.portMax);
    expect((await ng.request('list'))['calls']).toHaveLength(1);

    // Two seconds from the first packet: 50 packets a second on average. rtpengine 10.5's player
    // sends what ffmpeg reads from the WAV (about 0.5 s of µ-law) at 10 ms spacing, then waits:
    // bursts ahead of real time by up to a quarter second (docs/media.md "rtpengine").
    await waitFor(() => rtp.rtp.length > 0, { what: 'RTP from rtpengine', detail: () => daemon.tail() });
    const t0 = rtp.rtp[0]!.at;
    await waitFor(() => performance.now() - t0 >= 2000, { what: '2 s of RTP', timeoutMs: 4000 });
    const got = rtp.rtp.filter((r) => r.at - t0 < 2000);
    expect(got.length).toBeGreaterThanOrEqual(90);
    expect(got.length).toBeLessThanOrEqual(115);
    expect(got.every((r) => r.from === `127.0.0.1:${port}`)).toBe(true);
    for (let i = 1; i < got.length; i++) {
      expect(got[i]!.sequence).toBe((got[i - 1]!.sequence + 1) & 0xffff);
      expect(got[i]!.timestamp).toBe((got[i - 1]!.timestamp + 160) >>> 0);
    }
    // PCMU silence, the gateway's codec.
    expect(got.every((r) => r.payloadType === 0 && r.payload.every((b) => b === 0xff))).toBe(true);

    // rtpengine cannot mix: a conference is refused up front (before any call is touched).
    await expect(
      a.calls.control.handle(
        { request: 'RequestInitiateConference', thisDN: JOE, connId: '00000000deadbeef', otherDN: '+15550000000' },
        { requesterId: 'desk-1', referenceId: 1 },
      ),
    ).rejects.toMatchObject({ reason: 'not-supported', message: /conferences need the built-in media server/ });

    a.agents.agents.logout(JOE);
    await waitFor(() => gateway.distinctRequests('BYE') === 1, { what: 'BYE at logout' });
    await waitFor(() => a.media.openEndpoints === 0, { what: 'park endpoint closed' });
    expect((await ng.request('list'))['calls']).toEqual([]);
  });
});
