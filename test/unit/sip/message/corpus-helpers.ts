/** Shared helpers of the message-layer corpus tests: the verdict pipeline the server applies. */
import {
  checkRequest,
  parseMessage,
  SipParseError,
  type RequestCaps,
  type SipMessage,
} from '../../../../src/sip/message/index.js';

/** Capabilities of a typical UAS (registrar + B2BUA) used for the corpus verdicts. */
export const UAS_CAPS: RequestCaps = {
  methods: [
    'INVITE',
    'ACK',
    'CANCEL',
    'BYE',
    'OPTIONS',
    'REGISTER',
    'PRACK',
    'UPDATE',
    'INFO',
    'REFER',
    'NOTIFY',
    'SUBSCRIBE',
    'MESSAGE',
  ],
  supported: ['path', 'outbound', 'gruu', '100rel', 'timer', 'replaces'],
  schemes: ['sip', 'sips', 'tel'],
};

/** What the server does with a datagram: 'ok' (processed), a status it answers, or 'drop'. */
export type Verdict = 'ok' | 'drop' | number;

/** parseMessage + checkRequest, as the server core runs them. */
export function verdictOf(
  buf: Buffer,
  caps: RequestCaps = UAS_CAPS,
): { verdict: Verdict; message?: SipMessage; why: string } {
  let msg: SipMessage;
  try {
    msg = parseMessage(buf);
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    return { verdict: err.status === 0 ? 'drop' : err.status, why: err.message };
  }
  if (msg.kind === 'response') return { verdict: 'ok', message: msg, why: '' };
  const v = checkRequest(msg, caps);
  return v ? { verdict: v.status, message: msg, why: v.detail } : { verdict: 'ok', message: msg, why: '' };
}

/** Start line, headers and body of a message, for equality after a round trip. */
export function shape(m: SipMessage): { start: string; headers: Array<{ name: string; value: string }>; body: string } {
  const start = m.kind === 'request' ? `${m.method} ${m.uri}` : `${m.status} ${m.reason}`;
  const headers = m.headers
    .filter((h) => !/^(content-length|l)$/i.test(h.name))
    .map((h) => ({ name: h.name, value: h.value }));
  return { start, headers, body: m.body.toString('latin1') };
}
