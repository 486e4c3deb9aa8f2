/**
 * The 2xx of an outgoing INVITE after the first one, through a real INVITE client transaction on
 * a fake clock: the transaction keeps only the small `Invite2xxAcker` while Accepted
 * (RFC 6026 §7.2), which answers retransmissions with the same ACK and other forks with
 * ACK + BYE (RFC 3261 §13.2.2.4), also after the call ended.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/index.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import type { InviteSession } from '../../../../src/sip/dialog/invite-session.js';
import { invite, ok, PEER, requestsSent, setup } from './manager-stack.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('Invite2xxAcker: 2xx after the first one, while the INVITE client transaction is Accepted', () => {
  it('retransmitted 2xx: the identical ACK again, from the acker, also after the call ended; another fork: ACK + BYE once', () => {
    const { clock, mgr, stack, ua } = setup();
    const accepted: InviteSession[] = [];
    const ics = ua.createInvite(invite(), PEER, {
      onAccepted: (s) => accepted.push(s),
      onRejected: () => undefined,
      onFailed: () => undefined,
    });
    ics.send();
    const sent = stack.wire[0]!;
    const first = ok(sent, 'fork1');
    mgr.receiveResponse(first, PEER);
    expect(accepted).toHaveLength(1);
    expect(stack.acks).toHaveLength(1);
    const ack = stack.acks[0]!;
    expect([ack.method, ack.uri, ack.cseq.seq, ack.getHeader('To')]).toEqual([
      'ACK',
      'sip:fork1@127.0.0.1:5070',
      7,
      '<sip:callee@127.0.0.1>;tag=fork1',
    ]);
    const tx = mgr.findClientTransaction(sent)!;
    expect(tx.state).toBe(TransactionState.Accepted);
    expect(() => tx.request).toThrow(/released/);
    clock.advance(500);
    mgr.receiveResponse(ok(sent, 'fork1'), PEER);
    expect(stack.acks).toEqual([ack, ack]); // the same ACK object: same bytes, same branch
    // The call ends (BYE), its dialog goes; the transaction is still Accepted (timer M).
    void accepted[0]!.bye();
    expect(requestsSent(stack)).toEqual(['INVITE sip:callee@127.0.0.1:5070 7', 'BYE sip:fork1@127.0.0.1:5070 8']);
    expect(ua.size).toBe(0);
    clock.advance(10_000);
    mgr.receiveResponse(ok(sent, 'fork1'), PEER);
    expect(stack.acks).toEqual([ack, ack, ack]);
    // A second fork answers: ACK to it, then BYE; its retransmission gets that ACK again, no second BYE.
    mgr.receiveResponse(ok(sent, 'fork2'), PEER);
    expect(stack.acks).toHaveLength(4);
    const forkAck = stack.acks[3]!;
    expect([forkAck.uri, forkAck.cseq.seq, forkAck.getHeader('To')]).toEqual([
      'sip:fork2@127.0.0.1:5070',
      7,
      '<sip:callee@127.0.0.1>;tag=fork2',
    ]);
    expect(requestsSent(stack)).toEqual([
      'INVITE sip:callee@127.0.0.1:5070 7',
      'BYE sip:fork1@127.0.0.1:5070 8',
      'BYE sip:fork2@127.0.0.1:5070 8',
    ]);
    mgr.receiveResponse(ok(sent, 'fork2'), PEER);
    expect(stack.acks[4]).toBe(forkAck);
    expect(requestsSent(stack)).toHaveLength(3);
    clock.advance(32_000 - 10_500);
    expect(tx.state).toBe(TransactionState.Terminated); // timer M
    mgr.receiveResponse(ok(sent, 'fork1'), PEER); // stray now: nothing
    expect(stack.acks).toHaveLength(5);
  });

  it('late offer: a 2xx retransmission before the TU answered gets nothing; after, the ACK with the answer', () => {
    const { mgr, stack, ua } = setup();
    let ackAnswer: ((answer: string | Buffer) => void) | undefined;
    ua.createInvite(invite(''), PEER, {
      onAccepted: (_s, _r, a) => (ackAnswer = a),
      onRejected: () => undefined,
      onFailed: () => undefined,
    }).send();
    const sent = stack.wire[0]!;
    mgr.receiveResponse(ok(sent, 'f1', 'v=0\r\no=offer\r\n'), PEER);
    mgr.receiveResponse(ok(sent, 'f1', 'v=0\r\no=offer\r\n'), PEER);
    expect(stack.acks).toHaveLength(0);
    ackAnswer!('v=0\r\no=answer\r\n');
    ackAnswer!('v=0\r\no=answer\r\n'); // a second call sends nothing
    mgr.receiveResponse(ok(sent, 'f1', 'v=0\r\no=offer\r\n'), PEER);
    expect(stack.acks).toHaveLength(2);
    expect(stack.acks[1]).toBe(stack.acks[0]);
    expect(stack.acks[0]!.body.toString()).toBe('v=0\r\no=answer\r\n');
  });

  it('the transaction in Accepted does not keep the session, its delegate or the INVITE alive', async () => {
    const { mgr, stack, ua } = setup();
    const refs: Array<WeakRef<object>> = [];
    (() => {
      const delegate = {
        onAccepted: (s: InviteSession) => void s.bye(),
        onRejected: () => undefined,
        onFailed: () => undefined,
      };
      const ics = ua.createInvite(invite(), PEER, delegate);
      ics.send();
      mgr.receiveResponse(ok(stack.wire[0]!, 'fork1'), PEER);
      const bye = stack.wire[1]!;
      expect(bye.method).toBe('BYE');
      mgr.receiveResponse(createResponse(bye, 200, 'OK'), PEER); // BYE client transaction: Completed (timer K)
      refs.push(new WeakRef(ics), new WeakRef(delegate), new WeakRef(ics.established!), new WeakRef(ics.request));
    })();
    const inviteTx = mgr.findClientTransaction(stack.wire[0]!)!;
    expect(inviteTx.state).toBe(TransactionState.Accepted);
    stack.wire.length = 0; // the test's own record of the INVITE
    for (let i = 0; i < 10 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((r) => setTimeout(r, 5));
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true, true, true]);
    expect(inviteTx.state).toBe(TransactionState.Accepted);
  });
});
