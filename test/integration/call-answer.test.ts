/**
 * RequestAnswerCall (behaviour §9, §10) against SIPp phones: a phone that lists `talk` in the
 * Allow-Events of its 180, on a DN with `sip-cti-control = talk`, gets NOTIFY Event: talk in the
 * early dialog and answers; EventEstablished follows its 200. Otherwise EventError
 * (`not-supported`) and the phone keeps ringing until the call is released.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { callIdOf, runSipp, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer, scen } from './call-harness.js';
import { callYaml, extensionDn } from './call-yaml.js';

const origin = { requesterId: 'desk-1', referenceId: 9 };

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** 7001 may be answered by NOTIFY (`sip-cti-control: talk`), 7002 may not; both ring at `phonePort`. */
function yaml(phonePort: number): string {
  return callYaml([extensionDn('7001', phonePort, { 'sip-cti-control': 'talk,hold' }), extensionDn('7002', phonePort)]);
}

async function ringing(s: CallServer, dn: string): Promise<string> {
  await waitFor(() => s.events.some((e) => e.name === 'EventRinging' && e.thisDN === dn), {
    what: `EventRinging on ${dn}`,
    timeoutMs: 10_000,
  });
  return s.events.find((e) => e.name === 'EventRinging')!.connId;
}

const header = (text: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim();

describe('RequestAnswerCall', () => {
  it('a phone offering talk on a DN with sip-cti-control = talk: NOTIFY Event: talk in the early dialog, then its 200 → EventEstablished', async () => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort));
    const target = `127.0.0.1:${server.port}`;
    const phone = await startSipp({ scenario: scen('uas-ringing-talk.xml'), target, localPort: phonePort, calls: 1 });
    const customer = runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      pauseMs: 300,
      traceMessages: true,
      timeoutMs: 20_000,
      args: ['-s', '7001'],
    });
    const connId = await ringing(server, '7001');
    await server.control.handle({ request: 'RequestAnswerCall', thisDN: '7001', connId }, origin);
    await waitFor(() => server!.events.some((e) => e.name === 'EventEstablished'), { what: 'EventEstablished' });
    // Answered already: invalid-state, no second NOTIFY.
    await expect(
      server.control.handle({ request: 'RequestAnswerCall', thisDN: '7001', connId }, origin),
    ).rejects.toMatchObject({ reason: 'invalid-state' });
    const [cu, ph] = await Promise.all([customer, phone.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2000)).toBe(0);
    expect(ph.code, ph.errors + ph.messages.slice(-3000)).toBe(0);
    const received = sippTraceMessages(ph.messages).filter((m) => m.dir === 'received');
    expect(received.map((m) => m.text.split(/\r?\n/)[0]!.split(' ')[0])).toEqual(['INVITE', 'NOTIFY', 'ACK', 'BYE']);
    const [invite, notify] = received;
    expect(callIdOf(notify!)).toBe(callIdOf(invite!));
    expect(header(notify!.text, 'CSeq')).toBe(`${Number(header(invite!.text, 'CSeq')!.split(' ')[0]) + 1} NOTIFY`);
    expect(header(notify!.text, 'From')).toBe(header(invite!.text, 'From'));
    expect(header(notify!.text, 'Event')).toBe('talk');
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no call left' });
    expect(server.events.map((e) => `${e.name}:${e.thisDN}`)).toEqual([
      'EventRinging:7001',
      'EventEstablished:7001',
      'EventReleased:7001',
    ]);
  });

  it.each([
    ['7002', 'uas-ringing-talk.xml', 'a DN without sip-cti-control (the phone offers talk)'],
    ['7001', 'uas-ringing-no-answer.xml', 'a phone whose 180 has no Allow-Events: talk'],
  ])('%s, %s: EventError not-supported for %s; no NOTIFY, the release CANCELs the phone', async (dn, scenario) => {
    const phonePort = await freePort();
    server = await startCallServer(yaml(phonePort));
    const target = `127.0.0.1:${server.port}`;
    const phone = await startSipp({ scenario: scen(scenario), target, localPort: phonePort, calls: 1 });
    const customer = runSipp({
      scenario: scen('uac-expect-480.xml'),
      target,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', dn],
    });
    const connId = await ringing(server, dn);
    await expect(
      server.control.handle({ request: 'RequestAnswerCall', thisDN: dn, connId }, origin),
    ).rejects.toMatchObject({ reason: 'not-supported' });
    await server.control.handle({ request: 'RequestReleaseCall', thisDN: dn, connId }, origin);
    const [cu, ph] = await Promise.all([customer, phone.result()]);
    expect(cu.code, cu.errors + cu.messages.slice(-2000)).toBe(0);
    expect(ph.code, ph.errors + ph.messages.slice(-2000)).toBe(0);
    expect(sippTraceMessages(ph.messages).filter((m) => m.text.startsWith('NOTIFY'))).toEqual([]);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no call left' });
  });
});
