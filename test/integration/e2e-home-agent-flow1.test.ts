/**
 * Acceptance, examples/home-agent-phone.yaml, RFC 3725 Flow I with a slow destination
 * (behaviour §8.1, `rfc3725-flow1-max-wait`): the agent-phone is ACKed with a black-hole answer
 * when the wait ends, and reconnected by re-INVITE when the destination answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import {
  E2E_TOKEN,
  api,
  ctiUrl,
  eventually,
  example,
  lockPort,
  scenario,
  startSipp,
  stopAll,
  waitInService,
  type SippPeer,
  type TracedMessage,
} from './e2e-support.js';

const on = (name: string) => (f: CtiFrame) => f.event === name && f.thisDN === '8888';
const body = (m: TracedMessage): string => m.text.split(/\r?\n\r?\n/).slice(1).join('\n');
const callId = (m: TracedMessage): string => /^Call-ID:\s*(\S+)/im.exec(m.text)?.[1] ?? '';

describe('e2e Flow I make-call with a destination slower than rfc3725-flow1-max-wait', () => {
  let release: (() => void) | undefined;
  let server: ServerProcess | undefined;
  let sbc: SippPeer;
  const peers: SippPeer[] = [];
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    release = await lockPort(5081);
    sbc = await startSipp({ scenario: scenario('e2e-uas-sbc-slow-answer.xml'), port: 5081, pauseMs: 2500 });
    peers.push(sbc);
    server = await startServerProcess({ config: example('home-agent-phone.yaml'), sipListen: ['udp:127.0.0.1:0'], env: { SIPSERVER_TOKEN: E2E_TOKEN } });
    await waitInService(server, 'Softswitch');
    expect((await api(server, 'PATCH', '/api/dns/Softswitch', { options: { 'rfc3725-flow1-max-wait': '1' } })).status).toBe(200);
    desk = await CtiTestClient.connect(ctiUrl(server));
    await desk.request('RequestOpen', { agentId: 'jay', password: 'jay-secret' });
    await desk.request('RequestRegisterAddress', { thisDN: '8888' });
    await desk.request('RequestAgentLogin', { thisDN: '8888', agentId: 'jay', workMode: 'AutoIn', extensions: { 'agent-phone': '+1 555 123 2222' } });
    await desk.waitFor(on('EventAgentReady'));
  });

  afterAll(async () => {
    desk?.close();
    await stopAll(peers);
    await server?.stop();
    release?.();
  });

  it('black-hole ACK to the agent-phone after 1 s, re-INVITE reconnect when the destination answers', async () => {
    const made = await desk!.request('RequestMakeCall', { thisDN: '8888', otherDN: '+1 555 123 1111' }, 10_000);
    expect(made).toMatchObject({ event: 'EventDialing', otherDN: '+15551231111' });
    const invites = (): TracedMessage[] => sbc.receivedRequests('INVITE');
    await eventually(() => invites().length >= 2, 'INVITEs to the phone and the destination');
    expect(invites().slice(0, 2).map((m) => m.firstLine)).toEqual([
      'INVITE sip:+15551232222@127.0.0.1:5081 SIP/2.0',
      'INVITE sip:+15551231111@127.0.0.1:5081 SIP/2.0',
    ]);
    const phoneCall = callId(invites()[0]!);
    const destCall = callId(invites()[1]!);
    expect(invites()[0]!.text).toMatch(/Content-Length:\s*0/i);
    expect(body(invites()[1]!)).toContain('s=e2e-callee-sdp'); // the phone's offer

    // Before the destination answers (2.5 s), the phone is ACKed with a black hole.
    await eventually(() => sbc.receivedRequests('ACK').some((m) => callId(m) === phoneCall), 'ACK to the phone', 2400);
    const phoneAck = sbc.receivedRequests('ACK').find((m) => callId(m) === phoneCall)!;
    expect(body(phoneAck)).toMatch(/c=IN IP4 0\.0\.0\.0/);

    await desk!.waitFor((f) => on('EventEstablished')(f) && f.connId === made.connId, 10_000);
    // Reconnected: the phone's dialog got a re-INVITE after the destination answered.
    await eventually(() => invites().filter((m) => callId(m) === phoneCall).length === 2, 're-INVITE to the phone');
    await eventually(() => sbc.receivedRequests('ACK').filter((m) => callId(m) === phoneCall).length === 2, 'ACK of the re-INVITE');
    const reconnectAnswers = sbc.receivedRequests('ACK').filter((m) => callId(m) === phoneCall || callId(m) === destCall);
    expect(reconnectAnswers.some((m) => /m=audio/.test(body(m)) && !/c=IN IP4 0\.0\.0\.0/.test(body(m)))).toBe(true);

    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: made.connId })).toMatchObject({ event: 'EventReleased' });
    await eventually(() => sbc.distinctRequests('BYE') === 2, 'BYE to both legs');
  });
});
