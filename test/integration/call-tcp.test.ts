/**
 * A customer on TCP, the callee on UDP: in-dialog requests towards the customer (the relayed BYE)
 * go back over TCP (RFC 3261 §18.1.1), not over UDP to the TCP port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp } from '../helpers/sipp.js';
import { softswitchYaml, startCallServer, type CallServer } from './call-harness.js';
import { waitFor } from '../helpers/wait.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);

let server: CallServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('calls across transports', () => {
  it('customer over TCP, callee over UDP: callee BYE reaches the customer over TCP', async () => {
    const uasPort = await freePort();
    server = await startCallServer(softswitchYaml(uasPort), { tcp: true });
    const uas = await startSipp({
      scenario: scen('uas-answer-then-bye.xml'),
      target: `127.0.0.1:${server.port}`,
      localPort: uasPort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const uac = await runSipp({
      scenario: scen('uac-callee-hangs-up.xml'),
      target: `127.0.0.1:${server.tcpPort}`,
      transport: 't1',
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '9123'],
    });
    const u = await uas.result();
    expect(uac.code, uac.errors + uac.messages.slice(-2000)).toBe(0);
    expect(u.code, u.errors).toBe(0);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });
  });

  it('customer over TCP hangs up: BYE relayed to the UDP callee', async () => {
    const uasPort = await freePort();
    server = await startCallServer(softswitchYaml(uasPort), { tcp: true });
    const uas = await startSipp({
      scenario: scen('uas-answer.xml'),
      target: `127.0.0.1:${server.port}`,
      localPort: uasPort,
      calls: 1,
      timeoutMs: 20_000,
    });
    const uac = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target: `127.0.0.1:${server.tcpPort}`,
      transport: 't1',
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '9123', '-d', '200'],
    });
    expect(uac.code, uac.errors).toBe(0);
    expect((await uas.result()).code).toBe(0);
  });
});
