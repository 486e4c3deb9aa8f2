/**
 * 3pcc RequestMakeCall (behaviour §8, acceptance §15.5) with SIPp as the agent phone and as the
 * destination behind a softswitch: Flow I (`make-call-rfc3725-flow = 1`) never re-INVITEs the
 * agent and ACKs it with the destination's answer; Flow IV re-INVITEs the agent with the
 * destination's offer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { sdpBody, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { startCallServer, type CallServer } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn } from './call-yaml.js';
import { waitFor } from '../helpers/wait.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const origin = { requesterId: 'desk-1', referenceId: 42 };

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function yaml(phonePort: number, ssPort: number, flow: string, extra = ''): string {
  return callYaml([softswitchDn(ssPort), extensionDn('7001', phonePort, { 'make-call-rfc3725-flow': flow })], {
    extra,
  });
}

async function makeCall(flow: '1' | '2', phoneScenario: string, destScenario: string, extra = '') {
  const phonePort = await freePort();
  const ssPort = await freePort();
  server = await startCallServer(yaml(phonePort, ssPort, flow, extra));
  const target = `127.0.0.1:${server.port}`;
  const phone = await startSipp({
    scenario: scen(phoneScenario),
    target,
    localPort: phonePort,
    calls: 1,
    timeoutMs: 20_000,
    traceMessages: true,
  });
  const dest = await startSipp({
    scenario: scen(destScenario),
    target,
    localPort: ssPort,
    calls: 1,
    timeoutMs: 20_000,
    traceMessages: true,
  });
  await server.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN: '9123' }, origin);
  await waitFor(() => server!.events.some((e) => e.name === 'EventEstablished'), {
    what: 'EventEstablished',
    timeoutMs: 10_000,
  });
  const connId = server.events[0]!.connId;
  await server.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
  const [ph, de] = await Promise.all([phone.result(), dest.result()]);
  await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  return { ph, de, events: server.events };
}

describe('RequestMakeCall', () => {
  it('Flow I: offer-less INVITE to the agent, its offer to the destination, the answer in the ACK, no re-INVITE', async () => {
    const { ph, de, events } = await makeCall('1', 'uas-phone-offer-in-200.xml', 'uas-answer.xml');
    expect(ph.code, ph.errors + ph.messages.slice(-2000)).toBe(0);
    expect(de.code, de.errors).toBe(0);
    const phoneIn = sippTraceMessages(ph.messages).filter((m) => m.dir === 'received');
    expect(phoneIn.filter((m) => m.text.startsWith('INVITE'))).toHaveLength(1);
    expect(phoneIn[0]!.text).not.toContain('v=0');
    // The ACK to the agent carries the destination's answer, byte for byte (RFC 3725 Flow I).
    const bodyOf = (t: string) => {
      const m = /\r?\n\r?\n/.exec(t);
      return m
        ? t
            .slice(m.index + m[0].length)
            .replace(/\r\n/g, '\n')
            .trim()
        : '';
    };
    const ackToPhone = phoneIn.find((m) => m.text.startsWith('ACK'))!;
    const destOk = sippTraceMessages(de.messages).find((m) => m.dir === 'sent' && m.text.startsWith('SIP/2.0 200'))!;
    expect(bodyOf(destOk.text)).toContain('s=uas-answer-marker');
    expect(bodyOf(ackToPhone.text)).toBe(bodyOf(destOk.text));
    const destInvite = sippTraceMessages(de.messages).find((m) => m.dir === 'received' && m.text.startsWith('INVITE'))!;
    const phoneOk = sippTraceMessages(ph.messages).find((m) => m.dir === 'sent' && m.text.startsWith('SIP/2.0 200'))!;
    expect(bodyOf(destInvite.text)).toBe(bodyOf(phoneOk.text));
    expect(events.map((e) => `${e.name}:${e.thisDN}:${e.otherDN}:${e.callType}`)).toEqual([
      'EventDialing:7001:9123:Outbound',
      'EventNetworkReached:7001:9123:Outbound',
      'EventEstablished:7001:9123:Outbound',
      'EventReleased:7001:9123:Outbound',
    ]);
    expect(events.every((e) => e.origin?.referenceId === 42)).toBe(true);
  });

  it('Flow I guard: destination slower than rfc3725-flow1-max-wait → agent ACKed with a black hole, reconnected by re-INVITE', async () => {
    const { ph, de, events } = await makeCall(
      '1',
      'uas-phone-flow1-guard.xml',
      'uas-answer-slow-then-reinvite.xml',
      '      rfc3725-flow1-max-wait: "1"\n',
    );
    expect(ph.code, ph.errors + ph.messages.slice(-2500)).toBe(0);
    expect(de.code, de.errors + de.messages.slice(-2500)).toBe(0);
    expect(events.map((e) => e.name)).toEqual([
      'EventDialing',
      'EventNetworkReached',
      'EventEstablished',
      'EventReleased',
    ]);
  });

  it('Flow IV: no-media offer to the agent, then a re-INVITE with the destination offer', async () => {
    const { ph, de, events } = await makeCall('2', 'uas-flow4-origin.xml', 'uas-phone-offer-in-200.xml');
    expect(ph.code, ph.errors + ph.messages.slice(-2000)).toBe(0);
    expect(de.code, de.errors + de.messages.slice(-2000)).toBe(0);
    const phoneInvites = sippTraceMessages(ph.messages).filter(
      (m) => m.dir === 'received' && m.text.startsWith('INVITE'),
    );
    expect(phoneInvites).toHaveLength(2);
    expect(events.map((e) => e.name)).toEqual([
      'EventDialing',
      'EventNetworkReached',
      'EventEstablished',
      'EventReleased',
    ]);
  });

  /**
   * Flow I whose destination fails (behaviour §8.1 guard rails, §8.3): the phone (its offer in
   * its 200) is ACKed with a black-hole answer, then BYE. Returns the events and the phone's
   * received requests.
   */
  async function flow1Fails(destScenario: string, extra = (_ssPort: number) => '', otherDN = '9123') {
    const phonePort = await freePort();
    const ssPort = await freePort();
    server = await startCallServer(yaml(phonePort, ssPort, '1', extra(ssPort)));
    const target = `127.0.0.1:${server.port}`;
    const phone = await startSipp({
      scenario: scen('uas-device-media.xml'),
      target,
      localPort: phonePort,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-key', 'marker', 'phone', '-key', 'rtp_port', '40000'],
    });
    const dest = await startSipp({
      scenario: scen(destScenario),
      target,
      localPort: ssPort,
      calls: 1,
      timeoutMs: 20_000,
    });
    await server.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN }, origin);
    expect(await phone.waitExit(15_000), phone.errors()).toBe(0);
    expect(await dest.waitExit(15_000), dest.errors()).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    const received = phone.messages().filter((m) => m.dir === 'received');
    await Promise.all([phone.stop(), dest.stop()]);
    return { received, events: server.events.map((e) => `${e.name}:${e.thisDN}`) };
  }

  /** The phone got INVITE, then an ACK with a black-hole answer (c=0.0.0.0, RFC 3725 §4), then BYE. */
  function expectBlackHoleAckThenBye(received: Array<{ firstLine: string; text: string }>): void {
    expect(received.map((m) => m.firstLine.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);
    const ack = sdpBody(received[1]!);
    expect(ack).toMatch(/c=IN IP4 0\.0\.0\.0/);
    expect(ack).toMatch(/m=audio [1-9]\d* RTP\/AVP 0/);
    expect(ack).toMatch(/^o=- /m); // our answer (our origin), not the phone's offer echoed
  }

  it('Flow I, destination busy (486): EventDialing, EventDestinationBusy, EventReleased; the phone is ACKed with a black hole and gets BYE', async () => {
    const { received, events } = await flow1Fails('uas-busy-486.xml');
    expectBlackHoleAckThenBye(received);
    expect(events).toEqual(['EventDialing:7001', 'EventDestinationBusy:7001', 'EventReleased:7001']);
  });

  it('Flow I, destination rings without answer (sip-invite-timeout): CANCEL, EventReleased on both DNs; black-hole ACK and BYE to the phone', async () => {
    const destDn = (ssPort: number) => `  - number: "7002"
    type: extension
    options:
      contact: "127.0.0.1:${ssPort}"
      sip-invite-timeout: "1"
`;
    const { received, events } = await flow1Fails('uas-ringing-no-answer.xml', destDn, '7002');
    expectBlackHoleAckThenBye(received);
    expect(events).toEqual(['EventDialing:7001', 'EventRinging:7002', 'EventReleased:7002', 'EventReleased:7001']);
  });
});
