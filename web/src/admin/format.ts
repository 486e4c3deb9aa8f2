/** Display helpers of the console. */

/** `HH:MM:SS` of an ISO time or epoch ms, in the browser's time zone; `—` when absent. */
export function clock(t: string | number | undefined): string {
  if (t === undefined) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleTimeString([], { hour12: false });
}

/** The device states as people read them. */
export const HEALTH_LABEL: Record<string, string> = {
  'in-service': 'In service',
  'out-of-service': 'Out of service',
  unknown: 'Unknown',
  alive: 'Alive',
  dead: 'Lease ran out',
};

/** Agent states with spaces (`NotReady` → `Not Ready`). */
export function agentState(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, '$1 $2');
}
