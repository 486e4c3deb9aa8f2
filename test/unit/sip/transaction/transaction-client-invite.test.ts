import { describe, expect, it } from 'vitest';
import { InviteClientTransaction } from '../../../../src/sip/transaction/transaction-client-invite.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import type { SipResponse } from '../../../../src/sip/message/types.js';
import type { Accepted2xxHandler } from '../../../../src/sip/transaction/transaction-types.js';
import { context, RecordingClientSender, RecordingClientUser, request, response } from './fixtures.js';

/** A TU that hands the 2xx after the first one to a small handler (RFC 6026 §7.2). */
class HandingOverUser extends RecordingClientUser {
  readonly handled: string[] = [];
  readonly handler: Accepted2xxHandler = {
    on2xx: (r: SipResponse) =>
      this.handled.push(`2xx ${r.status} ${r.to.params.find(([n]) => n === 'tag')?.[1] ?? ''}`),
  };
  handOver2xx(): Accepted2xxHandler {
    return this.handler;
  }
}

function setup(reliable: boolean, timers?: { t1?: number; t2?: number; timerD?: number }) {
  const ctx = context(timers);
  const sender = new RecordingClientSender(reliable, ctx.clock);
  const user = new RecordingClientUser();
  const req = request({ method: 'INVITE', route: '<sip:proxy.example;lr>' });
  const tx = new InviteClientTransaction(ctx, req, 'k', sender, user);
  return { ctx, clock: ctx.clock, sender, user, req, tx };
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  it('starts in Calling, sends the INVITE, runs timers A and B over UDP', () => {
    const { tx, sender } = setup(false);
    expect(tx.state).toBe(TransactionState.Calling);
    tx.start();
    expect(sender.times()).toEqual([0]);
    expect(tx.runningTimers.sort()).toEqual(['A', 'B']);
  });

  it('UDP: timer A doubles with no T2 cap (0.5, 1, 2, 4, 8, 16 s); timer B times out at 64·T1', () => {
    const { tx, sender, user, clock } = setup(false);
    tx.start();
    clock.advance(31_999);
    expect(sender.times()).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(user.events).toEqual([]);
    clock.advance(1);
    expect(user.events).toEqual(['timeout']);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(clock.pending).toBe(0);
  });

  it('TCP: no timer A; timer B still fires', () => {
    const { tx, sender, user, clock } = setup(true);
    tx.start();
    expect(tx.runningTimers).toEqual(['B']);
    clock.advance(32_000);
    expect(sender.times()).toEqual([0]);
    expect(user.events).toEqual(['timeout']);
  });

  it('a 1xx stops retransmission and timer B: Calling → Proceeding, no timeout after 64·T1', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    clock.advance(600);
    tx.receiveResponse(response(req, 180));
    expect(tx.state).toBe(TransactionState.Proceeding);
    expect(tx.runningTimers).toEqual([]);
    clock.advance(60_000);
    expect(sender.times()).toEqual([0, 500]);
    expect(user.events).toEqual(['provisional 180']);
    tx.receiveResponse(response(req, 183));
    expect(user.events).toEqual(['provisional 180', 'provisional 183']);
  });

  it('non-2xx final: builds the ACK of §17.1.1.3, passes the response up once, timer D = 32 s on UDP', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    clock.advance(100);
    const busy = response(req, 486, 'busytag');
    tx.receiveResponse(busy);
    expect(tx.state).toBe(TransactionState.Completed);
    expect(user.events).toEqual(['final 486']);
    expect(sender.sent).toHaveLength(2);
    const ack = sender.sent[1]!.msg;
    expect(ack.method).toBe('ACK');
    expect(ack.uri).toBe(req.uri);
    expect(ack.getHeaders('Via')).toEqual([req.getHeaders('Via')[0]]);
    expect(ack.via.branch).toBe(req.via.branch);
    expect(ack.getHeader('To')).toBe('<sip:bob@127.0.0.1>;tag=busytag');
    expect(ack.getHeader('From')).toBe(req.getHeader('From'));
    expect(ack.callId).toBe(req.callId);
    expect(ack.cseq).toEqual({ seq: req.cseq.seq, method: 'ACK' });
    expect(ack.getHeaders('Route')).toEqual(['<sip:proxy.example;lr>']);
    expect(ack.body.length).toBe(0);
    expect(tx.runningTimers).toEqual(['D']);
    // Retransmitted 486: ACK again, the TU hears nothing.
    clock.advance(1000);
    tx.receiveResponse(busy);
    expect(sender.sent.map((s) => s.msg.method)).toEqual(['INVITE', 'ACK', 'ACK']);
    expect(user.events).toEqual(['final 486']);
    clock.advance(32_000 - 1000 - 1);
    expect(tx.state).toBe(TransactionState.Completed);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('timer D follows its setting', () => {
    const { tx, clock, req } = setup(false, { timerD: 40_000 });
    tx.start();
    tx.receiveResponse(response(req, 500));
    clock.advance(39_999);
    expect(tx.state).toBe(TransactionState.Completed);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('non-2xx in Proceeding → Completed with ACK', () => {
    const { tx, sender, user, req } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 100));
    tx.receiveResponse(response(req, 603));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(sender.sent.map((s) => s.msg.method)).toEqual(['INVITE', 'ACK']);
    expect(user.events).toEqual(['provisional 100', 'final 603']);
  });

  it('TCP: non-2xx final sends the ACK and terminates at once (timer D = 0)', () => {
    const { tx, sender, clock, req } = setup(true);
    tx.start();
    tx.receiveResponse(response(req, 404));
    expect(sender.sent.map((s) => s.msg.method)).toEqual(['INVITE', 'ACK']);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(clock.pending).toBe(0);
  });

  it('2xx: Accepted (RFC 6026), no ACK from the transaction, every 2xx passed up, timer M = 64·T1', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    clock.advance(200);
    const ok = response(req, 200);
    tx.receiveResponse(ok);
    expect(tx.state).toBe(TransactionState.Accepted);
    expect(tx.runningTimers).toEqual(['M']);
    tx.receiveResponse(ok);
    tx.receiveResponse(response(req, 180)); // ignored in Accepted
    expect(user.events).toEqual(['final 200', 'final 200']);
    expect(sender.sent.map((s) => s.msg.method)).toEqual(['INVITE']);
    clock.advance(31_999);
    expect(tx.state).toBe(TransactionState.Accepted);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('2xx in Proceeding → Accepted; 1xx after it is ignored', () => {
    const { tx, user, req, clock } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 180));
    tx.receiveResponse(response(req, 200));
    expect(tx.state).toBe(TransactionState.Accepted);
    tx.receiveResponse(response(req, 183));
    expect(user.events).toEqual(['provisional 180', 'final 200']);
    clock.advance(32_000);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('transport error in Proceeding is reported too', () => {
    const { tx, sender, user, req } = setup(true);
    tx.start();
    tx.receiveResponse(response(req, 100));
    sender.failLater(new Error('EPIPE'));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['provisional 100', 'transport-error EPIPE']);
  });

  it('whenProceeding: waits for the first 1xx (CANCEL, RFC 3261 §9.1); runs at once in Proceeding; dropped on a final', () => {
    const a = setup(false);
    a.tx.start();
    const ran: string[] = [];
    a.tx.whenProceeding(() => ran.push('a1'));
    expect(ran).toEqual([]);
    a.tx.receiveResponse(response(a.req, 100));
    expect(ran).toEqual(['a1']);
    a.tx.whenProceeding(() => ran.push('a2'));
    expect(ran).toEqual(['a1', 'a2']);
    const b = setup(false);
    b.tx.start();
    b.tx.whenProceeding(() => ran.push('b'));
    b.tx.receiveResponse(response(b.req, 486));
    b.tx.whenProceeding(() => ran.push('b-late'));
    expect(ran).toEqual(['a1', 'a2']);
  });

  it('transport error in Calling is reported (RFC 3261 §17.1.4)', () => {
    const { tx, sender, user, clock } = setup(true);
    tx.start();
    sender.failLater(new Error('ECONNRESET'));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['transport-error ECONNRESET']);
    expect(clock.pending).toBe(0);
  });

  it('transport error while sending the ACK in Completed terminates silently', () => {
    const { tx, sender, user, req } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 486));
    sender.failLater(new Error('boom'));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['final 486']);
  });

  it('Accepted with a handler from the TU: further 2xx (retransmission or fork) go to it, the TU hears nothing, the INVITE is released', () => {
    const ctx = context();
    const sender = new RecordingClientSender(false, ctx.clock);
    const user = new HandingOverUser();
    const req = request({ method: 'INVITE' });
    const tx = new InviteClientTransaction(ctx, req, 'k', sender, user);
    tx.start();
    ctx.clock.advance(100);
    tx.receiveResponse(response(req, 180));
    tx.receiveResponse(response(req, 200, 'fork1'));
    expect(tx.state).toBe(TransactionState.Accepted);
    expect(() => tx.request).toThrow(/released/);
    tx.receiveResponse(response(req, 200, 'fork1'));
    tx.receiveResponse(response(req, 200, 'fork2'));
    tx.receiveResponse(response(req, 486)); // not a 2xx: ignored in Accepted
    tx.receiveResponse(response(req, 180)); // ignored in Accepted
    expect(user.events).toEqual(['provisional 180', 'final 200']);
    expect(user.handled).toEqual(['2xx 200 fork1', '2xx 200 fork2']);
    expect(sender.sent.map((s) => s.msg.method)).toEqual(['INVITE']); // the transaction never ACKs a 2xx
    ctx.clock.advance(32_000 - 1);
    expect(tx.state).toBe(TransactionState.Accepted);
    ctx.clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
    tx.receiveResponse(response(req, 200, 'fork1'));
    expect(user.handled).toHaveLength(2);
  });

  it('Completed: the INVITE and the TU are released; each retransmitted non-2xx gets the identical ACK again', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    const busy = response(req, 486, 'busytag');
    tx.receiveResponse(busy);
    expect(() => tx.request).toThrow(/released/);
    const first = sender.sent[1]!.msg;
    clock.advance(5000);
    tx.receiveResponse(busy);
    clock.advance(5000);
    tx.receiveResponse(response(req, 486, 'busytag'));
    tx.receiveResponse(response(req, 200)); // a 2xx in Completed is dropped (RFC 3261 §17.1.1.2)
    expect(sender.sent.map((s) => [s.at, s.msg.method])).toEqual([
      [0, 'INVITE'],
      [0, 'ACK'],
      [5000, 'ACK'],
      [10_000, 'ACK'],
    ]);
    expect(sender.sent[2]!.msg).toBe(first);
    expect(sender.sent[3]!.msg.toString()).toBe(first.toString());
    expect(user.events).toEqual(['final 486']);
    sender.failLater(new Error('ICMP unreachable')); // a failed ACK ends it silently
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['final 486']);
  });
});
