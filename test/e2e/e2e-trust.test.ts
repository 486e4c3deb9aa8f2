/**
 * The trust boundary over the real server process (docs/security.md), loopback addresses standing
 * for hosts: the softswitches and customers at 127.0.0.1 as in the examples, an attacker at
 * 127.0.0.2, Joe's phone at 127.0.0.3, a second address of the SBC at 127.0.0.4.
 * examples/home.yaml: INVITEs from an unknown source are refused (403) and nothing reaches the SBC;
 * the same INVITEs from the softswitch's address go through; `trusted-sources` admits the SBC's
 * other address; one malformed INVITE draws exactly one answer over 35 s (no reflection).
 * examples/office.yaml: Joe's registered phone (baresip, 8888) is challenged (407) and its call
 * completes; an INVITE claiming 8888 without credentials gets 407, with a wrong password 407 then
 * 403, and nothing is forwarded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBaresip, type BaresipPeer } from '../helpers/baresip.js';
import { freePort } from '../helpers/ports.js';
import type { SippPeer } from '../helpers/sipp.js';
import { UdpPeer, statusOf } from '../helpers/udp-peer.js';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { E2eEnv, api, metricValue, metricsText, scenario, udpTarget, waitInService } from './e2e-support.js';

const ATTACKER = '127.0.0.2';
const PHONE_HOST = '127.0.0.3';
const SBC_OTHER = '127.0.0.4';
const EXTERNAL = '+15559990000';
const JOE = '+15551231111';

const finalResponse = (p: SippPeer): string | undefined =>
  p.messages().find((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]\d\d /.test(m.firstLine))?.firstLine;
const finals = (p: SippPeer): string[] =>
  p
    .messages()
    .filter((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]\d\d /.test(m.firstLine))
    .map((m) => m.firstLine);

describe('e2e trust, home.yaml: only the softswitch (and its trusted-sources) may call out', () => {
  const env = new E2eEnv({ example: 'home.yaml', softswitchPort: 5071 });

  /** An INVITE to `service` claiming `from`, sent from `ip`; returns the SIPp (exited 0: it got 403 or 407 and ACKed). */
  async function refused(service: string, from: string, ip = ATTACKER): Promise<SippPeer> {
    const p = await env.sipp({
      scenario: scenario('e2e-uac-refused-invite.xml'),
      localIp: ip,
      target: udpTarget(env.server),
      service,
      calls: 1,
      args: ['-key', 'from', from],
    });
    expect(await p.waitExit(15_000), `${p.errors()}\n${p.stdout.slice(-1500)}`).toBe(0);
    return p;
  }

  /** A customer call from `ip` to `service` that the SBC answers (SIPp exit 0). */
  async function goesThrough(service: string, ip = '127.0.0.1'): Promise<void> {
    const c = await env.sipp({
      scenario: scenario('e2e-uac-customer-call.xml'),
      localIp: ip,
      target: udpTarget(env.server),
      service,
      calls: 1,
      pauseMs: 300,
    });
    expect(await c.waitExit(20_000), `${c.errors()}\n${c.stdout.slice(-1500)}`).toBe(0);
  }

  const sbcInvites = (): string[] => env.sbc.receivedRequests('INVITE').map((m) => m.firstLine);

  beforeAll(() => env.start());
  afterAll(() => env.stop());

  it('from 127.0.0.2: INVITEs to an external number and to an agent DN (any From, even the agent DN) → 403, the SBC receives nothing, counted in /metrics', async () => {
    expect(finalResponse(await refused(EXTERNAL, 'customer'))).toBe('SIP/2.0 403 Forbidden');
    expect(finalResponse(await refused(JOE, 'customer'))).toBe('SIP/2.0 403 Forbidden');
    expect(finalResponse(await refused(EXTERNAL, JOE))).toBe('SIP/2.0 403 Forbidden');
    await holdsFor(() => sbcInvites().length === 0, {
      forMs: 500,
      what: 'no INVITE at the SBC',
      detail: () => sbcInvites().join('; '),
    });
    const m = await metricsText(env.server.httpUrl!);
    expect(metricValue(m, 'sipserver_requests_refused_total{reason="untrusted-source"}')).toBe(2);
    expect(metricValue(m, 'sipserver_requests_refused_total{reason="location-mismatch"}')).toBe(1);
  });

  it("the same INVITEs from 127.0.0.1 (the softswitch's address, as the examples' customers) go through to the SBC", async () => {
    await goesThrough(EXTERNAL);
    await goesThrough(JOE);
    const host = env.sbcAddress;
    expect(sbcInvites()).toEqual([`INVITE sip:${EXTERNAL}@${host} SIP/2.0`, `INVITE sip:${JOE}@${host} SIP/2.0`]);
  });

  it('trusted-sources: the SBC sending from 127.0.0.4 is refused, admitted once 127.0.0.4/30 is listed, refused again when removed', async () => {
    const before = sbcInvites().length;
    expect(finalResponse(await refused(EXTERNAL, 'customer', SBC_OTHER))).toBe('SIP/2.0 403 Forbidden');
    expect(sbcInvites()).toHaveLength(before);
    expect(
      (
        await api(env.server, 'PATCH', '/api/dns/Softswitch', {
          options: { 'trusted-sources': '127.0.0.4/30, 2001:db8::/32' },
        })
      ).status,
    ).toBe(200);
    await waitInService(env.server, 'Softswitch');
    await goesThrough(EXTERNAL, SBC_OTHER);
    expect(sbcInvites()).toHaveLength(before + 1);
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'trusted-sources': '203.0.113.0/24' } }))
        .status,
    ).toBe(200);
    expect(finalResponse(await refused(EXTERNAL, 'customer', SBC_OTHER))).toBe('SIP/2.0 403 Forbidden');
    expect(sbcInvites()).toHaveLength(before + 1);
    // Not an address or CIDR: refused by validation.
    expect(
      (await api(env.server, 'PATCH', '/api/dns/Softswitch', { options: { 'trusted-sources': '127.0.0.4/33' } }))
        .status,
    ).toBe(422);
  });

  it('one malformed INVITE (no Call-ID, From, To) over UDP draws exactly one answer (400) over 35 s', async () => {
    const peer = await UdpPeer.open(ATTACKER);
    try {
      const port = Number(udpTarget(env.server).split(':').pop());
      const text = `INVITE sip:${EXTERNAL}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP ${ATTACKER}:${peer.port};branch=z9hG4bKmalformed35\r\nMax-Forwards: 70\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
      await peer.send(text, port);
      const [first] = await peer.waitFor(() => true, 1, 5000);
      expect(statusOf(first?.text ?? '')).toBe(400);
      await holdsFor(() => peer.received.length === 1, {
        forMs: 35_000,
        intervalMs: 250,
        what: 'exactly one answer',
        detail: () => peer.received.map((d) => d.text.split('\r\n')[0]).join('; '),
      });
    } finally {
      await peer.close();
    }
  }, 45_000);
});

describe('e2e trust, office.yaml: a phone of a DN with a password is digest-authenticated (407)', () => {
  const env = new E2eEnv({ example: 'office.yaml', softswitchPort: 5081 });
  const phones: BaresipPeer[] = [];

  const pbxInvites = (): string[] => env.sbc.receivedRequests('INVITE').map((m) => m.firstLine);

  beforeAll(() => env.start());
  afterEach(async () => {
    for (const p of phones.splice(0)) await p.stop();
  });
  afterAll(() => env.stop());

  it('baresip at 127.0.0.3, registered as 8888, calls 7777: challenged 407, answers the challenge, the call reaches the PBX and is answered', async () => {
    const server = udpTarget(env.server);
    const phone = startBaresip('8888', server, await freePort(PHONE_HOST), '8888-secret', {
      host: PHONE_HOST,
      commands: ['/dial 7777'],
    });
    phones.push(phone);
    await waitFor(() => pbxInvites().some((l) => l.startsWith('INVITE sip:7777@')), {
      what: 'the INVITE for 7777 at the PBX',
      timeoutMs: 15_000,
      detail: () => phone.output.slice(-3000),
    });
    await waitFor(() => env.sbc.receivedRequests('ACK').length > 0, {
      what: 'the ACK of the 200 at the PBX',
      timeoutMs: 10_000,
      detail: () => phone.output.slice(-3000),
    });
    expect(phone.output).toMatch(/SIP\/2\.0 407 Proxy Authentication Required/);
    expect(phone.output).toMatch(/Proxy-Authorization: Digest username="8888"/);
    const regs = (await api(env.server, 'GET', '/api/status')).json.registrations as Array<{
      dn: string;
      source: string;
    }>;
    expect(regs).toEqual(
      expect.arrayContaining([expect.objectContaining({ dn: '8888', source: expect.stringContaining(PHONE_HOST) })]),
    );
    const m = await metricsText(env.server.httpUrl!);
    expect(metricValue(m, 'sipserver_requests_challenged_total')).toBeGreaterThanOrEqual(1);
  });

  it('an INVITE from 127.0.0.2 claiming 8888 without credentials → 407, nothing forwarded', async () => {
    const before = pbxInvites().length;
    const p = await env.sipp({
      scenario: scenario('e2e-uac-refused-invite.xml'),
      localIp: ATTACKER,
      target: udpTarget(env.server),
      service: '7777',
      calls: 1,
      args: ['-key', 'from', '8888'],
    });
    expect(await p.waitExit(15_000), p.errors()).toBe(0);
    expect(finalResponse(p)).toBe('SIP/2.0 407 Proxy Authentication Required');
    expect(p.messages().find((m) => m.dir === 'received' && m.firstLine.startsWith('SIP/2.0 407'))!.text).toMatch(
      /\nProxy-Authenticate: Digest realm="[^"]+", nonce="[^"]+", algorithm=MD5, qop="auth"/,
    );
    await holdsFor(() => pbxInvites().length === before, { forMs: 500, what: 'no INVITE at the PBX' });
  });

  it('with a wrong password: 407, 407 again, then 403; nothing forwarded', async () => {
    const before = pbxInvites().length;
    const p = await env.sipp({
      scenario: scenario('e2e-uac-invite-wrong-password.xml'),
      localIp: ATTACKER,
      target: udpTarget(env.server),
      service: '7777',
      calls: 1,
      args: ['-au', '8888', '-ap', 'not-the-secret'],
    });
    expect(await p.waitExit(15_000), `${p.errors()}\n${p.stdout.slice(-1500)}`).toBe(0);
    expect(finals(p)).toEqual([
      'SIP/2.0 407 Proxy Authentication Required',
      'SIP/2.0 407 Proxy Authentication Required',
      'SIP/2.0 403 Forbidden',
    ]);
    await holdsFor(() => pbxInvites().length === before, { forMs: 500, what: 'no INVITE at the PBX' });
    const m = await metricsText(env.server.httpUrl!);
    expect(metricValue(m, 'sipserver_requests_refused_total{reason="bad-credentials"}')).toBe(1);
  });
});
