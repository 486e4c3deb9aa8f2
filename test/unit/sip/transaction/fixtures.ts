/** Shared fixtures of the transaction-layer unit tests: messages from text, recording senders. */
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import { FakeClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/logger.js';
import { resolveTimerSettings, type TimerSettings } from '../../../../src/sip/transaction/transaction-timers.js';
import type {
  ClientTransactionSender,
  ClientTransactionUser,
  ServerTransactionSender,
  TransactionContext,
} from '../../../../src/sip/transaction/transaction-types.js';

/** Parse text with LF line ends as a SIP message (CRLF on the wire). */
function parse(text: string): ReturnType<typeof parseMessage> {
  return parseMessage(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8'));
}

export interface RequestInit {
  method?: string;
  branch?: string;
  viaHost?: string;
  cseq?: number;
  cseqMethod?: string;
  toTag?: string;
  fromTag?: string;
  callId?: string;
  uri?: string;
  route?: string;
}

/** A request as a UAC would send it. */
export function request(init: RequestInit = {}): SipRequest {
  const method = init.method ?? 'INVITE';
  const text =
    `${method} ${init.uri ?? 'sip:bob@127.0.0.1:5060'} SIP/2.0\n` +
    `Via: SIP/2.0/UDP ${init.viaHost ?? '127.0.0.1:5070'};branch=${init.branch ?? 'z9hG4bKabc123'}\n` +
    (init.route ? `Route: ${init.route}\n` : '') +
    `Max-Forwards: 70\n` +
    `From: <sip:alice@127.0.0.1>;tag=${init.fromTag ?? 'fromtag1'}\n` +
    `To: <sip:bob@127.0.0.1>${init.toTag ? `;tag=${init.toTag}` : ''}\n` +
    `Call-ID: ${init.callId ?? 'call-1@127.0.0.1'}\n` +
    `CSeq: ${init.cseq ?? 1} ${init.cseqMethod ?? method}\n` +
    `Content-Length: 0\n\n`;
  const m = parse(text);
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

/** A response to `req` with the given status (and To tag for > 100). */
export function response(req: SipRequest, status: number, toTag = 'totag9'): SipResponse {
  const vias = req
    .getHeaders('Via')
    .map((v) => `Via: ${v}\n`)
    .join('');
  const to = req.getHeader('To') ?? '';
  const text =
    `SIP/2.0 ${status} Whatever\n` +
    vias +
    `From: ${req.getHeader('From')}\n` +
    `To: ${to}${status > 100 && !/;tag=/.test(to) ? `;tag=${toTag}` : ''}\n` +
    `Call-ID: ${req.callId}\n` +
    `CSeq: ${req.cseq.seq} ${req.cseq.method}\n` +
    `Content-Length: 0\n\n`;
  const m = parse(text);
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}

/** A transaction context on a fresh FakeClock. */
export function context(timers?: Partial<TimerSettings>): TransactionContext & { clock: FakeClock } {
  return { clock: new FakeClock(0), logger: silentLogger, timers: resolveTimerSettings(timers) };
}

/** A client sender that records what was sent and when. */
export class RecordingClientSender implements ClientTransactionSender {
  readonly sent: Array<{ at: number; msg: SipRequest }> = [];
  failWith: Error | undefined;
  private lastOnError: ((err: Error) => void) | undefined;
  constructor(
    readonly reliable: boolean,
    private readonly clock: FakeClock,
  ) {}
  send(req: SipRequest, onError: (err: Error) => void): void {
    this.lastOnError = onError;
    this.sent.push({ at: this.clock.now(), msg: req });
    if (this.failWith) onError(this.failWith);
  }
  /** Report a late error (e.g. TCP connection refused) on the last send. */
  failLater(err: Error): void {
    this.lastOnError?.(err);
  }
  times(): number[] {
    return this.sent.map((s) => s.at);
  }
}

/** A server sender that records the responses sent (first sends and byte resends alike). */
export class RecordingServerSender implements ServerTransactionSender {
  readonly sent: Array<{ at: number; status: number; text: string; resend: boolean }> = [];
  failWith: Error | undefined;
  constructor(
    readonly reliable: boolean,
    private readonly clock: FakeClock,
  ) {}
  send(res: SipResponse, onError: (err: Error) => void): Buffer {
    const buf = res.toBuffer();
    this.sent.push({ at: this.clock.now(), status: res.status, text: buf.toString('latin1'), resend: false });
    if (this.failWith) onError(this.failWith);
    return buf;
  }
  resend(bytes: Buffer, onError: (err: Error) => void): void {
    const text = bytes.toString('latin1');
    this.sent.push({ at: this.clock.now(), status: Number(text.slice(8, 11)), text, resend: true });
    if (this.failWith) onError(this.failWith);
  }
  statuses(): number[] {
    return this.sent.map((s) => s.status);
  }
  times(): number[] {
    return this.sent.map((s) => s.at);
  }
}

/** A client TU that records its events. */
export class RecordingClientUser implements ClientTransactionUser {
  readonly events: string[] = [];
  onProvisional(res: SipResponse): void {
    this.events.push(`provisional ${res.status}`);
  }
  onFinal(res: SipResponse): void {
    this.events.push(`final ${res.status}`);
  }
  onTimeout(): void {
    this.events.push('timeout');
  }
  onTransportError(err: Error): void {
    this.events.push(`transport-error ${err.message}`);
  }
}
