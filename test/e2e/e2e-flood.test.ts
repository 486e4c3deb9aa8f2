/**
 * Flood limits over the real process (docs/security.md, "Flood limits"), examples/home.yaml with
 * `pike-requests-per-second: 200`, `pike-ban-seconds: 3`: a flooder at 127.0.0.2 sends INVITEs
 * with distinct Call-IDs (default 2,000/s for 5 s, a bounded node UDP loop) while customers call
 * from 127.0.0.1 (the softswitch's address, a trusted peer: exempt) at 20 calls/s. No customer
 * call fails; the flooder is banned (`sipserver_flood_bans_total`), its datagrams dropped unparsed
 * (`sipserver_flood_dropped_total`) and it gets few answers; it is forgiven after the ban time;
 * the server's RSS grows by less than 100 MB and no transaction is left behind.
 * `E2E_FLOOD_RATE`, `E2E_FLOOD_SECONDS`, `E2E_LEGIT_RATE` change the load (the figure:
 * 5000, 10, 50; measured by hand, docs/security.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, metricValue, metricsText, scenario, udpTarget } from './e2e-support.js';

const ATTACKER = '127.0.0.2';
const EXTERNAL = '+15559990000';
const FLOOD_RATE = Number(process.env.E2E_FLOOD_RATE ?? 2000);
const FLOOD_SECONDS = Number(process.env.E2E_FLOOD_SECONDS ?? 5);
const LEGIT_RATE = Number(process.env.E2E_LEGIT_RATE ?? 20);

function invite(i: number, port: number): string {
  return (
    `INVITE sip:${EXTERNAL}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP ${ATTACKER}:${port};branch=z9hG4bKflood${i}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:attacker@${ATTACKER}>;tag=f${i}\r\nTo: <sip:${EXTERNAL}@127.0.0.1>\r\n` +
    `Call-ID: flood-${i}-${Date.now()}@${ATTACKER}\r\nCSeq: 1 INVITE\r\nContact: <sip:attacker@${ATTACKER}:${port}>\r\nContent-Length: 0\r\n\r\n`
  );
}

/** Send `rate`/s INVITEs with distinct Call-IDs for `seconds`, in 20 ms batches; resolves with the number sent. */
async function flood(peer: UdpPeer, port: number, rate: number, seconds: number): Promise<number> {
  const ticks = Math.round((seconds * 1000) / 20);
  const perTick = Math.max(1, Math.round(rate / 50));
  const start = Date.now();
  let sent = 0;
  for (let t = 0; t < ticks; t++) {
    const batch: Array<Promise<void>> = [];
    for (let k = 0; k < perTick; k++) batch.push(peer.send(invite(sent++, peer.port), port).catch(() => undefined));
    await Promise.all(batch);
    const due = start + (t + 1) * 20;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return sent;
}

describe('e2e flood limits, home.yaml: a flooder at 127.0.0.2 is banned, customers at 127.0.0.1 are not disturbed', () => {
  const env = new E2eEnv({
    example: 'home.yaml',
    softswitchPort: 5071,
    serverOptions: { 'pike-requests-per-second': '200', 'pike-ban-seconds': '3' },
  });

  beforeAll(() => env.start());
  afterAll(() => env.stop());

  it(`${FLOOD_RATE} INVITEs/s for ${FLOOD_SECONDS} s (distinct Call-IDs) while customers call at ${LEGIT_RATE}/s: no customer call fails, the flooder is banned then forgiven, RSS bounded`, async () => {
    const target = udpTarget(env.server);
    const port = Number(target.split(':').pop());
    const rssBefore = env.server.rss();
    const calls = LEGIT_RATE * FLOOD_SECONDS;
    const customers = await env.sipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      target,
      service: EXTERNAL,
      calls,
      rate: LEGIT_RATE,
      pauseMs: 500,
      timeoutMs: (FLOOD_SECONDS + 60) * 1000,
    });
    const attacker = await UdpPeer.open(ATTACKER);
    let sent: number;
    try {
      sent = await flood(attacker, port, FLOOD_RATE, FLOOD_SECONDS);
      const code = await customers.waitExit((FLOOD_SECONDS + 60) * 1000);
      expect(code, `${customers.errors()}\n${customers.stdout.slice(-2000)}`).toBe(0);
      const m = await metricsText(env.server.httpUrl!);
      const dropped = metricValue(m, 'sipserver_flood_dropped_total');
      const bans = metricValue(m, 'sipserver_flood_bans_total');
      const rssAfter = env.server.rss();
      const answered = attacker.received.length;
      console.log(
        `flood: sent ${sent} INVITEs, answered ${answered}, dropped ${dropped}, bans ${bans}; customers ${calls} calls OK; RSS ${(rssBefore / 1e6).toFixed(1)} → ${(rssAfter / 1e6).toFixed(1)} MB`,
      );
      expect(bans).toBeGreaterThanOrEqual(1);
      expect(dropped).toBeGreaterThan(sent * 0.5);
      expect(answered).toBeLessThan(sent * 0.5);
      expect(attacker.received.every((d) => statusOf(d.text) === 403)).toBe(true);
      expect(rssAfter - rssBefore).toBeLessThan(100 * 1024 * 1024);
      // Forgiven after the ban time: the next INVITE is answered again (403, by the trust policy).
      await waitFor(
        async () => metricValue(await metricsText(env.server.httpUrl!), 'sipserver_flood_banned_sources') === 0,
        { what: 'the ban over', timeoutMs: 10_000 },
      );
      attacker.clear();
      await attacker.send(invite(sent + 1, attacker.port), port);
      const [answer] = await attacker.waitFor(() => true, 1, 5000);
      expect(statusOf(answer?.text ?? '')).toBe(403);
      const status = (await (
        await fetch(`${env.server.httpUrl!}/api/status`, { headers: { authorization: 'Bearer e2e-admin-token' } })
      ).json()) as { activeCalls?: number };
      expect(status.activeCalls ?? 0).toBe(0);
    } finally {
      await attacker.close();
    }
  }, 180_000);
});
