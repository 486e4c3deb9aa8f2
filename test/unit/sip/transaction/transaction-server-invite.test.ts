import { describe, expect, it } from 'vitest';
import { InviteServerTransaction } from '../../../../src/sip/transaction/transaction-server-invite.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import { SipResponseMessage } from '../../../../src/sip/message/sip-response-message.js';
import { context, RecordingServerSender, request, response } from './fixtures.js';

function setup(reliable: boolean, timers?: { trying100Delay?: number; t1?: number; t2?: number; t4?: number }) {
  const ctx = context(timers);
  const sender = new RecordingServerSender(reliable, ctx.clock);
  const req = request({ method: 'INVITE' });
  const tx = new InviteServerTransaction(ctx, req, 'k', sender);
  const events: string[] = [];
  tx.user = {
    onTerminated: () => events.push('terminated'),
    onTimeout: () => events.push('timeout'),
    onAck: (ack) => events.push(`ack ${ack.method}`),
    onTransportError: (e) => events.push(`error ${e.message}`),
  };
  tx.start();
  const ack = request({ method: 'ACK', cseqMethod: 'ACK', toTag: 'totag9' });
  return { clock: ctx.clock, sender, req, tx, events, ack };
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('sends 100 Trying after 200 ms when the TU is silent', () => {
    const { tx, sender, clock } = setup(false);
    expect(tx.state).toBe(TransactionState.Proceeding);
    clock.advance(199);
    expect(sender.sent).toHaveLength(0);
    clock.advance(1);
    expect(sender.statuses()).toEqual([100]);
    const trying = sender.sent[0]!.text;
    expect(trying.startsWith('SIP/2.0 100 Trying\r\n')).toBe(true);
    expect(trying).toContain('\r\nTo: <sip:bob@127.0.0.1>\r\n'); // no tag on 100
  });

  it('sends no 100 when the TU answers within 200 ms', () => {
    const { tx, sender, clock, req } = setup(false);
    clock.advance(50);
    tx.respond(response(req, 180));
    clock.advance(1000);
    expect(sender.statuses()).toEqual([180]);
  });

  it('trying100Delay 0 sends 100 Trying at once', () => {
    const { sender } = setup(false, { trying100Delay: 0 });
    expect(sender.statuses()).toEqual([100]);
  });

  it('a retransmitted INVITE in Proceeding gets the last provisional again (nothing before any)', () => {
    const { tx, sender, req } = setup(false);
    tx.receiveRequest(req);
    expect(sender.sent).toHaveLength(0);
    tx.respond(response(req, 180));
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([180, 180]);
  });

  it('3xx–6xx: Completed; timer G retransmits at T1, 2T1 … capped at T2; timer H (64·T1) ends it', () => {
    const { tx, sender, req, clock, events } = setup(false);
    tx.respond(response(req, 486));
    expect(tx.state).toBe(TransactionState.Completed);
    expect(tx.runningTimers.sort()).toEqual(['G', 'H']);
    clock.advance(31_999);
    expect(sender.times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(sender.statuses().every((s) => s === 486)).toBe(true);
    expect(sender.sent.slice(1).every((s) => s.resend && s.text === sender.sent[0]!.text)).toBe(true);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated', 'timeout']);
    expect(clock.pending).toBe(0);
  });

  it('a retransmitted INVITE in Completed gets the final response again', () => {
    const { tx, sender, req } = setup(false);
    tx.respond(response(req, 404));
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([404, 404]);
  });

  it('ACK in Completed: Confirmed, G and H stop, timer I = T4 absorbs further ACKs, then Terminated', () => {
    const { tx, sender, req, clock, events, ack } = setup(false);
    tx.respond(response(req, 404));
    clock.advance(600); // one retransmission at 500
    tx.receiveRequest(ack);
    expect(tx.state).toBe(TransactionState.Confirmed);
    expect(tx.runningTimers).toEqual(['I']);
    tx.receiveRequest(ack);
    tx.receiveRequest(req); // INVITE retransmission in Confirmed: absorbed
    clock.advance(4_999);
    expect(tx.state).toBe(TransactionState.Confirmed);
    expect(sender.times()).toEqual([0, 500]);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated']);
  });

  it('TCP: no timer G; ACK terminates at once (timer I = 0); H still guards a missing ACK', () => {
    const a = setup(true);
    a.tx.respond(response(a.req, 486));
    expect(a.tx.runningTimers).toEqual(['H']);
    a.tx.receiveRequest(a.ack);
    expect(a.tx.state).toBe(TransactionState.Terminated);
    const b = setup(true);
    b.tx.respond(response(b.req, 486));
    b.clock.advance(32_000);
    expect(b.sender.statuses()).toEqual([486]);
    expect(b.events).toEqual(['terminated', 'timeout']);
  });

  it('2xx: Accepted; INVITE retransmissions absorbed; TU 2xx retransmissions sent; ACK to the TU; timer L', () => {
    const { tx, sender, req, clock, events, ack } = setup(false);
    const ok = response(req, 200);
    tx.respond(ok);
    expect(tx.state).toBe(TransactionState.Accepted);
    expect(tx.runningTimers).toEqual(['L']);
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([200]);
    tx.respond(ok);
    expect(tx.respond(response(req, 486))).toBe(false); // not a 2xx: refused in Accepted
    expect(sender.statuses()).toEqual([200, 200]);
    tx.receiveRequest(ack);
    expect(events).toEqual(['ack ACK']);
    clock.advance(31_999);
    expect(tx.state).toBe(TransactionState.Accepted);
    clock.advance(1);
    expect(tx.state).toBe(TransactionState.Terminated);
  });

  it('a 1xx after the 100 keeps Proceeding; responding after a final is refused', () => {
    const { tx, req } = setup(false);
    tx.respond(response(req, 180));
    expect(tx.state).toBe(TransactionState.Proceeding);
    tx.respond(response(req, 404));
    expect(tx.respond(response(req, 500))).toBe(false);
    expect(tx.lastStatus).toBe(404);
    expect(tx.lastResponse).toBeUndefined();
  });

  it('transport error terminates and tells the TU (RFC 3261 §17.2.4)', () => {
    const { tx, sender, req, events } = setup(true);
    sender.failWith = new Error('reset');
    tx.respond(response(req, 486));
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated', 'error reset']);
  });

  it("Accepted keeps no INVITE and no response bytes: INVITE retransmissions are absorbed, the TU's 2xx goes out byte for byte", () => {
    const { tx, sender, req, clock, events, ack } = setup(false);
    clock.advance(200); // 100 Trying
    const ok = response(req, 200, 'oktag');
    tx.respond(ok);
    expect(tx.state).toBe(TransactionState.Accepted);
    expect(() => tx.request).toThrow(/released/);
    expect(tx.lastResponse).toBeUndefined();
    expect([tx.lastStatus, tx.lastToTag]).toEqual([200, 'oktag']);
    clock.advance(500);
    tx.receiveRequest(req);
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([100, 200]);
    tx.respond(ok); // the TU's retransmission (RFC 3261 §13.3.1.4)
    expect(sender.sent.map((s) => [s.status, s.resend])).toEqual([
      [100, false],
      [200, false],
      [200, false],
    ]);
    expect(sender.sent[2]!.text).toBe(sender.sent[1]!.text);
    tx.receiveRequest(ack);
    expect(events).toEqual(['ack ACK']);
  });

  it('Completed keeps only the final response bytes, in a buffer of their own; each INVITE retransmission gets them again', () => {
    const { tx, sender, req, clock } = setup(false);
    const resent: Buffer[] = [];
    const resend = sender.resend.bind(sender);
    sender.resend = (bytes, onError) => {
      resent.push(bytes);
      resend(bytes, onError);
    };
    tx.respond(response(req, 486, 'busytag'));
    expect(() => tx.request).toThrow(/released/);
    expect(tx.lastResponse).toBeUndefined();
    expect([tx.lastStatus, tx.lastToTag]).toEqual([486, 'busytag']);
    clock.advance(100);
    tx.receiveRequest(req);
    clock.advance(100);
    tx.receiveRequest(req);
    expect(sender.sent.map((s) => [s.at, s.status, s.resend])).toEqual([
      [0, 486, false],
      [100, 486, true],
      [200, 486, true],
    ]);
    expect(new Set(sender.sent.map((s) => s.text)).size).toBe(1);
    clock.advance(300); // timer G (T1) retransmits the same bytes
    expect(sender.sent.map((s) => [s.at, s.resend])).toEqual([
      [0, false],
      [100, true],
      [200, true],
      [500, true],
    ]);
    expect(sender.sent[3]!.text).toBe(sender.sent[0]!.text);
    expect(resent[0]!.buffer.byteLength).toBe(resent[0]!.length); // not a slice of a shared block
  });

  it("a final response whose To does not parse (the copy of a malformed request's) still completes the machine", () => {
    const { tx, sender, req, clock, events } = setup(false);
    const bad = new SipResponseMessage(400, 'Bad Request', [
      { name: 'Via', value: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc123' },
      { name: 'From', value: '<sip:alice@127.0.0.1>;tag=fromtag1' },
      { name: 'To', value: '<sip:bob@127.0.0.1' },
      { name: 'Call-ID', value: 'call-1@127.0.0.1' },
      { name: 'CSeq', value: '1 INVITE' },
    ]);
    expect(() => bad.to).toThrow();
    expect(tx.respond(bad)).toBe(true);
    expect(tx.state).toBe(TransactionState.Completed);
    expect([tx.lastStatus, tx.lastToTag]).toEqual([400, '']);
    tx.receiveRequest(req);
    expect(sender.statuses()).toEqual([400, 400]);
    clock.advance(32_000); // timer H: no ACK
    expect(tx.state).toBe(TransactionState.Terminated);
    expect(events).toEqual(['terminated', 'timeout']);
  });
});
