/**
 * Agent desktops in bulk for the migration test and the benchmarks: agents logged in Ready over
 * one CTI connection each (docs/cti-protocol.md), a number of logins in flight at a time, and
 * logged out again.
 */
import { CtiTestClient } from './cti-client.js';
import { waitFor } from './wait.js';

/** One agent to log in: its id and the DN it logs in on. */
export interface DeskLogin {
  agentId: string;
  dn: string;
}

/** A desktop {@link loginReady} logged in. */
export interface Desk extends DeskLogin {
  client: CtiTestClient;
}

/** Options of {@link loginDesks}. */
export interface LoginOptions {
  /** Logins in flight at a time (each on its own connection; default 25). */
  concurrency?: number;
  /** `workMode` of `RequestAgentLogin` (default `AutoIn`: back to Ready after each routed call). */
  workMode?: 'AutoIn' | 'ManualIn';
}

/**
 * Log agents in Ready over one CTI connection each (`RequestOpen` with the admin token, an
 * application-scope desktop; `RequestAgentLogin`; `EventAgentReady` awaited). Returns the desks
 * logged in and a line per failed login.
 */
export async function loginDesks(
  ctiUrl: string,
  token: string,
  logins: readonly DeskLogin[],
  o: LoginOptions = {},
): Promise<{ desks: Desk[]; failures: string[] }> {
  const clients: Desk[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < logins.length; i = next++) {
      const { agentId, dn } = logins[i]!;
      try {
        const c = await CtiTestClient.connect(ctiUrl, 10_000);
        clients.push({ client: c, agentId, dn });
        const opened = await c.request('RequestOpen', { token }, 10_000);
        if (opened.event !== 'EventOpened') throw new Error(`RequestOpen: ${JSON.stringify(opened)}`);
        const ref = c.send('RequestAgentLogin', { thisDN: dn, agentId, workMode: o.workMode ?? 'AutoIn' });
        const login = await c.waitFor((f) => f.referenceId === ref, 10_000);
        if (login.event !== 'EventAgentLogin') throw new Error(`RequestAgentLogin: ${JSON.stringify(login)}`);
        await waitFor(() => c.events.some((f) => f.event === 'EventAgentReady'), {
          what: `${agentId} Ready`,
          timeoutMs: 10_000,
        });
        c.skipReceived();
      } catch (e) {
        failures.push(`${agentId} on ${dn}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 25 }, worker));
  return { desks: clients, failures };
}

/** {@link loginDesks} that throws with the first failures (after closing every desk) when any login failed. */
export async function loginReady(ctiUrl: string, token: string, logins: readonly DeskLogin[]): Promise<Desk[]> {
  const { desks, failures } = await loginDesks(ctiUrl, token, logins);
  if (failures.length > 0) {
    for (const d of desks) d.client.close();
    throw new Error(`${failures.length} of ${logins.length} logins failed: ${failures.slice(0, 3).join('; ')}`);
  }
  return desks;
}

/** Log every desk out (`RequestAgentLogout`, awaiting `EventAgentLogout`) and close it. */
export async function logoutAll(desks: readonly Desk[]): Promise<void> {
  await Promise.all(
    desks.map(async (d) => {
      const ref = d.client.send('RequestAgentLogout', { thisDN: d.dn });
      const r = await d.client.waitFor(
        (f) => f.event === 'EventAgentLogout' || (f.referenceId === ref && f.event === 'EventError'),
        10_000,
      );
      if (r.event !== 'EventAgentLogout') throw new Error(`${d.agentId} logout: ${JSON.stringify(r)}`);
      d.client.close();
    }),
  );
}
