/**
 * TEST ONLY: faults a test can inject into call control through the real process, to show that
 * one call's failure releases that call and nothing else (docs/calls.md, "Resilience").
 * Read from `SIPSERVER_TEST_FAULT` only when `NODE_ENV=test`; a production process never has any.
 */

/** The faults to inject. */
export interface TestFaults {
  /** Throw inside the inbound flow when this DN answers (`throw-on-answer:DN`). */
  throwOnAnswer?: string;
}

/**
 * `SIPSERVER_TEST_FAULT=throw-on-answer:DN` → `{ throwOnAnswer: 'DN' }`; undefined unless
 * `NODE_ENV` is `test`, or for anything else.
 */
export function testFaultsFromEnv(env: NodeJS.ProcessEnv): TestFaults | undefined {
  if (env.NODE_ENV !== 'test') return undefined;
  const m = /^throw-on-answer:(.+)$/.exec(env.SIPSERVER_TEST_FAULT ?? '');
  return m ? { throwOnAnswer: m[1] } : undefined;
}
