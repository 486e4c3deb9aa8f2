/**
 * Customer (SIPp UAC) → our B2BUA → callee behind a softswitch (SIPp UAS), on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, sippTraceMessages, type SippResult } from '../helpers/sipp.js';
import { softswitchYaml, startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** The body of a traced message (line ends normalised); '' when there is none. */
function body(text: string): string {
  const m = /\r?\n\r?\n/.exec(text);
  return m
    ? text
        .slice(m.index + m[0].length)
        .replace(/\r\n/g, '\n')
        .trim()
    : '';
}

function startLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

async function pair(
  uacScenario: string,
  uasScenario: string,
  number = '9123',
  uacArgs: string[] = [],
): Promise<{ uac: SippResult; uas: SippResult; uasPort: number }> {
  const uasPort = await freePort();
  server = await startCallServer(softswitchYaml(uasPort));
  const uasPeer = await startSipp({
    scenario: scen(uasScenario),
    target: `127.0.0.1:${server.port}`,
    localPort: uasPort,
    calls: 1,
    timeoutMs: 20_000,
    traceMessages: true,
  });
  const uac = await runSipp({
    scenario: scen(uacScenario),
    target: `127.0.0.1:${server.port}`,
    calls: 1,
    timeoutMs: 20_000,
    traceMessages: true,
    args: ['-s', number, '-d', '200', ...uacArgs],
  });
  const uas = await uasPeer.result();
  return { uac, uas, uasPort };
}

describe('B2BUA basic call with SIPp peers', () => {
  it('relays the call: SDP offer and answer pass unchanged, caller BYE relayed', async () => {
    const { uac, uas, uasPort } = await pair('uac-basic-call.xml', 'uas-answer.xml');
    expect(uac.code, uac.errors + uac.stdout.slice(-2000)).toBe(0);
    expect(uas.code, uas.errors).toBe(0);
    const uacMsgs = sippTraceMessages(uac.messages);
    const uasMsgs = sippTraceMessages(uas.messages);
    const offerSent = uacMsgs.find((m) => m.dir === 'sent' && startLine(m.text).startsWith('INVITE'))!;
    const offerRcvd = uasMsgs.find((m) => m.dir === 'received' && startLine(m.text).startsWith('INVITE'))!;
    expect(body(offerSent.text)).toContain('s=uac-offer-marker');
    expect(body(offerRcvd.text)).toBe(body(offerSent.text));
    // Behaviour §3.2: the full number (prefix kept) at the softswitch contact.
    expect(startLine(offerRcvd.text)).toBe(`INVITE sip:9123@127.0.0.1:${uasPort} SIP/2.0`);
    expect(server!.events).toEqual([]); // customer → external number: no DN involved, no CTI events
    const answerSent = uasMsgs.find((m) => m.dir === 'sent' && startLine(m.text).startsWith('SIP/2.0 200'))!;
    const answerRcvd = uacMsgs.find((m) => m.dir === 'received' && startLine(m.text).startsWith('SIP/2.0 200'))!;
    expect(body(answerSent.text)).toContain('s=uas-answer-marker');
    expect(body(answerRcvd.text)).toBe(body(answerSent.text));
    expect(uasMsgs.some((m) => m.dir === 'received' && startLine(m.text).startsWith('BYE '))).toBe(true);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(server!.ua.size).toBe(0);
  });

  it('callee hangs up first: BYE relayed to the caller', async () => {
    const { uac, uas } = await pair('uac-callee-hangs-up.xml', 'uas-answer-then-bye.xml');
    expect(uas.code, uas.errors + uas.messages.slice(-3000)).toBe(0);
    expect(uac.code, uac.errors).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('CANCEL before answer is relayed; the caller gets 487', async () => {
    const { uac, uas } = await pair('uac-cancel.xml', 'uas-ringing-no-answer.xml');
    expect(uac.code, uac.errors + uac.stdout.slice(-1500)).toBe(0);
    expect(uas.code, uas.errors + uas.stdout.slice(-1500)).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('BYE in the early dialog: 200 to the BYE, 487 to the INVITE, CANCEL to the callee (RFC 3261 §15.1.2)', async () => {
    const { uac, uas } = await pair('uac-bye-early-dialog.xml', 'uas-ringing-no-answer.xml');
    expect(uac.code, uac.errors + uac.messages.slice(-2000)).toBe(0);
    expect(uas.code, uas.errors + uas.messages.slice(-2000)).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('486 from the callee is relayed to the caller', async () => {
    const { uac, uas } = await pair('uac-expect-486.xml', 'uas-busy-486.xml');
    expect(uac.code, uac.errors).toBe(0);
    expect(uas.code, uas.errors).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('183 early media: the callee SDP in the 183 reaches the caller unchanged', async () => {
    const { uac, uas } = await pair('uac-early-media.xml', 'uas-early-media-183.xml');
    expect(uac.code, uac.errors + uac.messages.slice(-2000)).toBe(0);
    expect(uas.code, uas.errors).toBe(0);
    const sent = sippTraceMessages(uas.messages).find(
      (m) => m.dir === 'sent' && startLine(m.text).startsWith('SIP/2.0 183'),
    )!;
    const got = sippTraceMessages(uac.messages).find(
      (m) => m.dir === 'received' && startLine(m.text).startsWith('SIP/2.0 183'),
    )!;
    expect(body(sent.text)).toContain('s=uas-early-marker');
    expect(body(got.text)).toBe(body(sent.text));
  });

  it('late offer: INVITE without SDP, offer in the 200, answer in the ACK (RFC 3264 §4)', async () => {
    const { uac, uas } = await pair('uac-late-offer.xml', 'uas-phone-offer-in-200.xml');
    expect(uac.code, uac.errors + uac.messages.slice(-2000)).toBe(0);
    expect(uas.code, uas.errors + uas.messages.slice(-2000)).toBe(0);
    const inv = sippTraceMessages(uas.messages).find(
      (m) => m.dir === 'received' && startLine(m.text).startsWith('INVITE'),
    )!;
    expect(body(inv.text)).toBe('');
    const ackSent = sippTraceMessages(uac.messages).find(
      (m) => m.dir === 'sent' && startLine(m.text).startsWith('ACK'),
    )!;
    const ackRcvd = sippTraceMessages(uas.messages).find(
      (m) => m.dir === 'received' && startLine(m.text).startsWith('ACK'),
    )!;
    expect(body(ackSent.text)).toContain('s=uas-answer-marker');
    expect(body(ackRcvd.text)).toBe(body(ackSent.text));
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('a number nobody serves gets 404', async () => {
    server = await startCallServer(softswitchYaml(await freePort()));
    const uac = await runSipp({
      scenario: scen('uac-expect-404.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 10_000,
      traceMessages: true,
      args: ['-s', '5555'],
    });
    expect(uac.code, uac.errors).toBe(0);
    const final = sippTraceMessages(uac.messages).find(
      (m) => m.dir === 'received' && startLine(m.text).startsWith('SIP/2.0 404'),
    );
    expect(final).toBeDefined();
    expect(server.b2bua.activeCalls).toBe(0);
  });

  it('a routing loop through ourselves ends with 483 (Max-Forwards carried across legs)', async () => {
    server = await startCallServer(softswitchYaml(await freePort()));
    const r = server.store.apply([
      { op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { contact: `127.0.0.1:${server.port}` } } },
    ]);
    expect(r.version).toBeGreaterThan(0);
    const uac = await runSipp({
      scenario: scen('uac-expect-483.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '9123'],
    });
    expect(uac.code, uac.errors).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
    expect(server.b2bua.completed).toBe(70); // the customer's call plus 69 loop legs, Max-Forwards 70 → 0
  });

  it('a BYE for an unknown dialog gets 481', async () => {
    server = await startCallServer(softswitchYaml(await freePort()));
    const uac = await runSipp({
      scenario: scen('uac-bye-unknown-dialog.xml'),
      target: `127.0.0.1:${server.port}`,
      calls: 1,
      timeoutMs: 10_000,
      args: ['-s', '9123'],
    });
    expect(uac.code, uac.errors).toBe(0);
  });
});
