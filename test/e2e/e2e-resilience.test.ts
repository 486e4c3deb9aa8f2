/**
 * One bad call never stops the server (docs/calls.md, "Resilience"), over the real process with
 * examples/home.yaml: a test-only fault (`SIPSERVER_TEST_FAULT=throw-on-answer:+15551231111`,
 * read only with `NODE_ENV=test`) makes the inbound flow throw when Joe's leg answers at the SBC.
 * That call is released — BYE to the SBC's answered leg, 480 to the customer, an error log line
 * with its ConnID, `sipserver_call_faults_total` 1 — while calls to another number placed at
 * the same time complete, and the server keeps taking calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { callIdOf } from '../helpers/sipp.js';
import { E2eEnv, metricValue, metricsText, scenario, udpTarget } from './e2e-support.js';

const EXTERNAL = '+15559990000';
const JOE = '+15551231111';

describe('e2e resilience, home.yaml: a call whose flow throws is released, the others go on', () => {
  const env = new E2eEnv({
    example: 'home.yaml',
    softswitchPort: 5071,
    env: { NODE_ENV: 'test', SIPSERVER_TEST_FAULT: `throw-on-answer:${JOE}` },
  });

  beforeAll(() => env.start());
  afterAll(() => env.stop());

  it("Joe's call throws on answer: the SBC gets a BYE, the customer 480, a log line; 5 calls placed meanwhile complete; the server still takes calls", async () => {
    const target = udpTarget(env.server);
    const good = await env.sipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      target,
      service: EXTERNAL,
      calls: 5,
      rate: 5,
      pauseMs: 1000,
    });
    const bad = await env.sipp({ scenario: scenario('e2e-uac-customer-released.xml'), target, service: JOE, calls: 1 });
    expect(await bad.waitExit(15_000), `${bad.errors()}\n${bad.stdout.slice(-1500)}`).toBe(0);
    expect(await good.waitExit(20_000), `${good.errors()}\n${good.stdout.slice(-1500)}`).toBe(0);
    const joeInvite = env.sbc.receivedRequests('INVITE').find((m) => m.firstLine.startsWith(`INVITE sip:${JOE}@`));
    expect(joeInvite, "Joe's INVITE at the SBC").toBeDefined();
    const joeCallId = callIdOf(joeInvite!);
    await waitFor(() => env.sbc.distinctRequests('BYE', [joeCallId]) === 1, {
      what: "the BYE of Joe's answered leg at the SBC",
      timeoutMs: 10_000,
    });
    await waitFor(() => /call flow failed: releasing the call/.test(env.server.stdout), {
      what: 'the error log line',
      timeoutMs: 5000,
    });
    const line = env.server.stdout.split('\n').find((l) => l.includes('call flow failed: releasing the call'))!;
    expect(line).toMatch(/"connId":"[^"]+"/);
    expect(line).toMatch(/test fault: throw-on-answer/);
    const m = await metricsText(env.server.httpUrl!);
    expect(metricValue(m, 'sipserver_call_faults_total')).toBe(1);
    expect(metricValue(m, 'sipserver_process_errors_total{kind="uncaughtException"}')).toBe(0);
    // Still alive and taking calls.
    const after = await env.sipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      target,
      service: EXTERNAL,
      calls: 1,
      pauseMs: 300,
    });
    expect(await after.waitExit(20_000), `${after.errors()}\n${after.stdout.slice(-1500)}`).toBe(0);
    const status = (await (
      await fetch(`${env.server.httpUrl!}/api/status`, { headers: { authorization: 'Bearer e2e-admin-token' } })
    ).json()) as { activeCalls?: number };
    expect(status.activeCalls ?? 0).toBe(0);
  });
});
