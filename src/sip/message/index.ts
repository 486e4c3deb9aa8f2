/**
 * The SIP message layer (RFC 3261 §7, §18.3, §19, §20, §25; RFC 5118; RFC 3966 minimal):
 * everything other layers import about messages comes from here.
 */
export * from './types.js';
export {
  parseMessage,
  tryParseMessage,
  type ParseOptions,
  type ParseResult,
  type ParsedMessage,
} from './parse-message.js';
export { StreamFramer, type FramerEvent, type StreamFramerOptions } from './stream-framer.js';
export { parseUri, tryParseUri, formatUri, uriEquals, uriUserEquals, URI_MUST_MATCH_PARAMS } from './parse-uri.js';
export { parseNameAddr, tryParseNameAddr, formatNameAddr } from './parse-name-addr.js';
export { parseVia, formatVia } from './parse-via.js';
export { checkRequest, STANDARD_METHODS, type RequestCaps, type RequestVerdict } from './check-request.js';
export { SipMessageBaseImpl } from './sip-message-base.js';
export { SipRequestMessage } from './sip-request-message.js';
export { SipResponseMessage } from './sip-response-message.js';
export { createRequest, createResponse, type CreateRequestInit, type CreateResponseOptions } from './create-message.js';
export { generateTag, generateBranch, generateCallId } from './generate-ids.js';
export { getParam, formatParams, splitList, unquote, quote, percentDecode } from './sip-syntax.js';
export { headerKey, canonicalHeaderName, isListHeader } from './header-names.js';
export { reasonPhrase } from './reason-phrases.js';
