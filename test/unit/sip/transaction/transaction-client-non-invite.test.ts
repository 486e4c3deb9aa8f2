import { describe, expect, it } from 'vitest';
import { NonInviteClientTransaction } from '../../../../src/sip/transaction/transaction-client-non-invite.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import { context, RecordingClientSender, RecordingClientUser, request, response } from './fixtures.js';

function setup(reliable: boolean, timers?: { t1?: number; t2?: number; t4?: number }) {
  const ctx = context(timers);
  const sender = new RecordingClientSender(reliable, ctx.clock);
  const user = new RecordingClientUser();
  const req = request({ method: 'OPTIONS' });
  const tx = new NonInviteClientTransaction(ctx, req, 'k', sender, user);
  return { ctx, clock: ctx.clock, sender, user, req, tx };
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('starts in Trying and sends the request once at once', () => {
    const { tx, sender } = setup(false);
    expect(tx.state).toBe(TransactionState.Trying);
    tx.start();
    expect(sender.times()).toEqual([0]);
    expect(tx.runningTimers.sort()).toEqual(['E', 'F']);
  });

  it('UDP: timer E retransmits at T1, 2T1, 4T1 … capped at T2, then timer F (64·T1) times out', () => {
    const { tx, sender, user, clock } = setup(false);
    tx.start();
    clock.advance(31_999);
    // Intervals 500, 1000, 2000, 4000, 4000, … → sends at 0, 0.5, 1.5, 3.5, 7.5, 11.5, … 31.5 s
    expect(sender.times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(user.events).toEqual([]);
    clock.advance(1);
    expect(user.events).toEqual(['timeout']);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(clock.pending).toBe(0);
  });

  it('uses configured T1/T2 (T1=100, T2=400: intervals 100, 200, 400, 400; F at 6.4 s)', () => {
    const { tx, sender, user, clock } = setup(false, { t1: 100, t2: 400 });
    tx.start();
    clock.advance(1500);
    expect(sender.times()).toEqual([0, 100, 300, 700, 1100, 1500]);
    clock.advance(6400 - 1500 - 1);
    expect(user.events).toEqual([]);
    clock.advance(1);
    expect(user.events).toEqual(['timeout']);
  });

  it('TCP: no retransmission, timer F still times out at 64·T1', () => {
    const { tx, sender, user, clock } = setup(true);
    tx.start();
    expect(tx.runningTimers).toEqual(['F']);
    clock.advance(32_000);
    expect(sender.times()).toEqual([0]);
    expect(user.events).toEqual(['timeout']);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('1xx moves Trying → Proceeding and is passed up; retransmissions continue, at T2 intervals', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    clock.advance(600); // sends at 0, 500; next E due at 1500 (interval 1000)
    tx.receiveResponse(response(req, 100));
    expect(tx.state).toBe(TransactionState.Proceeding);
    expect(user.events).toEqual(['provisional 100']);
    clock.advance(10_000 - 600);
    // In Proceeding, E fires at 1500, then every T2 = 4000 ms: 5500, 9500
    expect(sender.times()).toEqual([0, 500, 1500, 5500, 9500]);
    tx.receiveResponse(response(req, 180));
    expect(user.events).toEqual(['provisional 100', 'provisional 180']);
    expect(tx.state).toBe(TransactionState.Proceeding);
  });

  it('a 1xx does not stop timer F: Proceeding still times out at 64·T1', () => {
    const { tx, user, clock, req } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 100));
    clock.advance(32_000);
    expect(user.events).toEqual(['provisional 100', 'timeout']);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('final response: Trying → Completed, passed up once; stops E and F; timer K = T4 on UDP', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    clock.advance(100);
    tx.receiveResponse(response(req, 200));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(tx.runningTimers).toEqual(['K']);
    tx.receiveResponse(response(req, 200)); // retransmission absorbed
    clock.advance(4_999);
    expect(tx.state).toBe(TransactionState.Completed);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['final 200']);
    expect(sender.times()).toEqual([0]);
  });

  it('final response in Proceeding → Completed', () => {
    const { tx, user, req } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 100));
    tx.receiveResponse(response(req, 404));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(user.events).toEqual(['provisional 100', 'final 404']);
  });

  it('TCP: final response terminates at once (timer K = 0)', () => {
    const { tx, user, clock, req } = setup(true);
    tx.start();
    tx.receiveResponse(response(req, 503));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['final 503']);
    expect(clock.pending).toBe(0);
  });

  it('a transport error is reported to the TU and terminates (RFC 3261 §17.1.4)', () => {
    const { tx, sender, user, clock } = setup(true);
    tx.start();
    sender.failLater(new Error('ECONNREFUSED'));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['transport-error ECONNREFUSED']);
    expect(clock.pending).toBe(0);
  });

  it('a synchronous send failure on start terminates without starting timers', () => {
    const { tx, sender, user, clock } = setup(false);
    sender.failWith = new Error('no route');
    tx.start();
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(user.events).toEqual(['transport-error no route']);
    expect(clock.pending).toBe(0);
  });

  it('termination hooks run exactly once', () => {
    const { tx, clock } = setup(false);
    let n = 0;
    tx.onTermination(() => n++);
    tx.start();
    clock.advance(40_000);
    expect(n).toBe(1);
  });

  it('Completed (timer K): the request is released, retransmitted finals are absorbed, a late transport error is ignored', () => {
    const { tx, sender, user, clock, req } = setup(false);
    tx.start();
    tx.receiveResponse(response(req, 404));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(() => tx.request).toThrow(/released/);
    clock.advance(1000);
    tx.receiveResponse(response(req, 404));
    tx.receiveResponse(response(req, 200));
    sender.failLater(new Error('late'));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(user.events).toEqual(['final 404']);
    expect(sender.times()).toEqual([0]);
    clock.advance(4000);
    expect(tx.state).toBe(TransactionState.Terminated);
  });
});
