import { describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse, TransportAddress } from '../../../../src/sip/message/types.js';
import { TransactionManager, type ServerTransaction } from '../../../../src/sip/transaction/transaction-manager.js';
import { TransactionState } from '../../../../src/sip/transaction/transaction-state.js';
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { RecordingClientSender, RecordingClientUser, RecordingServerSender, request, response } from './fixtures.js';

const SRC: TransportAddress = { transport: 'udp', host: '127.0.0.1', port: 5070 };

function setup() {
  const clock = new FakeClock(0);
  const news: Array<{ req: SipRequest; tx: ServerTransaction }> = [];
  const acks: SipRequest[] = [];
  const strays: SipResponse[] = [];
  const mgr = new TransactionManager({
    clock,
    logger: silentLogger,
    delegate: {
      onRequest: (req, tx) => news.push({ req, tx: tx! }),
      onAck: (ack) => acks.push(ack),
      onStrayResponse: (res) => strays.push(res),
    },
  });
  const sender = new RecordingServerSender(false, clock);
  return { clock, mgr, news, acks, strays, sender };
}

describe('transaction manager: server matching (RFC 3261 §17.2.3)', () => {
  it('a retransmission (same branch, sent-by, method) goes to the existing transaction', () => {
    const { mgr, news, sender } = setup();
    const req = request({ method: 'OPTIONS' });
    mgr.receiveRequest(req, SRC, sender);
    news[0]!.tx.respond(response(req, 200));
    mgr.receiveRequest(request({ method: 'OPTIONS' }), SRC, sender);
    expect(news).toHaveLength(1);
    expect(sender.statuses()).toEqual([200, 200]);
  });

  it('same branch from another sent-by, or another method, is a new transaction', () => {
    const { mgr, news, sender } = setup();
    mgr.receiveRequest(request({ method: 'OPTIONS' }), SRC, sender);
    mgr.receiveRequest(request({ method: 'OPTIONS', viaHost: '127.0.0.2:5070' }), SRC, sender);
    mgr.receiveRequest(request({ method: 'INVITE' }), SRC, sender);
    expect(news.map((n) => n.req.method)).toEqual(['OPTIONS', 'OPTIONS', 'INVITE']);
    expect(mgr.size.server).toBe(3);
  });

  it('the ACK of a non-2xx matches the INVITE transaction and is absorbed (not passed up)', () => {
    const { mgr, news, acks, sender } = setup();
    const inv = request();
    mgr.receiveRequest(inv, SRC, sender);
    const tx = news[0]!.tx;
    tx.respond(response(inv, 404));
    mgr.receiveRequest(request({ method: 'ACK', cseqMethod: 'ACK', toTag: 'totag9' }), SRC, sender);
    expect(tx.state).toBe(TransactionState.Confirmed);
    expect(acks).toHaveLength(0);
  });

  it('an ACK with another branch (2xx ACK) goes to the delegate', () => {
    const { mgr, acks, sender } = setup();
    mgr.receiveRequest(request({ method: 'ACK', cseqMethod: 'ACK', branch: 'z9hG4bKother' }), SRC, sender);
    expect(acks).toHaveLength(1);
    expect(mgr.size.server).toBe(0);
  });

  it('CANCEL is its own transaction; findInviteForCancel finds the INVITE by branch', () => {
    const { mgr, news, sender } = setup();
    mgr.receiveRequest(request(), SRC, sender);
    const cancel = request({ method: 'CANCEL' });
    mgr.receiveRequest(cancel, SRC, sender);
    expect(news.map((n) => n.req.method)).toEqual(['INVITE', 'CANCEL']);
    expect(mgr.findInviteForCancel(cancel)).toBe(news[0]!.tx);
    expect(mgr.findInviteForCancel(request({ method: 'CANCEL', branch: 'z9hG4bKnomatch' }))).toBeUndefined();
  });

  it('RFC 2543 fallback (no magic cookie): matches on R-URI, From tag, Call-ID, CSeq, top Via', () => {
    const { mgr, news, acks, sender } = setup();
    const inv = request({ branch: 'oldstyle1' });
    mgr.receiveRequest(inv, SRC, sender);
    mgr.receiveRequest(request({ branch: 'oldstyle1' }), SRC, sender); // retransmission
    mgr.receiveRequest(request({ branch: 'oldstyle1', cseq: 2 }), SRC, sender); // new request
    expect(news).toHaveLength(2);
    const tx = news[0]!.tx;
    tx.respond(response(inv, 486, 'ourtag'));
    // ACK with a different To tag does not match.
    mgr.receiveRequest(request({ method: 'ACK', cseqMethod: 'ACK', branch: 'oldstyle1', toTag: 'wrong' }), SRC, sender);
    expect(acks).toHaveLength(1);
    expect(tx.state).toBe(TransactionState.Completed);
    mgr.receiveRequest(
      request({ method: 'ACK', cseqMethod: 'ACK', branch: 'oldstyle1', toTag: 'ourtag' }),
      SRC,
      sender,
    );
    expect(tx.state).toBe(TransactionState.Confirmed);
    expect(mgr.findInviteForCancel(request({ method: 'CANCEL', branch: 'oldstyle1' }))).toBe(tx);
  });

  it('a bare "z9hG4bK" branch uses RFC 2543 matching (RFC 4475 §3.2.1)', () => {
    const { mgr, news, sender } = setup();
    mgr.receiveRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK' }), SRC, sender);
    mgr.receiveRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK', callId: 'other' }), SRC, sender);
    mgr.receiveRequest(request({ method: 'OPTIONS', branch: 'z9hG4bK' }), SRC, sender);
    expect(news).toHaveLength(2);
  });

  it('terminated transactions leave the table', () => {
    const { mgr, news, sender, clock } = setup();
    const req = request({ method: 'OPTIONS' });
    mgr.receiveRequest(req, SRC, sender);
    news[0]!.tx.respond(response(req, 200));
    expect(mgr.size.server).toBe(1);
    clock.advance(32_000);
    expect(mgr.size.server).toBe(0);
    // After Timer J the same branch is a new request again.
    mgr.receiveRequest(request({ method: 'OPTIONS' }), SRC, sender);
    expect(news).toHaveLength(2);
  });
});

describe('transaction manager: client matching (RFC 3261 §17.1.3)', () => {
  it('responses go to the transaction with the same branch and CSeq method', () => {
    const { mgr, clock, strays } = setup();
    const inv = request({ branch: 'z9hG4bKclient1' });
    const user = new RecordingClientUser();
    mgr.sendRequest(inv, new RecordingClientSender(false, clock), user);
    const cancel = request({ method: 'CANCEL', branch: 'z9hG4bKclient1' });
    const cuser = new RecordingClientUser();
    mgr.sendRequest(cancel, new RecordingClientSender(false, clock), cuser);
    mgr.receiveResponse(response(cancel, 200), SRC);
    mgr.receiveResponse(response(inv, 487), SRC);
    mgr.receiveResponse(response(request({ branch: 'z9hG4bKunknown' }), 200), SRC);
    expect(cuser.events).toEqual(['final 200']);
    expect(user.events).toEqual(['final 487']);
    expect(strays.map((s) => s.status)).toEqual([200]);
  });

  it('refuses ACK and duplicate branches', () => {
    const { mgr, clock } = setup();
    const s = new RecordingClientSender(false, clock);
    expect(() => mgr.sendRequest(request({ method: 'ACK', cseqMethod: 'ACK' }), s, new RecordingClientUser())).toThrow(
      /ACK/,
    );
    mgr.sendRequest(request({ method: 'OPTIONS' }), s, new RecordingClientUser());
    expect(() => mgr.sendRequest(request({ method: 'OPTIONS' }), s, new RecordingClientUser())).toThrow(
      /already exists/,
    );
  });

  it('dispose terminates everything', () => {
    const { mgr, clock, news, sender } = setup();
    mgr.sendRequest(request({ method: 'OPTIONS' }), new RecordingClientSender(false, clock), new RecordingClientUser());
    mgr.receiveRequest(request({ method: 'INVITE' }), SRC, sender);
    mgr.dispose();
    expect(mgr.size).toEqual({ server: 0, client: 0 });
    expect(news[0]!.tx.state).toBe(TransactionState.Terminated);
    expect(clock.pending).toBe(0);
  });
});

describe('transaction manager: lazy non-INVITE server transactions', () => {
  it('hands non-INVITE requests up without a transaction until the TU creates one; INVITE always gets one', () => {
    const clock = new FakeClock(0);
    const got: Array<{ method: string; tx: ServerTransaction | undefined }> = [];
    const mgr = new TransactionManager({
      clock,
      logger: silentLogger,
      lazyNonInvite: true,
      delegate: { onRequest: (req, tx) => got.push({ method: req.method, tx }), onAck: () => undefined },
    });
    const sender = new RecordingServerSender(false, clock);
    const opt = request({ method: 'OPTIONS' });
    mgr.receiveRequest(opt, SRC, sender);
    mgr.receiveRequest(request({ method: 'INVITE' }), SRC, sender);
    expect(got.map((g) => [g.method, g.tx?.kind])).toEqual([
      ['OPTIONS', undefined],
      ['INVITE', 'ist'],
    ]);
    expect(mgr.size.server).toBe(1);
    // A retransmission before the TU created anything is a new delivery.
    mgr.receiveRequest(request({ method: 'OPTIONS' }), SRC, sender);
    expect(got).toHaveLength(3);
    const tx = mgr.createServerTransaction(opt, sender);
    expect(mgr.createServerTransaction(opt, sender)).toBe(tx);
    tx.respond(response(opt, 200));
    mgr.receiveRequest(request({ method: 'OPTIONS' }), SRC, sender);
    expect(got).toHaveLength(3);
    expect(sender.statuses()).toEqual([200, 200]);
  });
});
