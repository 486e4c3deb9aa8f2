/**
 * Shared set-up of the consultation and hold tests with media endpoints (behaviour §6): a call
 * server on the built-in media server, recorded ({@link RecordingMediaServer}), SIPp as the customer, the agent's device (7001,
 * static contact) and the target behind a softswitch (prefix 9), the devices' media on UDP
 * sockets of the test; and the checks those tests share (the SDP a device received, the endpoint
 * it names, RTP captured from an endpoint).
 */
import { expect } from 'vitest';
import sdpTransform from 'sdp-transform';
import { freePort } from '../helpers/ports.js';
import { RecordingMediaServer, type RecordingEndpoint } from '../helpers/recording-media.js';
import { sdpBody, startSipp, type SippPeer, type TracedMessage } from '../helpers/sipp.js';
import { UdpPeer, type Datagram } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn } from './call-yaml.js';

/** The requester of the CTI requests in these tests. */
export const origin = { requesterId: 'desk-1', referenceId: 9 };

/** 7001 at 127.0.0.1:`agentPort` (`dual-dialog-enabled` = `dualDialog`), numbers 9… to 127.0.0.1:`ssPort`. */
export function consultYaml(agentPort: number, ssPort: number, dualDialog = 'false'): string {
  return callYaml([softswitchDn(ssPort), extensionDn('7001', agentPort, { 'dual-dialog-enabled': dualDialog })]);
}

/** What one SDP names: address, port, direction, session name. */
export function sdpOf(m: TracedMessage): { ip: string; port: number; direction: string; name: string } {
  const s = sdpTransform.parse(sdpBody(m).replace(/\r?\n/g, '\r\n'));
  const a = s.media[0]!;
  return {
    ip: a.connection?.ip ?? s.connection?.ip ?? '',
    port: a.port,
    direction: a.direction ?? s.direction ?? 'sendrecv',
    name: s.name ?? '',
  };
}

/** The INVITEs a SIPp device received, in order. */
export const invites = (p: SippPeer): TracedMessage[] => p.receivedRequests('INVITE');

/** Wait for the `n`th INVITE (1-based) a device receives and return it. */
export async function nthInvite(p: SippPeer, n: number, what: string): Promise<TracedMessage> {
  return waitFor(() => invites(p)[n - 1], { what, timeoutMs: 10_000 });
}

/**
 * RTP from `port` captured on `sock`: at least `n` 20 ms PCMU packets (RFC 3550 §5.1 version 2,
 * payload type 0, 160 bytes) of one SSRC, with consecutive sequence numbers and timestamps 160 apart.
 */
export async function rtpFrom(sock: UdpPeer, port: number, n: number): Promise<Datagram[]> {
  const got = await sock.waitFor((d) => d.from.port === port && d.buf.length === 172, n, 5000);
  expect(got.length).toBeGreaterThanOrEqual(n);
  for (const d of got) expect([d.buf[0]! >> 6, d.buf[1]! & 0x7f]).toEqual([2, 0]);
  expect(new Set(got.map((d) => d.buf.readUInt32BE(8))).size).toBe(1);
  for (let i = 1; i < got.length; i++) {
    const [a, b] = [got[i - 1]!.buf, got[i]!.buf];
    expect(b.readUInt16BE(2)).toBe((a.readUInt16BE(2) + 1) & 0xffff);
    expect(b.readUInt32BE(4)).toBe((a.readUInt32BE(4) + 160) >>> 0);
  }
  return got;
}

export { eventsOf } from './call-harness.js';

/** Wait for the consultation call to be established (the second EventEstablished); its ConnID. */
export async function consultEstablished(s: CallServer): Promise<string> {
  await waitFor(() => s.events.filter((e) => e.name === 'EventEstablished').length === 2, {
    what: 'the consultation established',
  });
  return s.events.find((e) => e.name === 'EventDialing')!.connId;
}

/** RequestReleaseCall of call `connId` by 7001, then wait until the server has no call left. */
export async function releaseCall(s: CallServer, connId: string): Promise<void> {
  await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
  await waitFor(() => s.b2bua.activeCalls === 0, 'no call left');
}

/** RequestInitiateTransfer from 7001 to 9123 on `connId`, then {@link consultEstablished}. */
export async function initiateConsult(s: CallServer, connId: string): Promise<string> {
  await s.control.handle({ request: 'RequestInitiateTransfer', thisDN: '7001', connId, otherDN: '9123' }, origin);
  return consultEstablished(s);
}

/** A customer on the agent's device, established. */
export interface CustomerOnAgent {
  s: CallServer;
  media: RecordingMediaServer;
  agent: SippPeer;
  target: SippPeer;
  customer: SippPeer;
  agentRtp: UdpPeer;
  targetRtp: UdpPeer;
  connId: string;
}

/** Options of {@link ConsultMediaEnv.customerOnAgent}. */
export interface CustomerOnAgentOptions {
  /** How long the target rings before it answers (ms). */
  ringMs?: number;
  /** `dual-dialog-enabled` of 7001 (default `false`: a PSTN agent). */
  dualDialog?: string;
  /** Scenario of the target (default `uas-device-media.xml`). */
  target?: string;
  /** Scenario of the agent's device (default `uas-device-media.xml`). */
  agent?: string;
  /** RFC 3261 T1 of the server (ms; a short one makes Timer B 64·T1 short). */
  t1?: number;
  /** Scenario of the customer (default `e2e-uac-customer-stays.xml`) and its `-d` pause. */
  customer?: string;
  customerPauseMs?: number;
}

/** One test's server, media server, SIPp peers and sockets; {@link stop} after each test. */
export class ConsultMediaEnv {
  media: RecordingMediaServer | undefined;
  private server: CallServer | undefined;
  private readonly peers: SippPeer[] = [];
  private readonly sockets: UdpPeer[] = [];

  /** Customer → 7001 (its media on `agentRtp`), established; the target (9…) rings `ringMs`. */
  async customerOnAgent(opts: CustomerOnAgentOptions = {}): Promise<CustomerOnAgent> {
    const agentPort = await freePort();
    const ssPort = await freePort();
    const media = (this.media = await RecordingMediaServer.start());
    const s = (this.server = await startCallServer(consultYaml(agentPort, ssPort, opts.dualDialog), {
      media,
      t1: opts.t1,
    }));
    const sut = `127.0.0.1:${s.port}`;
    const agentRtp = await UdpPeer.open();
    const targetRtp = await UdpPeer.open();
    this.sockets.push(agentRtp, targetRtp);
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
    this.peers.push(agent);
    const target = await device('target', targetRtp, ssPort, opts.ringMs ?? 0, opts.target);
    this.peers.push(target);
    const customer = await startSipp({
      scenario: scen(opts.customer ?? 'e2e-uac-customer-stays.xml'),
      target: sut,
      service: '7001',
      pauseMs: opts.customerPauseMs,
      calls: 1,
      timeoutMs: 30_000,
    });
    this.peers.push(customer);
    const est = await waitFor(() => s.events.find((e) => e.name === 'EventEstablished'), {
      what: 'the customer call established',
    });
    return { s, media, agent, target, customer, agentRtp, targetRtp, connId: est.connId };
  }

  /** The endpoint an SDP names (our address and one of our ports). */
  endpointOf(m: TracedMessage): RecordingEndpoint {
    const sdp = sdpOf(m);
    expect(sdp.ip).toBe('127.0.0.1');
    const e = this.media!.byPort(sdp.port);
    expect(e, `an endpoint on port ${sdp.port}`).toBeDefined();
    return e!;
  }

  /** Stops everything of the test; fails it when a media endpoint was left open. */
  async stop(): Promise<void> {
    const left = this.media?.openEndpoints ?? 0;
    await Promise.all(this.peers.splice(0).map((p) => p.stop()));
    await this.server?.stop();
    await this.media?.close();
    await Promise.all(this.sockets.splice(0).map((s) => s.close()));
    this.server = undefined;
    this.media = undefined;
    expect(left, 'media endpoints open at the end of the test').toBe(0);
  }
}
