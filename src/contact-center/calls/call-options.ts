/**
 * The options call control reads, in one place: each is the effective value for a DN (the DN's
 * own, its softswitch's, the application's, the default; behaviour §2.2), read when it is needed
 * so that a change never disturbs a live call.
 */
import { optionBoolean } from '../../config/option-table.js';
import { inviteTimeoutMs } from '../routing/routing-options.js';
import type { CallDirectory } from './call-ports.js';

/** Option: `dual-dialog-enabled` (behaviour §6). */
const OPTION_DUAL_DIALOG = 'dual-dialog-enabled';
/** Option: `refer-enabled` (behaviour §9). */
const OPTION_REFER_ENABLED = 'refer-enabled';
/** Option: which 3pcc make-call flow (behaviour §8): `1` = RFC 3725 Flow I, else Flow IV. */
const OPTION_MAKE_CALL_FLOW = 'make-call-rfc3725-flow';
/** Option overriding {@link FLOW1_MAX_WAIT_MS}, seconds (behaviour §8.1 `rfc3725-flow1-max-wait`). */
const OPTION_FLOW1_MAX_WAIT = 'rfc3725-flow1-max-wait';
/** Option: `sip-trying-timeout` (behaviour §4, §14), seconds 0–256, empty = `sip-invite-timeout`. */
const OPTION_TRYING_TIMEOUT = 'sip-trying-timeout';
/** Option: where a call goes when `sip-trying-timeout` expires (behaviour §14); absent = released. */
const OPTION_NO_RESPONSE_DN = 'no-response-dn';
/** Option: remote control of the phone by NOTIFY (behaviour §9), a token list such as `talk,hold`. */
const OPTION_SIP_CTI_CONTROL = 'sip-cti-control';
/** Flow I safety wait before A gives up on its 2xx (behaviour §8.1, §14: 28 s). */
const FLOW1_MAX_WAIT_MS = 28_000;

type OptionSource = Pick<CallDirectory, 'effectiveOption'>;

/** `dual-dialog-enabled`: may the device of `dn` hold a second INVITE dialog (behaviour §6)? */
export function dualDialogEnabled(directory: OptionSource, dn: string): boolean {
  return optionBoolean(OPTION_DUAL_DIALOG, directory.effectiveOption(dn, OPTION_DUAL_DIALOG));
}

/**
 * Does the device of `dn` keep a single INVITE dialog (behaviour §6)? Yes with
 * `dual-dialog-enabled = false`, and always for a nailed-up connection (`line-type = 1`,
 * behaviour §10.4).
 */
export function singleDialogOnly(directory: OptionSource, dn: string): boolean {
  return !dualDialogEnabled(directory, dn) || isNailedUpLine(directory, dn);
}

/** `refer-enabled` (behaviour §9): false makes a REFER from `dn`'s device a 403 instead of a 405. */
export function referEnabled(directory: OptionSource, dn: string): boolean {
  return optionBoolean(OPTION_REFER_ENABLED, directory.effectiveOption(dn, OPTION_REFER_ENABLED));
}

/** `sip-cti-control` of `dn` lists `feature` (e.g. `talk`: RequestAnswerCall by NOTIFY, behaviour §9). */
export function ctiControls(directory: OptionSource, dn: string, feature: string): boolean {
  const v = directory.effectiveOption(dn, OPTION_SIP_CTI_CONTROL) ?? '';
  return v.split(',').some((t) => t.trim().toLowerCase() === feature);
}

/** `make-call-rfc3725-flow = 1`: RFC 3725 Flow I for make-calls from `dn` (else Flow IV). */
export function usesMakeCallFlow1(directory: OptionSource, dn: string): boolean {
  return directory.effectiveOption(dn, OPTION_MAKE_CALL_FLOW)?.trim() === '1';
}

/** `rfc3725-flow1-max-wait` of the origin DN in ms (default 28 s, at most 31 s: A gives up at 32 s). */
export function flow1MaxWaitMs(directory: OptionSource, dn: string | undefined): number {
  const raw = dn ? directory.effectiveOption(dn, OPTION_FLOW1_MAX_WAIT) : undefined;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 31) * 1000 : FLOW1_MAX_WAIT_MS;
}

/** How long `dn` may ring (`sip-invite-timeout`); 0 (only Timer B) for a number that is no agent DN. */
export function ringTimeoutOf(directory: OptionSource, dn: string | undefined): number {
  return dn ? inviteTimeoutMs(directory, dn) : 0;
}

/**
 * `sip-trying-timeout` in ms for an INVITE to `dn` (undefined: an external number) through the
 * route of softswitch `via` (behaviour §4, §14): the DN's own value, else the route's softswitch's,
 * else the DN's effective one; empty everywhere = the application's `sip-invite-timeout` when it
 * is set (> 0); 0 or nothing = no trying timer (Timer B alone).
 */
export function tryingTimeoutOf(
  directory: Pick<CallDirectory, 'effectiveOption' | 'getDn'>,
  dn: string | undefined,
  via: string | undefined,
): number | undefined {
  const own = dn ? directory.getDn(dn)?.options[OPTION_TRYING_TIMEOUT] : undefined;
  let raw = own?.trim() ? own : via ? directory.effectiveOption(via, OPTION_TRYING_TIMEOUT) : undefined;
  if (!raw?.trim() && dn) raw = directory.effectiveOption(dn, OPTION_TRYING_TIMEOUT);
  if (!raw?.trim()) {
    const app = Number(directory.effectiveOption(dn ?? via ?? '', 'sip-invite-timeout'));
    return Number.isFinite(app) && app > 0 ? Math.min(app, 34) * 1000 : undefined;
  }
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 256) * 1000 : undefined;
}

/** `no-response-dn` for an INVITE to `dn` through softswitch `via` (behaviour §14): the DN's, else the softswitch's. */
export function noResponseDnOf(
  directory: OptionSource,
  dn: string | undefined,
  via: string | undefined,
): string | undefined {
  const v =
    (dn ? directory.effectiveOption(dn, OPTION_NO_RESPONSE_DN) : undefined) ??
    (via ? directory.effectiveOption(via, OPTION_NO_RESPONSE_DN) : undefined);
  return v?.trim() ? v.trim() : undefined;
}

/** Option: `line-type` (behaviour §10): `1` = nailed-up connection. */
const OPTION_LINE_TYPE = 'line-type';
/** Option: `connect-nailedup-on-login` (behaviour §10): `gcti::park` = connect and park at login. */
const OPTION_CONNECT_NAILEDUP_ON_LOGIN = 'connect-nailedup-on-login';
/** Option: `disconnect-nailedup-timeout` (behaviour §10, §14): seconds parked without a call, 0 = never. */
const OPTION_DISCONNECT_NAILEDUP_TIMEOUT = 'disconnect-nailedup-timeout';
/** The reserved name of the park device (behaviour §10, §10.1). */
export const PARK_DEVICE = 'gcti::park';

/** `line-type = 1`: `dn` is worked over a nailed-up connection (behaviour §10). */
export function isNailedUpLine(directory: OptionSource, dn: string): boolean {
  return directory.effectiveOption(dn, OPTION_LINE_TYPE)?.trim() === '1';
}

/** `connect-nailedup-on-login` of `dn` (its own, its softswitch's, the application's); undefined when empty. */
export function connectNailedUpOnLogin(directory: OptionSource, dn: string): string | undefined {
  const v = directory.effectiveOption(dn, OPTION_CONNECT_NAILEDUP_ON_LOGIN)?.trim();
  return v ? v : undefined;
}

/** `disconnect-nailedup-timeout` of `dn` in ms; 0 = never (behaviour §10, §14). */
export function disconnectNailedUpTimeoutMs(directory: OptionSource, dn: string): number {
  const n = Number(directory.effectiveOption(dn, OPTION_DISCONNECT_NAILEDUP_TIMEOUT) ?? '0');
  return Number.isFinite(n) && n > 0 ? n * 1000 : 0;
}
