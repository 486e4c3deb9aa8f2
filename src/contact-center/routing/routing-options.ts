import type { ContactCenterDirectory } from '../agents/contact-center-directory.js';

/** Option on a routing point naming the agent group it distributes to (interfaces §2). */
export const OPTION_AGENT_GROUP = 'agent-group';
/** Option on a routing point (or application): seconds a call waits for a Ready agent before `default-dn`/480; 0 = forever. */
export const OPTION_ROUTER_TIMEOUT = 'router-timeout';
/** Option on a routing point: where a call goes when nobody became Ready in time. */
export const OPTION_DEFAULT_DN = 'default-dn';
/** Ring time before RONA, seconds (behaviour §14: ≤ 34 s, 0 → 32 s). */
export const OPTION_SIP_INVITE_TIMEOUT = 'sip-invite-timeout';
/** Behaviour §9. */
export const OPTION_REJECT_CALL_NOTREADY = 'reject-call-notready';

/** Default `router-timeout`, seconds. */
export const DEFAULT_ROUTER_TIMEOUT_S = 60;
/** Default and `0` value of `sip-invite-timeout`, seconds (behaviour §14, [C:S12]). */
export const DEFAULT_SIP_INVITE_TIMEOUT_S = 32;

/**
 * Effective `router-timeout` of a routing point, milliseconds; `Infinity` for `0` (wait
 * forever, as the option table of `src/config` defines it). When the configuration gives no
 * value at all (not even a default), {@link DEFAULT_ROUTER_TIMEOUT_S}.
 */
export function routerTimeoutMs(
  directory: Pick<ContactCenterDirectory, 'effectiveOption'>,
  routingPoint: string,
): number {
  const raw = directory.effectiveOption(routingPoint, OPTION_ROUTER_TIMEOUT);
  const n = raw === undefined ? NaN : Number(raw);
  if (n === 0) return Infinity;
  return (Number.isFinite(n) && n > 0 ? n : DEFAULT_ROUTER_TIMEOUT_S) * 1000;
}

/** Effective ring time of a DN before RONA, milliseconds (`sip-invite-timeout`, ≤ 34 s, 0 → 32 s). */
export function inviteTimeoutMs(directory: Pick<ContactCenterDirectory, 'effectiveOption'>, dn: string): number {
  const raw = directory.effectiveOption(dn, OPTION_SIP_INVITE_TIMEOUT);
  const n = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(n) || n <= 0) return DEFAULT_SIP_INVITE_TIMEOUT_S * 1000;
  return Math.min(n, 34) * 1000;
}
