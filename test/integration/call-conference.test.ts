/**
 * Three-party conferences (behaviour §6, §11.1) with SIPp parties and the built-in media server:
 * RequestInitiateConference / RequestCompleteConference re-INVITE the customer, the agent and
 * the consulted party each to its own endpoint on one mixer; each party's RTP (a tone sent from
 * the UDP socket its SDP names) reaches the other two and not itself. RequestDeleteFromConference
 * and a party hanging up give EventPartyDeleted, the two left are reconnected by re-INVITEs, and
 * a member's own re-INVITE is answered by its endpoint;
 * no endpoint or mixer is left behind. Without a media server the requests are refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createBuiltinMediaServer, type BuiltinMediaServer } from '../../src/media/builtin/index.js';
import { linearToUlaw } from '../../src/media/builtin/g711.js';
import { goertzelPower } from '../../src/media/builtin/tones.js';
import { freePort } from '../helpers/ports.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { callIdOf, startSipp, sippTraceMessages, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer } from './call-harness.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const origin = { requesterId: 'desk-1', referenceId: 11 };

let server: CallServer | undefined;
let media: BuiltinMediaServer | undefined;
const peers: RtpPeer[] = [];
const sipps: SippPeer[] = [];
afterEach(async () => {
  await Promise.all(sipps.splice(0).map((s) => s.stop()));
  await server?.stop();
  await media?.close();
  for (const p of peers.splice(0)) p.close();
  server = undefined;
  media = undefined;
});

/**
 * Agent 7001 (single dialog) and consultation target 7002 on static contacts, office phone 7003
 * (two dialogs, the default); numbers with prefix 9 to a softswitch.
 */
function yaml(agentPort: number, targetPort: number, ssPort: number, officePort = 9): string {
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
      dual-dialog-enabled: "false"
  - number: "7002"
    type: extension
    options:
      contact: "127.0.0.1:${targetPort}"
  - number: "7003"
    type: extension
    options:
      contact: "127.0.0.1:${officePort}"
`;
}

async function startMedia(): Promise<BuiltinMediaServer> {
  const portMin = 30000 + 2 * Math.floor(Math.random() * 14000);
  media = await createBuiltinMediaServer({
    bindAddress: '127.0.0.1',
    mediaAddress: '127.0.0.1',
    portMin,
    portMax: portMin + 999,
    ringbackTone: 'us',
    musicFile: undefined,
  });
  return media;
}

/** One conference party: its RTP socket and its SIPp (UAS called by the server, or the calling customer). */
interface Party {
  rtp: RtpPeer;
  sipp: SippPeer;
}

async function party(
  scenario: string,
  target: string,
  opts: { port?: number; args?: string[]; calls?: number } = {},
): Promise<Party> {
  const rtp = await RtpPeer.open();
  peers.push(rtp);
  const sipp = await startSipp({
    scenario: scen(scenario),
    target,
    localPort: opts.port,
    calls: opts.calls ?? 1,
    timeoutMs: 30_000,
    args: ['-set', 'rtp', String(rtp.port), ...(opts.args ?? [])],
  });
  sipps.push(sipp);
  return { rtp, sipp };
}

/** The customer calls `agent`; the agent consults `otherDN` and completes the conference. */
async function conference(
  s: CallServer,
  otherDN: string,
  agent = '7001',
): Promise<{ connId: string; consultId: string }> {
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished'), { what: 'the call', timeoutMs: 10_000 });
  const connId = s.events.find((e) => e.name === 'EventEstablished')!.connId;
  await s.control.handle({ request: 'RequestInitiateConference', thisDN: agent, connId, otherDN }, origin);
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished' && e.connId !== connId), {
    what: 'EventEstablished of the consultation',
    timeoutMs: 10_000,
  });
  const consultId = s.events.find((e) => e.name === 'EventDialing')!.connId;
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
async function exchangeTones(parties: Party[], freqs: number[], ms: number): Promise<number[][]> {
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
function received(sipp: SippPeer): string[] {
  return sipp
    .messages()
    .filter((m) => m.dir === 'received' && !/^SIP\/2.0 1\d\d/.test(m.firstLine))
    .map((m) => {
      const word = m.firstLine.startsWith('SIP/2.0') ? m.firstLine.split(' ')[1]! : m.firstLine.split(' ')[0]!;
      return /\r?\n\r?\nv=0/.test(m.text) ? `${word}+sdp` : word;
    });
}

/** The RTP port in the SDP of the ACK that answered a party's offer-less re-INVITE to the bridge (the first one). */
function bridgePort(sipp: SippPeer): number {
  const msgs = sippTraceMessages(sipp.messagesLog()).filter((m) => m.dir === 'received');
  const i = msgs.findIndex((m, k) => k > 0 && m.text.startsWith('INVITE') && !/\r?\n\r?\nv=0/.test(m.text));
  const ack = msgs.slice(i + 1).find((m) => m.text.startsWith('ACK'))!;
  return Number(/^m=audio (\d+)/m.exec(ack.text)?.[1]);
}

const eventsOf = (s: CallServer, main: string) =>
  s.events.map((e) => `${e.name}:${e.thisDN}:${e.connId === main ? 'main' : 'consult'}:${e.otherDN ?? ''}`);

describe('conference on the media server mixer', () => {
  it('three SIPp parties: each tone reaches the other two and not its sender; delete-from-conference reconnects the two left', async () => {
    const [agentPort, targetPort] = [await freePort(), await freePort()];
    const m = await startMedia();
    server = await startCallServer(yaml(agentPort, targetPort, await freePort()), { media: m });
    const target = `127.0.0.1:${server.port}`;
    const agent = await party('uas-conf-party.xml', target, { port: agentPort });
    const consulted = await party('uas-conf-party.xml', target, { port: targetPort });
    const customer = await party('uac-conf-party.xml', target, { args: ['-s', '7001', '-set', 'leaveafter', '99'] });
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
    const m = await startMedia();
    server = await startCallServer(yaml(agentPort, await freePort(), ssPort), { media: m });
    const target = `127.0.0.1:${server.port}`;
    const agent = await party('uas-conf-party.xml', target, { port: agentPort });
    const consulted = await party('uas-conf-party.xml', target, { port: ssPort });
    const customer = await party('uac-conf-party.xml', target, { args: ['-s', '7001', '-set', 'leaveafter', '2'] });
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
    const m = await startMedia();
    server = await startCallServer(yaml(await freePort(), await freePort(), ssPort, phonePort), { media: m });
    const target = `127.0.0.1:${server.port}`;
    const phone = await party('uas-conf-party.xml', target, { port: phonePort, calls: 2 });
    const consulted = await party('uas-conf-party.xml', target, { port: ssPort });
    // The customer hangs up after its third re-INVITE: held, bridged, reconnected to the consulted party.
    const customer = await party('uac-conf-party.xml', target, { args: ['-s', '7003', '-set', 'leaveafter', '3'] });
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
    const m = await startMedia();
    const agentPort = await freePort();
    server = await startCallServer(yaml(agentPort, await freePort(), await freePort()), { media: m });
    const target = `127.0.0.1:${server.port}`;
    await party('uas-conf-party.xml', target, { port: agentPort });
    const customer = await party('uac-conf-party.xml', target, { args: ['-s', '7001', '-set', 'leaveafter', '99'] });
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
