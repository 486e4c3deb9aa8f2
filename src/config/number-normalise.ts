/**
 * DN number normalisation (behaviour §3.2, interfaces §2): spaces, dashes, dots and
 * parentheses are removed, a leading `+` is kept. Names that are not numbers ("Softswitch")
 * pass through with only those characters removed, so "Softswitch" stays "Softswitch".
 */
export function normaliseNumber(written: string): string {
  // Fast path: most stored numbers are already normal.
  if (!/[\s\-.()]/.test(written)) return written;
  return written.replace(/[\s\-.()]/g, '');
}

/** True when a normalised number looks like a telephone number (digits, optional leading `+`). */
export function isPhoneNumber(normalised: string): boolean {
  return /^\+?[0-9*#]+$/.test(normalised);
}
