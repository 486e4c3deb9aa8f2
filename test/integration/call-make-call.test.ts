/**
 * 3pcc RequestMakeCall (behaviour §8, acceptance §15.5) with SIPp as the agent phone and as the
 * destination behind a softswitch: Flow I (`make-call-rfc3725-flow = 1`) never re-INVITEs the
 * agent and ACKs it with the destination's answer; Flow IV re-INVITEs the agent with the
 * destination's offer. A destination that fails (busy, no answer, a 2xx without SDP) releases
 * the call: the phone is ACKed with a black hole (Flow I) and gets BYE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { sdpBody, startSipp, sippTraceMessages, type SippPeer, type SippRun } from '../helpers/sipp.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn, type DnOptions, type TestDn } from './call-yaml.js';
import { waitFor } from '../helpers/wait.js';

const origin = { requesterId: 'desk-1', referenceId: 42 };

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** 7001 at `phonePort` (make-call flow `flow`, more `phoneOptions`), the softswitch at `ssPort`, `more` DNs. */
function yaml(phonePort: number, ssPort: number, flow: string, phoneOptions: DnOptions, more: TestDn[]): string {
  return callYaml([
    softswitchDn(ssPort),
    extensionDn('7001', phonePort, { 'make-call-rfc3725-flow': flow, ...phoneOptions }),
    ...more,
  ]);
}

/**
 * The server (make-call flow `flow`, 7001's `phoneOptions`, `more` DNs given the softswitch port), the phone SIPp of
 * 7001 on `phone` and the destination SIPp behind the softswitch on `destScenario`.
 */
async function startPhoneAndDest(
  flow: '1' | '2',
  phone: Pick<SippRun, 'scenario' | 'args' | 'traceMessages'>,
  destScenario: string,
  phoneOptions: DnOptions = {},
  more = (_ssPort: number): TestDn[] => [],
): Promise<{ s: CallServer; phone: SippPeer; dest: SippPeer }> {
  const phonePort = await freePort();
  const ssPort = await freePort();
  const s = await startCallServer(yaml(phonePort, ssPort, flow, phoneOptions, more(ssPort)));
  server = s;
  const target = `127.0.0.1:${s.port}`;
  const common = { target, calls: 1, timeoutMs: 20_000 };
  return {
    s,
    phone: await startSipp({ ...common, ...phone, scenario: scen(phone.scenario), localPort: phonePort }),
    dest: await startSipp({
      ...common,
      scenario: scen(destScenario),
      localPort: ssPort,
      ...(phone.traceMessages ? { traceMessages: true } : {}),
    }),
  };
}

async function makeCall(flow: '1' | '2', phoneScenario: string, destScenario: string, phoneOptions: DnOptions = {}) {
  const { s, phone, dest } = await startPhoneAndDest(
    flow,
    { scenario: phoneScenario, traceMessages: true },
    destScenario,
    phoneOptions,
  );
  await s.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN: '9123' }, origin);
  await waitFor(() => s.events.some((e) => e.name === 'EventEstablished'), {
    what: 'EventEstablished',
    timeoutMs: 10_000,
  });
  const connId = s.events[0]!.connId;
  await s.control.handle({ request: 'RequestReleaseCall', thisDN: '7001', connId }, origin);
  const [ph, de] = await Promise.all([phone.result(), dest.result()]);
  await waitFor(() => s.b2bua.activeCalls === 0, { what: 'no active call left' });
  return { ph, de, events: s.events };
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
    const { ph, de, events } = await makeCall('1', 'uas-phone-flow1-guard.xml', 'uas-answer-slow-then-reinvite.xml', {
      'rfc3725-flow1-max-wait': '1',
    });
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
  async function flow1Fails(destScenario: string, more = (_ssPort: number): TestDn[] => [], otherDN = '9123') {
    const { s, phone, dest } = await startPhoneAndDest(
      '1',
      { scenario: 'uas-device-media.xml', args: ['-key', 'marker', 'phone', '-key', 'rtp_port', '40000'] },
      destScenario,
      {},
      more,
    );
    await s.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN }, origin);
    expect(await phone.waitExit(15_000), phone.errors()).toBe(0);
    expect(await dest.waitExit(15_000), dest.errors()).toBe(0);
    await waitFor(() => s.b2bua.activeCalls === 0, { what: 'no active call left' });
    const received = phone.messages().filter((m) => m.dir === 'received');
    await Promise.all([phone.stop(), dest.stop()]);
    return { received, events: s.events.map((e) => `${e.name}:${e.thisDN}`) };
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

  it('Flow I, destination answers 200 without SDP (RFC 3264 §4 wants its answer): ACKed and BYE; the phone ACKed with a black hole and BYE; no EventEstablished', async () => {
    const { received, events } = await flow1Fails('uas-answer-no-sdp.xml');
    expectBlackHoleAckThenBye(received);
    // Reached (it answered), never established.
    expect(events).toEqual(['EventDialing:7001', 'EventNetworkReached:7001', 'EventReleased:7001']);
  });

  it('Flow IV, destination answers 200 without SDP (its offer is missing, RFC 3264 §4): ACKed and BYE; the phone is never re-INVITEd and gets BYE', async () => {
    const { s, phone, dest } = await startPhoneAndDest(
      '2',
      { scenario: 'uas-device-media.xml', args: ['-key', 'marker', 'phone', '-key', 'rtp_port', '40000'] },
      'uas-answer-no-sdp.xml',
    );
    await s.control.handle({ request: 'RequestMakeCall', thisDN: '7001', otherDN: '9123' }, origin);
    expect(await phone.waitExit(15_000), phone.errors()).toBe(0);
    expect(await dest.waitExit(15_000), dest.errors()).toBe(0);
    await waitFor(() => s.b2bua.activeCalls === 0, { what: 'no active call left' });
    const received = phone.messages().filter((m) => m.dir === 'received');
    expect(received.map((m) => m.firstLine.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(sdpBody(dest.receivedRequests('ACK')[0]!).trim()).toBe('');
    expect(s.events.map((e) => `${e.name}:${e.thisDN}`)).toEqual([
      'EventDialing:7001',
      'EventNetworkReached:7001',
      'EventReleased:7001',
    ]);
    await Promise.all([phone.stop(), dest.stop()]);
  });

  it('Flow I, destination rings without answer (sip-invite-timeout): CANCEL, EventReleased on both DNs; black-hole ACK and BYE to the phone', async () => {
    const destDn = (ssPort: number) => [extensionDn('7002', ssPort, { 'sip-invite-timeout': '1' })];
    const { received, events } = await flow1Fails('uas-ringing-no-answer.xml', destDn, '7002');
    expectBlackHoleAckThenBye(received);
    expect(events).toEqual(['EventDialing:7001', 'EventRinging:7002', 'EventReleased:7002', 'EventReleased:7001']);
  });
});
