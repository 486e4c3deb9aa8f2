import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { createResponse } from '../../../../src/sip/message/index.js';
import { SipRequestMessage } from '../../../../src/sip/message/sip-request-message.js';
import type { HeaderField, SipRequest, SipResponse, TransportAddress } from '../../../../src/sip/message/types.js';
import type { ClientTransactionUser } from '../../../../src/sip/transaction/transaction-types.js';
import type { SentRequest, UasContext } from '../../../../src/sip/dialog/dialog-stack-port.js';
import { AckRecordingStack } from './ack-recording-stack.js';
import { DialogUserAgent } from '../../../../src/sip/dialog/dialog-user-agent.js';
import { Dialog } from '../../../../src/sip/dialog/dialog.js';
import { DialogState } from '../../../../src/sip/dialog/dialog-state.js';
import { InviteSession } from '../../../../src/sip/dialog/invite-session.js';

/** Records what the dialog layer puts on the wire; the test plays the peer. */
class RecordingStack extends AckRecordingStack {
  sent: Array<{ request: SipRequest; dest: TransportAddress; user: ClientTransactionUser }> = [];
  sendRequest(request: SipRequest, dest: TransportAddress, user: ClientTransactionUser): SentRequest {
    this.sent.push({ request, dest, user });
    return { request };
  }
}

/** A server-side context that records replies. */
class RecordingContext implements UasContext {
  replies: SipResponse[] = [];
  readonly source: TransportAddress = { transport: 'udp', host: '127.0.0.1', port: 5070 };
  readonly toTag = 'ourtag';
  constructor(readonly request: SipRequest) {}
  get finalSent(): boolean {
    return this.replies.some((r) => r.status >= 200);
  }
  createResponse(
    status: number,
    reason?: string,
    headers?: Array<[string, string]>,
    body?: Buffer | string,
  ): SipResponse {
    return createResponse(this.request, status, reason, {
      toTag: this.toTag,
      headers: (headers ?? []).map(([name, value]) => ({ name, value })),
      body,
    });
  }
  reply(status: number, reason?: string, headers?: Array<[string, string]>, body?: Buffer | string): SipResponse {
    const r = this.createResponse(status, reason, headers, body);
    this.replies.push(r);
    return r;
  }
  send(response: SipResponse): void {
    this.replies.push(response);
  }
  onCancel(): void {}
}

const h = (pairs: Array<[string, string]>): HeaderField[] => pairs.map(([name, value]) => ({ name, value }));

function setup(role: 'uac' | 'uas') {
  const clock = new FakeClock();
  const stack = new RecordingStack();
  const ua = new DialogUserAgent({ stack, clock, logger: silentLogger, random: () => 0.5 });
  const dialog = new Dialog({
    role,
    state: DialogState.Confirmed,
    id: { callId: 'c1', localTag: 'ourtag', remoteTag: 'peertag' },
    localSeq: 10,
    remoteSeq: 5,
    localHeader: '<sip:us@127.0.0.1>;tag=ourtag',
    remoteHeader: '<sip:peer@127.0.0.1>;tag=peertag',
    remoteTarget: 'sip:peer@127.0.0.1:5070',
    routeSet: [],
    secure: false,
    localContact: '<sip:sipserver@127.0.0.1:5060>',
  });
  const session = new InviteSession(ua, dialog);
  ua.register(session);
  return { clock, stack, ua, session };
}

/** A request from the peer in the dialog. */
function peerRequest(method: string, seq: number, body = ''): SipRequest {
  return new SipRequestMessage(
    method,
    'sip:sipserver@127.0.0.1:5060',
    h([
      ['Via', `SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKpeer${method}${seq}`],
      ['From', '<sip:peer@127.0.0.1>;tag=peertag'],
      ['To', '<sip:us@127.0.0.1>;tag=ourtag'],
      ['Call-ID', 'c1'],
      ['CSeq', `${seq} ${method}`],
      ['Contact', '<sip:peer@127.0.0.1:5070>'],
    ]),
    Buffer.from(body),
  );
}

function answer(req: SipRequest, status: number, body = ''): SipResponse {
  return createResponse(req, status, undefined, {
    toTag: 'peertag',
    headers: h([['Contact', '<sip:peer@127.0.0.1:5070>']]),
    body,
  });
}

const flush = () => new Promise((r) => setImmediate(r));

describe('InviteSession re-INVITE glare (RFC 3261 §14)', () => {
  it('491 to our re-INVITE: the Call-ID owner retries after 2.1–4 s (here 3.05 s) with a new CSeq', async () => {
    const { clock, stack, session } = setup('uac');
    const p = session.reinvite('v=0\r\n');
    await flush();
    expect(stack.sent).toHaveLength(1);
    const first = stack.sent[0]!;
    expect(first.request.cseq).toEqual({ seq: 11, method: 'INVITE' });
    first.user.onFinal(answer(first.request, 491));
    await flush();
    clock.advance(3049);
    await flush();
    expect(stack.sent).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(stack.sent).toHaveLength(2);
    const second = stack.sent[1]!;
    expect(second.request.cseq.seq).toBe(12);
    second.user.onFinal(answer(second.request, 200, 'v=0\r\n'));
    const r = await p;
    expect(r.status).toBe(200);
    expect(stack.acks).toHaveLength(1);
    expect(stack.acks[0]!.cseq).toEqual({ seq: 12, method: 'ACK' });
  });

  it('non-owner retries after 0–2 s (here 1 s)', async () => {
    const { clock, stack, session } = setup('uas');
    void session.reinvite('v=0\r\n');
    await flush();
    stack.sent[0]!.user.onFinal(answer(stack.sent[0]!.request, 491));
    await flush();
    clock.advance(999);
    await flush();
    expect(stack.sent).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(stack.sent).toHaveLength(2);
  });

  it('491 every time: three retries (four INVITEs, new CSeq each), then the 491 is the result and the dialog stays', async () => {
    const { clock, stack, session } = setup('uac');
    const p = session.reinvite('v=0\r\n');
    for (let i = 0; i < 4; i++) {
      await flush();
      expect(stack.sent).toHaveLength(i + 1);
      const sent = stack.sent[i]!;
      expect(sent.request.cseq).toEqual({ seq: 11 + i, method: 'INVITE' });
      sent.user.onFinal(answer(sent.request, 491));
      await flush();
      clock.advance(3050);
    }
    const r = await p;
    expect(r.status).toBe(491);
    await flush();
    clock.advance(10_000);
    await flush();
    expect(stack.sent).toHaveLength(4);
    expect(session.active).toBe(true);
  });

  it('a re-INVITE from the peer while ours is pending gets 491 (§14.2)', async () => {
    const { stack, ua, session } = setup('uac');
    void session.reinvite('v=0\r\n');
    await flush();
    expect(stack.sent).toHaveLength(1);
    const ctx = new RecordingContext(peerRequest('INVITE', 6, 'v=0\r\n'));
    expect(ua.handleRequest(ctx)).toBe(true);
    expect(ctx.replies.map((r) => r.status)).toEqual([491]);
  });

  it('a second re-INVITE before the first is answered gets 500 with Retry-After (§14.2)', () => {
    const { ua, session } = setup('uas');
    let pending: UasContext | undefined;
    session.delegate = { onReinvite: (ctx) => (pending = ctx) };
    const c1 = new RecordingContext(peerRequest('INVITE', 6, 'v=0\r\n'));
    ua.handleRequest(c1);
    expect(pending).toBe(c1);
    const c2 = new RecordingContext(peerRequest('INVITE', 7, 'v=0\r\n'));
    ua.handleRequest(c2);
    expect(c2.replies[0]!.status).toBe(500);
    const ra = Number(c2.replies[0]!.getHeader('Retry-After'));
    expect(ra).toBeGreaterThanOrEqual(0);
    expect(ra).toBeLessThanOrEqual(10);
  });

  it('2xx retransmission of our re-INVITE is answered with the same ACK (§13.2.2.4)', async () => {
    const { stack, session } = setup('uac');
    const p = session.reinvite('v=0\r\n');
    await flush();
    const tx = stack.sent[0]!;
    const ok = answer(tx.request, 200, 'v=0\r\n');
    tx.user.onFinal(ok);
    await p;
    tx.user.onFinal(ok);
    expect(stack.acks).toHaveLength(2);
    expect(stack.acks[1]!.toString()).toBe(stack.acks[0]!.toString());
  });
});

describe('InviteSession BYE while the 2xx of an offer-less re-INVITE waits for its answer', () => {
  it('the ACK (without answer) goes out before the BYE; the late answer of the TU sends nothing more', async () => {
    const { stack, session } = setup('uac');
    const p = session.reinvite(undefined);
    await flush();
    const tx = stack.sent[0]!;
    tx.user.onFinal(answer(tx.request, 200, 'v=0\r\n'));
    const r = await p;
    expect(stack.acks).toHaveLength(0);
    void session.bye();
    expect(stack.acks.map((a) => [a.method, a.cseq.seq, a.body.length])).toEqual([['ACK', 11, 0]]);
    expect(stack.sent.map((x) => `${x.request.method} ${x.request.cseq.seq}`)).toEqual(['INVITE 11', 'BYE 12']);
    r.ack!('v=0\r\n');
    expect(stack.acks).toHaveLength(1);
  });
});

describe('InviteSession UAS 2xx, BYE, 481', () => {
  it('our 2xx to a re-INVITE is retransmitted until the ACK; none → BYE at 64·T1', async () => {
    const { clock, stack, ua, session } = setup('uas');
    session.delegate = { onReinvite: (ctx, s) => s.acceptReinvite(ctx, 'v=0\r\n') };
    const ctx = new RecordingContext(peerRequest('INVITE', 6, 'v=0\r\n'));
    ua.handleRequest(ctx);
    expect(ctx.replies.map((r) => r.status)).toEqual([200]);
    clock.advance(500);
    clock.advance(1000);
    expect(ctx.replies).toHaveLength(3);
    clock.advance(32_000);
    await flush();
    const bye = stack.sent.find((s) => s.request.method === 'BYE');
    expect(bye).toBeDefined();
    expect(session.active).toBe(false);
  });

  it('the ACK stops the retransmissions and reaches the delegate with its body', () => {
    const { clock, ua, session } = setup('uas');
    let ackBody = '';
    session.delegate = {
      onReinvite: (ctx, s) => s.acceptReinvite(ctx, 'v=0\r\n'),
      onAck: (ack) => (ackBody = ack.body.toString()),
    };
    const ctx = new RecordingContext(peerRequest('INVITE', 6));
    ua.handleRequest(ctx);
    expect(ua.handleAck(peerRequest('ACK', 6, 'answer'))).toBe(true);
    clock.advance(10_000);
    expect(ctx.replies).toHaveLength(1);
    expect(ackBody).toBe('answer');
  });

  it('BYE is answered 200 and ends the dialog; a later request in it gets 481 (§12.2.2, §15.1.2)', () => {
    const { ua, session } = setup('uas');
    const ended: string[] = [];
    session.delegate = { onTerminated: (reason) => ended.push(reason) };
    const bye = new RecordingContext(peerRequest('BYE', 6));
    ua.handleRequest(bye);
    expect(bye.replies.map((r) => r.status)).toEqual([200]);
    expect(ended).toEqual(['bye-received']);
    const info = new RecordingContext(peerRequest('INFO', 7));
    expect(ua.handleRequest(info)).toBe(true);
    expect(info.replies.map((r) => r.status)).toEqual([481]);
    expect(ua.size).toBe(0);
  });

  it('an in-dialog request with a lower CSeq gets 500 (§12.2.2)', () => {
    const { ua } = setup('uas');
    const ctx = new RecordingContext(peerRequest('INFO', 4));
    ua.handleRequest(ctx);
    expect(ctx.replies[0]!.status).toBe(500);
  });
});
