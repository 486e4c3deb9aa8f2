/**
 * Re-INVITE glare timing (RFC 3261 §14.1).
 */

/**
 * How long to wait before retrying a re-INVITE that got 491 Request Pending (RFC 3261 §14.1):
 * if we own the Call-ID (we were the UAC of the dialog) a random time in 2.1–4 s, in 10 ms
 * units; otherwise 0–2 s, in 10 ms units.
 * @param random a source in [0, 1) (injectable for tests)
 */
export function glareRetryDelay(ownsCallId: boolean, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 0.999_999);
  if (ownsCallId) return 2100 + Math.floor(r * 191) * 10; // 2100 … 4000
  return Math.floor(r * 201) * 10; // 0 … 2000
}
