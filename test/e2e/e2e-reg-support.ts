/**
 * Support for the end-to-end tests that drive the real server process by hand (`e2e-registrar-*`,
 * `e2e-oos-*`, `e2e-restart-lost-calls`): admin API and `/metrics` reads. SIPp comes from
 * `test/helpers/sipp.ts`, baresip from `test/helpers/baresip.ts`, polling from
 * `test/helpers/wait.ts`, the token and scenarios from `e2e-support.ts`.
 */
import { E2E_TOKEN } from './e2e-support.js';

/** GET an admin API path with the bearer token; JSON body. */
export async function apiGet<T = Record<string, unknown>>(baseUrl: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${E2E_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** GET `/metrics` (text). */
export async function metricsText(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/** Value of one sample of `/metrics` text, e.g. `sipserver_oos_transitions_total{to="out-of-service"}`; 0 when absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}
