/**
 * The world of the conference tests (`call-conference.test.ts`): the built-in media server on a
 * random port range, conference parties (an RTP socket on loopback and the SIPp whose SDP names
 * it), the consultation and completion steps, a tone exchange measured with Goertzel, and
 * readers of the SIPp traces.
 */
import { createBuiltinMediaServer, type BuiltinMediaServer } from '../../src/media/builtin/index.js';
import { linearToUlaw } from '../../src/media/builtin/g711.js';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { randomPortRange } from '../helpers/media.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { startSipp, sippTraceMessages, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { scen, startCallServer, type CallServer } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn } from './call-yaml.js';

export { scen } from './call-harness.js';
export const origin = { requesterId: 'desk-1', referenceId: 11 };

/**
 * Agent 7001 (single dialog) and consultation target 7002 on static contacts, office phone 7003
 * (two dialogs, the default); numbers with prefix 9 to a softswitch.
 */
export function yaml(agentPort: number, targetPort: number, ssPort: number, officePort = 9): string {
  return callYaml([
    softswitchDn(ssPort),
    extensionDn('7001', agentPort, { 'dual-dialog-enabled': 'false' }),
    extensionDn('7002', targetPort),
    extensionDn('7003', officePort),
  ]);
}

/** One conference party: its RTP socket and its SIPp (UAS called by the server, or the calling customer). */
export interface Party {
  rtp: RtpPeer;
  sipp: SippPeer;
}

/** What a test starts (media server, RTP sockets, SIPps), ended by {@link ConferenceWorld.cleanup}. */
export class ConferenceWorld {
  media: BuiltinMediaServer | undefined;
  readonly peers: RtpPeer[] = [];
  readonly sipps: SippPeer[] = [];

  /** The built-in media server on a random range of the test RTP ports (helpers/media.ts). */
  async startMedia(): Promise<BuiltinMediaServer> {
    this.media = await createBuiltinMediaServer({
      bindAddress: '127.0.0.1',
      mediaAddress: '127.0.0.1',
      ...randomPortRange(),
      ringbackTone: 'us',
      musicFile: undefined,
    });
    return this.media;
  }

  /** {@link startMedia}, then a call server on it configured by `configYaml`; `target` is its UDP address. */
  async serve(configYaml: string): Promise<{ s: CallServer; m: BuiltinMediaServer; target: string }> {
    const m = await this.startMedia();
    const s = await startCallServer(configYaml, { media: m });
    return { s, m, target: `127.0.0.1:${s.port}` };
  }

  /** A party running `scenario` (`-set rtp` = its RTP socket's port) towards `target`. */
  async party(
    scenario: string,
    target: string,
    opts: { port?: number; args?: string[]; calls?: number } = {},
  ): Promise<Party> {
    const rtp = await RtpPeer.open();
    this.peers.push(rtp);
    const sipp = await startSipp({
      scenario: scen(scenario),
      target,
      localPort: opts.port,
      calls: opts.calls ?? 1,
      timeoutMs: 30_000,
      args: ['-set', 'rtp', String(rtp.port), ...(opts.args ?? [])],
    });
    this.sipps.push(sipp);
    return { rtp, sipp };
  }

  /** Stop every SIPp, then `server`, the media server and the RTP sockets. */
  async cleanup(server: CallServer | undefined): Promise<void> {
    await Promise.all(this.sipps.splice(0).map((s) => s.stop()));
    await server?.stop();
    await this.media?.close();
    this.media = undefined;
    for (const p of this.peers.splice(0)) p.close();
  }
}

/** The customer calls `agent`; the agent starts a conference with `otherDN`, who answers. */
export async function consult(
  s: CallServer,
  otherDN: string,
  agent: string,
): Promise<{ connId: string; consultId: string }> {
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished'), { what: 'the call', timeoutMs: 10_000 });
  const connId = s.events.find((e) => e.name === 'EventEstablished')!.connId;
  await s.control.handle({ request: 'RequestInitiateConference', thisDN: agent, connId, otherDN }, origin);
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished' && e.connId !== connId), {
    what: 'EventEstablished of the consultation',
    timeoutMs: 10_000,
  });
  return { connId, consultId: s.events.find((e) => e.name === 'EventDialing')!.connId };
}

/** {@link consult}, then RequestCompleteConference. */
export async function conference(
  s: CallServer,
  otherDN: string,
  agent = '7001',
): Promise<{ connId: string; consultId: string }> {
  const { connId, consultId } = await consult(s, otherDN, agent);
  await s.control.handle(
    { request: 'RequestCompleteConference', thisDN: agent, connId, transferConnId: consultId },
    origin,
  );
  return { connId, consultId };
}

/**
 * Each party sends a tone of its own frequency to where the bridge's RTP comes from (symmetric
 * RTP) for `ms`; returns, per party, the power of every frequency in what it received meanwhile.
 */
export async function exchangeTones(parties: Party[], freqs: number[], ms: number): Promise<number[][]> {
  await waitFor(() => parties.every((p) => p.rtp.rtp.length > 0), { what: 'RTP from the bridge to every party' });
  const from = parties.map((p) => Number(p.rtp.rtp.at(-1)!.from.split(':')[1]));
  const start = parties.map((p) => p.rtp.rtp.length);
  let n = 0;
  const timer = setInterval(() => {
    parties.forEach((p, i) => {
      const frame = new Uint8Array(160);
      for (let k = 0; k < 160; k++)
        frame[k] = linearToUlaw(Math.round(6000 * Math.sin((2 * Math.PI * freqs[i]! * (n * 160 + k)) / 8000)));
      p.rtp.send(from[i]!, 0, n & 0xffff, n * 160, 0x1000 + i, frame, n === 0);
    });
    n++;
  }, 20);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(timer);
  return parties.map((p, i) => {
    // Skip the first 200 ms: the bridge hears the tones only once they arrive.
    const pcm = RtpPeer.decode(p.rtp.rtp.slice(start[i]! + 10));
    return freqs.map((f) => goertzelPower(pcm, f));
  });
}

/** First words of the requests and responses a SIPp received, e.g. `INVITE+sdp`, `ACK`, `200`. */
export function received(sipp: SippPeer): string[] {
  return sipp
    .messages()
    .filter((m) => m.dir === 'received' && !/^SIP\/2.0 1\d\d/.test(m.firstLine))
    .map((m) => {
      const word = m.firstLine.startsWith('SIP/2.0') ? m.firstLine.split(' ')[1]! : m.firstLine.split(' ')[0]!;
      return /\r?\n\r?\nv=0/.test(m.text) ? `${word}+sdp` : word;
    });
}

/** The RTP port in the SDP of the ACK that answered a party's offer-less re-INVITE to the bridge (the first one). */
export function bridgePort(sipp: SippPeer): number {
  const msgs = sippTraceMessages(sipp.messagesLog()).filter((m) => m.dir === 'received');
  const i = msgs.findIndex((m, k) => k > 0 && m.text.startsWith('INVITE') && !/\r?\n\r?\nv=0/.test(m.text));
  const ack = msgs.slice(i + 1).find((m) => m.text.startsWith('ACK'))!;
  return Number(/^m=audio (\d+)/m.exec(ack.text)?.[1]);
}

/** The call events as `name:thisDN:main|consult:otherDN`. */
export const eventsOf = (s: CallServer, main: string) =>
  s.events.map((e) => `${e.name}:${e.thisDN}:${e.connId === main ? 'main' : 'consult'}:${e.otherDN ?? ''}`);
