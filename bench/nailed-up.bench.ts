/**
 * Nailed-up bench (behaviour §10): the set-up time of a customer call (INVITE → 200 at the
 * customer, SIPp `-trace_rtt`) to an agent on a parked nailed-up connection (one re-INVITE on
 * the existing dialog) against a fresh INVITE to an ordinary agent, through the same SIPp SBC,
 * in the same run. Our B2BUA runs in this process (call harness, trust policy on); the SBC
 * answers a new INVITE after `BENCH_NAILED_ANSWER_MS` (default 100 ms: the agent picking up,
 * far less than a real PSTN phone) and a re-INVITE at once. The customer (SIPp UAC,
 * `e2e-uac-customer-call.xml`) calls the agent DN directly, one call at a time.
 *
 * Prints p50/p99 of both and their ratio; targets: the nailed-up calls faster, p99 < 20 ms.
 * Env: BENCH_NAILED_CALLS (default 200 per kind), BENCH_NAILED_RATE (calls/s, default 10),
 * BENCH_NAILED_ANSWER_MS.
 */
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { repoRoot } from '../test/helpers/paths.js';
import { startSipp } from '../test/helpers/sipp.js';
import { waitFor } from '../test/helpers/wait.js';
import { softswitchYaml, startCallServer } from '../test/integration/call-harness.js';
import { percentile, runUacLoad, type UacLoadResult } from './helpers/sipp-uac-load.js';

const SIPP = join(repoRoot, 'test/integration/sipp');
const NAILED = '+15551231111';
const FRESH = '+15551232222';

function dns(): string {
  return `      connect-nailedup-on-login: "gcti::park"
  - number: "${NAILED}"
    type: extension
    options:
      line-type: "1"
  - number: "${FRESH}"
    type: extension
agents:
  - { id: joe, name: Joe, password: "joe-secret", dn: "${NAILED}" }
`;
}

function summary(name: string, r: UacLoadResult, calls: number): string {
  return `  ${name.padEnd(22)} ${r.ok}/${calls} ok, failed ${r.failed}, setup p50 ${percentile(r.setupMs, 50)} ms p90 ${percentile(r.setupMs, 90)} ms p99 ${percentile(r.setupMs, 99)} ms max ${r.setupMs[r.setupMs.length - 1]} ms (${r.setupMs.length} samples)`;
}

export default async function (): Promise<void> {
  const calls = Number(process.env.BENCH_NAILED_CALLS ?? 200);
  const rate = Number(process.env.BENCH_NAILED_RATE ?? 10);
  const answerMs = Number(process.env.BENCH_NAILED_ANSWER_MS ?? 100);
  const sbcPort = await freePort();
  const sbc = await startSipp({
    scenario: join(SIPP, 'uas-sbc-answer-after-pause.xml'),
    localPort: sbcPort,
    pauseMs: answerMs,
    traceMessages: false,
  });
  const server = await startCallServer(softswitchYaml(sbcPort, '+1', dns()), { trust: true });
  try {
    server.agents.login({ agentId: 'joe', thisDN: NAILED, workMode: 'AutoIn' });
    await waitFor(() => server.nailedUp.stateOf(NAILED) === 'parked', { what: 'nailed-up connection parked' });
    const load = (service: string, n: number) =>
      runUacLoad({
        scenario: join(SIPP, 'e2e-uac-customer-call.xml'),
        target: `127.0.0.1:${server.port}`,
        service,
        rate,
        calls: n,
        limit: 1,
        pauseMs: 20,
        timeoutMs: (n / rate + 60) * 1000,
      });
    // Warm-up (not measured): JIT-compile both paths.
    await load(NAILED, 20);
    await load(FRESH, 20);
    process.stdout.write(
      `nailed-up bench: ${calls} calls of each kind at ${rate}/s, one at a time; the SBC answers a new INVITE after ${answerMs} ms\n`,
    );
    const nailed = await load(NAILED, calls);
    process.stdout.write(summary('nailed-up (re-INVITE)', nailed, calls) + '\n');
    const fresh = await load(FRESH, calls);
    process.stdout.write(summary('fresh INVITE', fresh, calls) + '\n');
    const n99 = percentile(nailed.setupMs, 99);
    const f99 = percentile(fresh.setupMs, 99);
    const n50 = percentile(nailed.setupMs, 50);
    const f50 = percentile(fresh.setupMs, 50);
    const faster = n50 < f50 && n99 < f99;
    process.stdout.write(
      `  ratio setup p50 nailed-up/fresh = ${(n50 / f50).toFixed(3)}x, p99 = ${(n99 / f99).toFixed(3)}x ` +
        `(targets: nailed-up faster${faster ? '' : '  NOT MET'}, nailed-up p99 < 20 ms${n99 < 20 ? '' : '  NOT MET'})\n`,
    );
    process.stdout.write(
      `  after the run: ${server.b2bua.activeCalls} calls, nailed-up state ${server.nailedUp.stateOf(NAILED)}\n`,
    );
  } finally {
    await server.stop();
    await sbc.stop();
  }
}
