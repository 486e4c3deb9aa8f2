/**
 * The dialog layer (RFC 3261 §12–§15): dialogs, INVITE sessions, glare handling, 2xx
 * retransmission and ACK. Knows nothing of contact centres.
 */
export { Dialog, DialogError, type DialogInit } from './dialog.js';
export { DialogState, type DialogRole } from './dialog-state.js';
export { dialogKey, tagOf, type DialogId } from './dialog-id.js';
export { DialogStore } from './dialog-store.js';
export type { DialogRequestSpec, DialogRequestOptions } from './dialog-request.js';
export { toSipRequest } from './dialog-message-factory.js';
export { isLooseRoute, uriOfNameAddr, uriParams } from './dialog-route.js';
export { glareRetryDelay } from './glare-backoff.js';
export { Invite2xxRetransmitter, type RetransmitTimers } from './invite-2xx-retransmitter.js';
export type { DialogStackPort, SentRequest, UasContext } from './dialog-stack-port.js';
export { DialogStackAdapter } from './dialog-stack-adapter.js';
export { uriDestination } from './uri-destination.js';
export {
  InviteSession,
  type InviteSessionDelegate,
  type InDialogResult,
  type ReinviteResult,
  type SessionEndReason,
  type SessionHost,
} from './invite-session.js';
export { InviteClientSession, InviteClientState, type InviteClientDelegate } from './invite-client-session.js';
export { InviteServerSession, InviteServerState } from './invite-server-session.js';
export { DialogUserAgent, type DialogUserAgentOptions } from './dialog-user-agent.js';
