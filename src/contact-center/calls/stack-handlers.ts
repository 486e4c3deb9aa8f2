/**
 * Call control on the SIP stack: a new INVITE goes to the inbound classifier; requests inside a
 * dialog (re-INVITE, BYE, UPDATE, INFO, REFER, NOTIFY, MESSAGE, PRACK, OPTIONS) and the ACKs of
 * 2xx answers go to the dialog layer, which hands them to the session's owner (RFC 3261 §12.2.2);
 * a BYE that matches no dialog is answered 481 (RFC 3261 §15.1.2); any request with a To tag
 * that matches no dialog gets 481 from the dialog layer and is never forwarded. A new INVITE
 * passes the trust policy first (docs/security.md): a refused one is answered statelessly
 * (403, or 407 with a digest challenge; RFC 3261 §8.2.7: nothing kept, no retransmission, its
 * ACK dropped) and goes no further.
 */
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { IncomingRequest } from '../../sip/stack/incoming-request.js';
import type { SipStack } from '../../sip/stack/sip-stack.js';
import type { Admission, RequestTrust } from '../../trust/request-trust.js';

/**
 * Wire call control into `stack`: `onInvite` gets each INVITE that starts a dialog and that
 * `trust` admitted (with how it was admitted; without `trust`, every one, `undefined`).
 * @returns a function that unwires
 */
export function attachCallHandlers(
  stack: SipStack,
  ua: DialogUserAgent,
  onInvite: (ctx: IncomingRequest, admission: Admission | undefined) => void,
  trust?: Pick<RequestTrust, 'check'>,
): () => void {
  const offs: Array<() => void> = [];
  offs.push(
    stack.handle('INVITE', (ctx) => {
      if (ua.handleRequest(ctx)) return true;
      const verdict = trust?.check(ctx.request, ctx.origin);
      if (verdict && !verdict.admit) {
        ctx.replyStateless(verdict.status, verdict.reason, verdict.headers);
        return true;
      }
      onInvite(ctx, verdict);
      return true;
    }),
  );
  for (const m of ['BYE', 'UPDATE', 'INFO', 'REFER', 'NOTIFY', 'MESSAGE', 'PRACK']) {
    offs.push(
      stack.handle(m, (ctx) => {
        if (ua.handleRequest(ctx)) return true;
        if (m === 'BYE') {
          ctx.reply(481, 'Call/Transaction Does Not Exist'); // RFC 3261 §15.1.2
          return true;
        }
        return false;
      }),
    );
  }
  offs.push(stack.handle('OPTIONS', (ctx) => ua.handleRequest(ctx)));
  const previous = stack.delegate.onAck;
  stack.delegate.onAck = (ack, source) => {
    if (!ua.handleAck(ack)) previous?.(ack, source);
  };
  return () => {
    for (const off of offs) off();
    stack.delegate.onAck = previous;
  };
}
