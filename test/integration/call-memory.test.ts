/**
 * An ended call is released at once, although its transactions live on for 32 s
 * (RFC 3261 §17.2.2 timer J, RFC 6026 §7.1 timer L and §7.2 timer M): customer (SIPp UAC) →
 * our B2BUA → callee behind a softswitch (SIPp UAS), on loopback, with a real garbage collector.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp } from '../helpers/sipp.js';
import { softswitchYaml, startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Weak references to the live call, its legs and the dialogs' sessions (no strong reference is kept here). */
function weakRefsToLiveCall(s: CallServer): Array<{ what: string; ref: WeakRef<object> }> {
  const call = s.b2bua.allCalls()[0]!;
  return [
    { what: 'call', ref: new WeakRef<object>(call) },
    ...call.legs.map((leg, i) => ({ what: `leg ${i}`, ref: new WeakRef<object>(leg) })),
    ...s.ua.sessions().map((session, i) => ({ what: `session ${i}`, ref: new WeakRef<object>(session) })),
  ];
}

/** Run the GC until `alive()` is empty (at most 500 ms); the caller asserts on `alive()` itself. */
async function waitUntilCollected(alive: () => string[]): Promise<void> {
  await waitFor(
    () => {
      gc();
      return alive().length === 0;
    },
    { what: 'the call, legs and sessions to be collected', timeoutMs: 500, intervalMs: 20 },
  ).catch(() => undefined);
}

describe('B2BUA memory after a call ends', () => {
  it('the call, its legs and sessions are collectable while the INVITE and BYE transactions are still Accepted/Completed', async () => {
    const uasPort = await freePort();
    server = await startCallServer(softswitchYaml(uasPort));
    const target = `127.0.0.1:${server.port}`;
    const uasPeer = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: uasPort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const uacP = runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '9123', '-d', '1000'],
    });
    const s = server;
    await waitFor(() => s.b2bua.activeCalls === 1 && s.ua.size === 2, {
      what: 'one active call with its two dialogs',
      timeoutMs: 10_000,
    });
    const refs = weakRefsToLiveCall(s);
    expect(refs.map((r) => r.what)).toEqual(['call', 'leg 0', 'leg 1', 'session 0', 'session 1']);
    const [uac, uas] = await Promise.all([uacP, uasPeer.result()]);
    expect(uac.code, uac.errors).toBe(0);
    expect(uas.code, uas.errors).toBe(0);
    await waitFor(() => s.b2bua.activeCalls === 0 && s.ua.size === 0, {
      what: 'no active call and no dialog left',
      timeoutMs: 5000,
    });
    // Still waiting out their timers: INVITE server (Accepted, L) and BYE server (Completed, J),
    // INVITE client (Accepted, M) and BYE client (Completed, K = T4 = 5 s).
    expect(s.stack.transactionCount).toEqual({ server: 2, client: 2 });
    // A WeakRef target is kept until the job that dereferenced it ends: collect and check in a
    // later job each time (waitFor's interval).
    const alive = (): string[] => refs.filter((r) => r.ref.deref() !== undefined).map((r) => r.what);
    await waitUntilCollected(alive);
    expect(alive()).toEqual([]);
    expect(s.stack.transactionCount).toEqual({ server: 2, client: 2 });
  }, 30_000);
});
