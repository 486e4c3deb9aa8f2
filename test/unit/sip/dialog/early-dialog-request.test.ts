/**
 * A request in the early dialog of an outgoing INVITE (RFC 3261 §12.1.2, §13.2.2.1): built from
 * the 1xx with a To tag, sent in its own client transaction, CSeq above the INVITE's; the 2xx of
 * the same fork confirms that dialog, so a later re-INVITE goes on counting (§12.2.1.1).
 */
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/index.js';
import type { SipResponse } from '../../../../src/sip/message/types.js';
import type { InDialogResult, InviteSession } from '../../../../src/sip/dialog/invite-session.js';
import { invite, ok, PEER, requestsSent, setup } from './manager-stack.js';

describe('InviteClientSession.requestInEarlyDialog', () => {
  it('NOTIFY in the early dialog of a 180, then the 2xx confirms that dialog: the re-INVITE CSeq follows the NOTIFY', async () => {
    const { mgr, stack, ua } = setup();
    const accepted: InviteSession[] = [];
    const progress: SipResponse[] = [];
    const ics = ua.createInvite(invite(), PEER, {
      onProgress: (r) => progress.push(r),
      onAccepted: (s) => accepted.push(s),
      onRejected: () => undefined,
      onFailed: () => undefined,
    });
    ics.send();
    const sent = stack.wire[0]!;
    const ringing = createResponse(sent, 180, 'Ringing', {
      toTag: 'fork1',
      headers: [
        { name: 'Contact', value: '<sip:phone@127.0.0.1:5070>' },
        { name: 'Allow-Events', value: 'talk, hold' },
      ],
    });
    mgr.receiveResponse(ringing, PEER);
    expect(progress).toHaveLength(1);
    const results: InDialogResult[] = [];
    void ics
      .requestInEarlyDialog(progress[0]!, 'NOTIFY', {
        headers: [
          { name: 'Event', value: 'talk' },
          { name: 'Subscription-State', value: 'active' },
        ],
      })
      .then((r) => results.push(r));
    const notify = stack.wire[1]!;
    expect([notify.method, notify.uri, notify.cseq.seq, notify.cseq.method]).toEqual([
      'NOTIFY',
      'sip:phone@127.0.0.1:5070',
      8,
      'NOTIFY',
    ]);
    expect(notify.getHeader('To')).toBe('<sip:callee@127.0.0.1>;tag=fork1');
    expect(notify.getHeader('From')).toBe('<sip:sipserver@127.0.0.1>;tag=ourtag');
    expect(notify.callId).toBe('call-acker-1');
    expect(notify.getHeader('Event')).toBe('talk');
    expect(notify.getHeader('Subscription-State')).toBe('active');
    expect(notify.getHeader('Contact')).toBe('<sip:sipserver@127.0.0.1:5060>');
    mgr.receiveResponse(createResponse(notify, 200, 'OK'), PEER);
    await Promise.resolve();
    expect(results.map((r) => r.status)).toEqual([200]);
    mgr.receiveResponse(ok(sent, 'fork1'), PEER);
    expect(accepted).toHaveLength(1);
    expect(stack.acks[0]!.cseq.seq).toBe(7); // the ACK keeps the INVITE's CSeq (§13.2.2.4)
    void accepted[0]!.reinvite('v=0\r\n');
    await new Promise((r) => setImmediate(r));
    expect(requestsSent(stack)).toEqual([
      'INVITE sip:callee@127.0.0.1:5070 7',
      'NOTIFY sip:phone@127.0.0.1:5070 8',
      'INVITE sip:fork1@127.0.0.1:5070 9',
    ]);
  });

  it('no early dialog: a 1xx without To tag, an INVITE already answered, or INVITE as the method → 481, nothing sent', async () => {
    const { mgr, stack, ua } = setup();
    const progress: SipResponse[] = [];
    const ics = ua.createInvite(invite(), PEER, {
      onProgress: (r) => progress.push(r),
      onAccepted: () => undefined,
      onRejected: () => undefined,
      onFailed: () => undefined,
    });
    ics.send();
    const sent = stack.wire[0]!;
    mgr.receiveResponse(createResponse(sent, 183, 'Session Progress'), PEER);
    expect((await ics.requestInEarlyDialog(progress[0]!, 'NOTIFY')).status).toBe(481);
    const tagged = createResponse(sent, 180, 'Ringing', { toTag: 'f1' });
    mgr.receiveResponse(tagged, PEER);
    expect((await ics.requestInEarlyDialog(progress[1]!, 'INVITE')).status).toBe(481);
    mgr.receiveResponse(ok(sent, 'f1'), PEER);
    expect((await ics.requestInEarlyDialog(progress[1]!, 'NOTIFY')).status).toBe(481);
    expect(requestsSent(stack)).toEqual(['INVITE sip:callee@127.0.0.1:5070 7']);
  });
});
