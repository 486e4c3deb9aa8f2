/**
 * Call control on the SIP stack: a new INVITE goes to the inbound classifier; requests inside a
 * dialog (re-INVITE, BYE, UPDATE, INFO, REFER, NOTIFY, MESSAGE, PRACK, OPTIONS) and the ACKs of
 * 2xx answers go to the dialog layer, which hands them to the session's owner (RFC 3261 §12.2.2);
 * a BYE that matches no dialog is answered 481 (RFC 3261 §15.1.2).
 */
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { IncomingRequest } from '../../sip/stack/incoming-request.js';
import type { SipStack } from '../../sip/stack/sip-stack.js';

/**
 * Wire call control into `stack`: `onInvite` gets each INVITE that starts a dialog.
 * @returns a function that unwires
 */
export function attachCallHandlers(stack: SipStack, ua: DialogUserAgent, onInvite: (ctx: IncomingRequest) => void): () => void {
  const offs: Array<() => void> = [];
  offs.push(
    stack.handle('INVITE', (ctx) => {
      if (ua.handleRequest(ctx)) return true;
      onInvite(ctx);
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
  offs.push(
    stack.handle('OPTIONS', (ctx) => ua.handleRequest(ctx)),
  );
  const previous = stack.delegate.onAck;
  stack.delegate.onAck = (ack, source) => {
    if (!ua.handleAck(ack)) previous?.(ack, source);
  };
  return () => {
    for (const off of offs) off();
    stack.delegate.onAck = previous;
  };
}
