/**
 * A change-set through the admin API never touches a live call (behaviour §2.3, §13): the DN a
 * call is on is replaced (a new contact) while the call is up; the call goes on with the
 * original callee and ends with its BYE there; the next call reaches the new contact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { adminRequest } from '../helpers/admin-http.js';
import { freePort } from '../helpers/ports.js';
import { runSipp, startSipp, sippTraceMessages } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { scen, startCallServer, type CallServer } from './call-harness.js';
import { callYaml, extensionDn } from './call-yaml.js';

const TOKEN = 'live-call-token';
let server: CallServer | undefined;
let http: HttpServer | undefined;
afterEach(async () => {
  await http?.close();
  await server?.stop();
  http = server = undefined;
});

/** The first lines of the requests a SIPp peer received. */
const requestsReceived = (messages: string): string[] =>
  sippTraceMessages(messages)
    .filter((m) => m.dir === 'received' && !m.text.startsWith('SIP/2.0'))
    .map((m) => m.text.split('\n')[0]!.trim());

describe('live calls and change-sets', () => {
  it('replacing the DN a call is on leaves the call with its callee; the next call goes to the new contact', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    server = await startCallServer(callYaml([extensionDn('7001', portA)]));
    http = await createHttpServer({ store: server.store, token: TOKEN });
    const url = (await http.listen('127.0.0.1:0')).url;
    const target = `127.0.0.1:${server.port}`;
    const a = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: portA,
      calls: 1,
      traceMessages: true,
    });
    // The caller holds the call 3 s, then sends BYE.
    const first = runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      traceMessages: true,
      args: ['-s', '7001', '-d', '3000'],
    });
    await waitFor(() => server!.b2bua.activeCalls === 1 && server!.ua.size >= 2, { what: 'the call established' });
    const cs = await adminRequest(url, TOKEN, 'POST', '/api/config/change-sets', {
      changes: [
        {
          op: 'put',
          kind: 'dn',
          key: '7001',
          value: { type: 'extension', options: { contact: `127.0.0.1:${portB}` } },
        },
      ],
    });
    expect(cs.status).toBe(200);
    expect(server.b2bua.activeCalls).toBe(1);
    const uac = await first;
    const uasA = await a.result();
    expect(uac.code, uac.errors + uac.stdout.slice(-1500)).toBe(0);
    expect(uasA.code, uasA.errors).toBe(0);
    const atA = requestsReceived(uasA.messages);
    expect(atA.map((l) => l.split(' ')[0])).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(atA[0]).toBe(`INVITE sip:7001@127.0.0.1:${portA} SIP/2.0`);
    await waitFor(() => server!.b2bua.activeCalls === 0, { what: 'no active call left' });

    const b = await startSipp({
      scenario: scen('uas-answer.xml'),
      target,
      localPort: portB,
      calls: 1,
      traceMessages: true,
    });
    const second = await runSipp({
      scenario: scen('uac-basic-call.xml'),
      target,
      calls: 1,
      timeoutMs: 20_000,
      args: ['-s', '7001', '-d', '200'],
    });
    const uasB = await b.result();
    expect(second.code, second.errors).toBe(0);
    expect(requestsReceived(uasB.messages)[0]).toBe(`INVITE sip:7001@127.0.0.1:${portB} SIP/2.0`);
  });
});
