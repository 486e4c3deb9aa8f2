import { describe, expect, it } from 'vitest';
import { NonInviteServerTransaction } from '../../../../src/sip/transaction/transaction-server-non-invite.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import { context, RecordingServerSender, request, response } from './fixtures.js';

function setup(reliable: boolean) {
  const ctx = context();
  const sender = new RecordingServerSender(reliable, ctx.clock);
  const req = request({ method: 'REGISTER' });
  const tx = new NonInviteServerTransaction(ctx, req, 'k', sender);
  const events: string[] = [];
  tx.user = {
    onTerminated: () => events.push('terminated'),
    onTransportError: (e) => events.push(`error ${e.message}`),
  };
  tx.start();
  return { clock: ctx.clock, sender, req, tx, events };
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('Trying absorbs retransmissions without answering', () => {
    const { tx, sender, req } = setup(false);
    expect(tx.state).toBe(TransactionState.Trying);
    tx.receiveRequest(req);
    tx.receiveRequest(req);
    expect(sender.sent).toHaveLength(0);
    expect(tx.runningTimers).toEqual([]);
  });

  it('1xx → Proceeding; a retransmission gets the last provisional again', () => {
    const { tx, sender, req } = setup(false);
    tx.respond(response(req, 100));
    expect(tx.state).toBe(TransactionState.Proceeding);
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([100, 100]);
  });

  it('final → Completed; retransmissions get the final again; timer J = 64·T1 on UDP', () => {
    const { tx, sender, req, clock, events } = setup(false);
    const resent: Buffer[] = [];
    const resend = sender.resend.bind(sender);
    sender.resend = (bytes, onError) => {
      resent.push(bytes);
      resend(bytes, onError);
    };
    tx.respond(response(req, 100));
    tx.respond(response(req, 200));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(tx.runningTimers).toEqual(['J']);
    clock.advance(10_000);
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([100, 200, 200]);
    expect(tx.respond(response(req, 500))).toBe(false);
    // Completed keeps only the bytes: request and response objects are released.
    expect(tx.lastStatus).toBe(200);
    expect(tx.lastResponse).toBeUndefined();
    expect(() => tx.request).toThrow(/released/);
    expect(sender.sent[2]!.resend).toBe(true);
    expect(sender.sent[2]!.text).toBe(sender.sent[1]!.text);
    expect(resent[0]!.buffer.byteLength).toBe(resent[0]!.length); // a buffer of their own, not a pool slice
    clock.advance(32_000 - 10_000 - 1);
    expect(tx.state).toBe(TransactionState.Completed);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated']);
  });

  it('final straight from Trying → Completed', () => {
    const { tx, sender, req } = setup(false);
    tx.respond(response(req, 404));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(sender.statuses()).toEqual([404]);
  });

  it('TCP: final terminates at once (timer J = 0)', () => {
    const { tx, req, clock, events } = setup(true);
    tx.respond(response(req, 200));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(clock.pending).toBe(0);
    expect(events).toEqual(['terminated']);
  });

  it('transport error while sending terminates and tells the TU (RFC 3261 §17.2.4)', () => {
    const { tx, sender, req, events } = setup(false);
    sender.failWith = new Error('unreachable');
    tx.respond(response(req, 200));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated', 'error unreachable']);
  });
});
