import { z } from 'zod';
import { AGENT_WORK_MODES, type AgentWorkMode } from '../../contact-center/events.js';

/** `referenceId`: client-chosen, echoed in the answering event (interfaces §4). */
const referenceId = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(64)]);
const dn = z.string().trim().min(1).max(64);
const connId = z.string().regex(/^[0-9a-fA-F]{1,32}$/, 'connId must be a hex string');
const workMode = z.enum(AGENT_WORK_MODES as [AgentWorkMode, ...AgentWorkMode[]]);
const userData = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1024), z.number()]))
  .refine((r) => Object.keys(r).length <= 100, 'userData has more than 100 keys');
const extensions = z
  .record(z.string().min(1).max(64), z.string().max(256))
  .refine((r) => Object.keys(r).length <= 32, 'extensions has more than 32 keys');

const base = { referenceId };

/** Zod schema of every request of interfaces §4, by request name. */
export const CTI_REQUEST_SCHEMAS = {
  RequestOpen: z
    .object({
      ...base,
      request: z.literal('RequestOpen'),
      agentId: z.string().min(1).max(128).optional(),
      password: z.string().max(256).optional(),
      token: z.string().min(1).max(512).optional(),
    })
    .refine((r) => (r.token !== undefined) !== (r.agentId !== undefined && r.password !== undefined), {
      message: 'give either agentId and password, or token',
    }),
  RequestRegisterAddress: z.object({ ...base, request: z.literal('RequestRegisterAddress'), thisDN: dn }),
  RequestUnregisterAddress: z.object({ ...base, request: z.literal('RequestUnregisterAddress'), thisDN: dn }),
  RequestQueryAddress: z.object({ ...base, request: z.literal('RequestQueryAddress'), thisDN: dn }),
  RequestQueryServer: z.object({ ...base, request: z.literal('RequestQueryServer') }),
  RequestAgentLogin: z.object({
    ...base,
    request: z.literal('RequestAgentLogin'),
    thisDN: dn,
    agentId: z.string().min(1).max(128),
    password: z.string().max(256).optional(),
    workMode: workMode.optional(),
    reasonCode: z.string().max(64).optional(),
    extensions: extensions.optional(),
  }),
  RequestAgentReady: z.object({
    ...base,
    request: z.literal('RequestAgentReady'),
    thisDN: dn,
    workMode: workMode.optional(),
  }),
  RequestAgentNotReady: z.object({
    ...base,
    request: z.literal('RequestAgentNotReady'),
    thisDN: dn,
    workMode: workMode.optional(),
    reasonCode: z.string().max(64).optional(),
    extensions: extensions.optional(),
  }),
  RequestAgentLogout: z.object({ ...base, request: z.literal('RequestAgentLogout'), thisDN: dn }),
  RequestMakeCall: z.object({
    ...base,
    request: z.literal('RequestMakeCall'),
    thisDN: dn,
    otherDN: dn,
    userData: userData.optional(),
  }),
  RequestAnswerCall: z.object({ ...base, request: z.literal('RequestAnswerCall'), thisDN: dn, connId }),
  RequestReleaseCall: z.object({ ...base, request: z.literal('RequestReleaseCall'), thisDN: dn, connId }),
  RequestHoldCall: z.object({ ...base, request: z.literal('RequestHoldCall'), thisDN: dn, connId }),
  RequestRetrieveCall: z.object({ ...base, request: z.literal('RequestRetrieveCall'), thisDN: dn, connId }),
  RequestInitiateTransfer: z.object({
    ...base,
    request: z.literal('RequestInitiateTransfer'),
    thisDN: dn,
    connId,
    otherDN: dn,
    userData: userData.optional(),
  }),
  RequestCompleteTransfer: z.object({
    ...base,
    request: z.literal('RequestCompleteTransfer'),
    thisDN: dn,
    connId,
    transferConnId: connId,
  }),
  RequestReconnectCall: z.object({
    ...base,
    request: z.literal('RequestReconnectCall'),
    thisDN: dn,
    connId,
    transferConnId: connId.optional(),
  }),
  RequestAlternateCall: z.object({
    ...base,
    request: z.literal('RequestAlternateCall'),
    thisDN: dn,
    connId,
    transferConnId: connId.optional(),
  }),
  RequestSingleStepTransfer: z.object({
    ...base,
    request: z.literal('RequestSingleStepTransfer'),
    thisDN: dn,
    connId,
    otherDN: dn,
  }),
  RequestInitiateConference: z.object({
    ...base,
    request: z.literal('RequestInitiateConference'),
    thisDN: dn,
    connId,
    otherDN: dn,
    userData: userData.optional(),
  }),
  RequestCompleteConference: z.object({
    ...base,
    request: z.literal('RequestCompleteConference'),
    thisDN: dn,
    connId,
    transferConnId: connId,
  }),
  RequestDeleteFromConference: z.object({
    ...base,
    request: z.literal('RequestDeleteFromConference'),
    thisDN: dn,
    connId,
    otherDN: dn,
  }),
  RequestAttachUserData: z.object({
    ...base,
    request: z.literal('RequestAttachUserData'),
    thisDN: dn,
    connId,
    userData,
  }),
} as const;

/** Name of a known request. */
export type CtiRequestName = keyof typeof CTI_REQUEST_SCHEMAS;

/** A validated request. */
export type CtiRequest = { [K in CtiRequestName]: z.infer<(typeof CTI_REQUEST_SCHEMAS)[K]> }[CtiRequestName];

/** Call requests handed to call control. */
export const CALL_REQUEST_NAMES: ReadonlySet<string> = new Set([
  'RequestMakeCall',
  'RequestAnswerCall',
  'RequestReleaseCall',
  'RequestHoldCall',
  'RequestRetrieveCall',
  'RequestInitiateTransfer',
  'RequestCompleteTransfer',
  'RequestReconnectCall',
  'RequestAlternateCall',
  'RequestSingleStepTransfer',
  'RequestInitiateConference',
  'RequestCompleteConference',
  'RequestDeleteFromConference',
  'RequestAttachUserData',
]);

/** True when `name` is a known request. */
export function isCtiRequestName(name: string): name is CtiRequestName {
  return Object.prototype.hasOwnProperty.call(CTI_REQUEST_SCHEMAS, name);
}

/**
 * The valid `referenceId` of a frame, without validating anything else (for errors answered
 * before the request is parsed: rate limited, too large). Undefined when the frame is no JSON
 * object or its referenceId is missing or malformed.
 */
export function peekReferenceId(text: string): number | string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const ref = referenceId.safeParse((json as Record<string, unknown>).referenceId);
  return ref.success ? ref.data : undefined;
}

/** Outcome of {@link parseCtiRequest}. */
export type ParsedCtiRequest =
  | { readonly ok: true; readonly request: CtiRequest }
  | {
      readonly ok: false;
      readonly error: 'BAD_JSON' | 'UNKNOWN_REQUEST' | 'INVALID_ATTRIBUTES';
      readonly detail: string;
      readonly referenceId?: number | string;
    };

/**
 * Parses and validates one text frame: JSON object → known `request` → attributes
 * (interfaces §4). The referenceId is recovered when possible so that errors can echo it.
 */
export function parseCtiRequest(text: string): ParsedCtiRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'BAD_JSON', detail: 'not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, error: 'BAD_JSON', detail: 'not a JSON object' };
  }
  const obj = json as Record<string, unknown>;
  const ref = referenceId.safeParse(obj.referenceId);
  const refPart = ref.success ? { referenceId: ref.data } : {};
  if (typeof obj.request !== 'string') {
    return { ok: false, error: 'INVALID_ATTRIBUTES', detail: 'request: missing', ...refPart };
  }
  if (!isCtiRequestName(obj.request)) {
    return { ok: false, error: 'UNKNOWN_REQUEST', detail: `unknown request ${obj.request.slice(0, 64)}`, ...refPart };
  }
  const parsed = CTI_REQUEST_SCHEMAS[obj.request].safeParse(obj);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join('.') || '(request)'}: ${i.message}`)
      .join('; ');
    return { ok: false, error: 'INVALID_ATTRIBUTES', detail, ...refPart };
  }
  return { ok: true, request: parsed.data as CtiRequest };
}
