/**
 * Acceptance, examples/home-agent-phone.yaml, RFC 3725 Flow I with a slow destination
 * (behaviour §8.1, `rfc3725-flow1-max-wait`): the agent-phone is ACKed with a black-hole answer
 * when the wait ends, and reconnected by re-INVITE when the destination answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { callIdOf as callId, sdpBody as body, type TracedMessage } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { E2eEnv, api, dnEvent } from './e2e-support.js';

const on = (name: string) => dnEvent(name, '8888');

describe('e2e Flow I make-call with a destination slower than rfc3725-flow1-max-wait', () => {
  const env = new E2eEnv({
    example: 'home-agent-phone.yaml',
    softswitchPort: 5081,
    softswitch: 'e2e-uas-sbc-slow-answer.xml',
    softswitchPauseMs: 2500,
  });
  let desk: CtiTestClient | undefined;

  beforeAll(async () => {
    await env.start();
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'rfc3725-flow1-max-wait': '1' } })).status,
    ).toBe(200);
    desk = await env.agentDesk('jay', 'jay-secret', '8888', { agentPhone: '+1 555 123 2222' });
  });

  afterAll(() => env.stop());

  it('black-hole ACK to the agent-phone after 1 s, re-INVITE reconnect when the destination answers', async () => {
    const made = await desk!.request('RequestMakeCall', { thisDN: '8888', otherDN: '+1 555 123 1111' }, 10_000);
    expect(made).toMatchObject({ event: 'EventDialing', otherDN: '+15551231111' });
    const invites = (): TracedMessage[] => env.sbc.receivedRequests('INVITE');
    await waitFor(() => invites().length >= 2, { what: 'INVITEs to the phone and the destination' });
    expect(
      invites()
        .slice(0, 2)
        .map((m) => m.firstLine),
    ).toEqual([
      `INVITE sip:+15551232222@${env.sbcAddress} SIP/2.0`,
      `INVITE sip:+15551231111@${env.sbcAddress} SIP/2.0`,
    ]);
    const phoneCall = callId(invites()[0]!);
    const destCall = callId(invites()[1]!);
    expect(invites()[0]!.text).toMatch(/Content-Length:\s*0/i);
    expect(body(invites()[1]!)).toContain('s=e2e-callee-sdp'); // the phone's offer

    // Before the destination answers (2.5 s), the phone is ACKed with a black hole.
    await waitFor(() => env.sbc.receivedRequests('ACK').some((m) => callId(m) === phoneCall), {
      what: 'ACK to the phone',
      timeoutMs: 2400,
    });
    const phoneAck = env.sbc.receivedRequests('ACK').find((m) => callId(m) === phoneCall)!;
    expect(body(phoneAck)).toMatch(/c=IN IP4 0\.0\.0\.0/);

    await desk!.waitFor((f) => on('EventEstablished')(f) && f.connId === made.connId, 10_000);
    // Reconnected: the phone's dialog got a re-INVITE after the destination answered.
    await waitFor(() => invites().filter((m) => callId(m) === phoneCall).length === 2, {
      what: 're-INVITE to the phone',
    });
    await waitFor(() => env.sbc.receivedRequests('ACK').filter((m) => callId(m) === phoneCall).length === 2, {
      what: 'ACK of the re-INVITE',
    });
    const reconnectAnswers = env.sbc
      .receivedRequests('ACK')
      .filter((m) => callId(m) === phoneCall || callId(m) === destCall);
    expect(reconnectAnswers.some((m) => /m=audio/.test(body(m)) && !/c=IN IP4 0\.0\.0\.0/.test(body(m)))).toBe(true);

    expect(await desk!.request('RequestReleaseCall', { thisDN: '8888', connId: made.connId })).toMatchObject({
      event: 'EventReleased',
    });
    await waitFor(() => env.sbc.distinctRequests('BYE') === 2, { what: 'BYE to both legs' });
  });
});
