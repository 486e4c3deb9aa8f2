/**
 * The dialog tests' stack over a real transaction manager on a fake clock: the dialog layer's
 * requests get a Via and a real client transaction, and what goes on the wire is recorded.
 */
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { createResponse } from '../../../../src/sip/message/index.js';
import { SipRequestMessage } from '../../../../src/sip/message/sip-request-message.js';
import type { SipRequest, SipResponse, TransportAddress } from '../../../../src/sip/message/types.js';
import { TransactionManager } from '../../../../src/sip/transaction/transaction-manager.js';
import type { ClientTransactionUser } from '../../../../src/sip/transaction/transaction-types.js';
import type { SentRequest } from '../../../../src/sip/dialog/dialog-stack-port.js';
import { AckRecordingStack } from './ack-recording-stack.js';
import { DialogUserAgent } from '../../../../src/sip/dialog/dialog-user-agent.js';

export const PEER: TransportAddress = { transport: 'udp', host: '127.0.0.1', port: 5070 };

/** The dialog layer's stack: Via added here, client transactions in a real manager, wire recorded. */
export class ManagerStack extends AckRecordingStack {
  readonly wire: SipRequest[] = [];
  private n = 0;
  constructor(readonly mgr: TransactionManager) {
    super();
  }
  sendRequest(request: SipRequest, _dest: TransportAddress, user: ClientTransactionUser): SentRequest {
    request.prependHeader('Via', `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest${++this.n}`);
    this.mgr.sendRequest(request, { reliable: false, send: (m) => this.wire.push(m) }, user);
    return { request };
  }
}

/** Requests put on the wire, one line per transaction (timer E/A retransmissions folded). */
export function requestsSent(stack: ManagerStack): string[] {
  return [...new Set(stack.wire.map((m) => `${m.method} ${m.uri} ${m.cseq.seq}|${m.via.branch ?? ''}`))].map(
    (l) => l.split('|')[0]!,
  );
}

export function setup() {
  const clock = new FakeClock(0);
  const mgr = new TransactionManager({
    clock,
    logger: silentLogger,
    delegate: { onRequest: () => undefined, onAck: () => undefined },
  });
  const stack = new ManagerStack(mgr);
  const ua = new DialogUserAgent({ stack, clock, logger: silentLogger, random: () => 0.5 });
  return { clock, mgr, stack, ua };
}

export function invite(body = 'v=0\r\n'): SipRequest {
  return new SipRequestMessage(
    'INVITE',
    'sip:callee@127.0.0.1:5070',
    [
      { name: 'From', value: '<sip:sipserver@127.0.0.1>;tag=ourtag' },
      { name: 'To', value: '<sip:callee@127.0.0.1>' },
      { name: 'Call-ID', value: 'call-acker-1' },
      { name: 'CSeq', value: '7 INVITE' },
      { name: 'Contact', value: '<sip:sipserver@127.0.0.1:5060>' },
      ...(body ? [{ name: 'Content-Type', value: 'application/sdp' }] : []),
    ],
    Buffer.from(body),
  );
}

/** The peer's 2xx for the INVITE as it went out (our Via on top), from the fork with `tag`. */
export function ok(sent: SipRequest, tag: string, body = 'v=0\r\n'): SipResponse {
  return createResponse(sent, 200, 'OK', {
    toTag: tag,
    headers: [{ name: 'Contact', value: `<sip:${tag}@127.0.0.1:5070>` }],
    body,
  });
}
