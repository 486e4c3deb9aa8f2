/**
 * Acceptance, examples/office.yaml: two-dialog consultation (behaviour §6,
 * `dual-dialog-enabled = true`, the default for office phones) from Joe's phone — a real baresip
 * registered as 8888 that answers by itself. A customer routed to Joe is held by re-INVITE
 * (`sendonly` to the phone), the consultation to Jay (7777, behind the PBX) is a second INVITE
 * dialog to the phone, then Joe completes the transfer: the customer is connected to the PBX
 * leg and both of the phone's dialogs get BYE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBaresip, type BaresipPeer } from '../helpers/baresip.js';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { freePort } from '../helpers/ports.js';
import { sdpBody as body } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, apiGet, dnEvent, udpTarget } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

/** The SIP requests baresip's trace (`-s`) shows it received, each with its Call-ID. */
function receivedByPhone(output: string, method: string): string[] {
  const callIds: string[] = [];
  // baresip prints each message after a "recv" header line; its request line follows.
  const re = new RegExp(`^${method} sip:[^\\n]*SIP/2\\.0\\r?\\n(?:[^\\n]*\\r?\\n)*?Call-ID:\\s*(\\S+)`, 'gim');
  for (const m of output.matchAll(re)) callIds.push(m[1]!);
  return callIds;
}

describe('e2e office.yaml: two-dialog consultation from a baresip office phone', () => {
  const env = new E2eEnv({ example: 'office.yaml', softswitchPort: 5081 });
  let phone: BaresipPeer | undefined;
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    await env.start();
    phone = startBaresip('8888', udpTarget(env.server), await freePort(), '8888-secret', { autoAnswer: true });
    await waitFor(async () => (await apiGet(env.server.httpUrl!, '/api/dns/8888/status')).body.mode === 'registered', {
      what: 'baresip registered as 8888',
      timeoutMs: 15_000,
      detail: () => phone!.output.slice(-2000),
    });
    desk = await env.agentDesk('joe', 'joe-secret', '8888');
  });

  afterAll(async () => {
    await phone?.stop();
    await env.stop();
  });

  it('held by re-INVITE, consultation as a second INVITE dialog, complete ends both dialogs', async () => {
    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    const est = await desk!.waitFor(on('EventEstablished'), 15_000);
    const connId = est.connId;
    const init = await desk!.request('RequestInitiateTransfer', { thisDN: '8888', connId, otherDN: '7777' }, 15_000);
    expect(init.event).toBe('EventHeld');
    const dialing = await desk!.waitFor(on('EventDialing'), 15_000);
    expect(dialing).toMatchObject({ callType: 'Consult', otherDN: '7777' });
    await desk!.waitFor((f) => on('EventEstablished')(f) && f.connId === dialing.connId, 15_000);

    // The phone: the customer call's INVITE and its hold re-INVITE (sendonly), then a second
    // dialog (INVITE, then the target's offer by re-INVITE).
    const invites = receivedByPhone(phone!.output, 'INVITE');
    const dialogs = [...new Set(invites)];
    expect(dialogs, phone!.output.slice(-4000)).toHaveLength(2);
    expect(invites.filter((c) => c === dialogs[0]).length).toBe(2);
    expect(invites.filter((c) => c === dialogs[1]).length).toBe(2);
    expect(phone!.output).toMatch(/a=sendonly/);
    expect(env.sbc.receivedRequests('INVITE').map((m) => m.firstLine)).toContain(
      `INVITE sip:7777@${env.sbcAddress} SIP/2.0`,
    );

    const done = await desk!.request(
      'RequestCompleteTransfer',
      { thisDN: '8888', connId, transferConnId: dialing.connId },
      15_000,
    );
    expect(done.event).toBe('EventReleased');
    await waitFor(() => new Set(receivedByPhone(phone!.output, 'BYE')).size === 2, {
      what: 'BYE on both dialogs of the phone',
      detail: () => phone!.output.slice(-3000),
    });
    await waitFor(
      () =>
        customer
          .receivedRequests('INVITE')
          .some((m) => body(m).includes('s=e2e-callee-sdp') && !/a=sendonly/.test(body(m))),
      { what: 'the customer connected to the PBX leg' },
    );
    const released = desk!.events
      .filter((f) => f.event === 'EventReleased' && f.thisDN === '8888')
      .map((f) => f.connId);
    expect(new Set(released)).toEqual(new Set([connId, dialing.connId]));
  });
});
