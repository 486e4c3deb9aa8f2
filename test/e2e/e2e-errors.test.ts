/**
 * Acceptance, refusals over the real server (examples/home.yaml, nothing listening on its SBC
 * 127.0.0.1:5071): CTI errors with the documented codes (docs/cti-protocol.md,
 * src/api/cti/cti-error-codes.ts) and SIP answers to bad input (docs/calls.md).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CTI_ERROR } from '../../src/api/cti/cti-error-codes.js';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { type SippPeer } from '../helpers/sipp.js';
import { E2E_TOKEN, E2eEnv, status, waitDeviceState } from './e2e-support.js';

describe('e2e errors: CTI refusals and SIP bad input (home.yaml)', () => {
  // Nobody answers on the SBC address (a free port of this run standing for the example's 127.0.0.1:5071).
  const env = new E2eEnv({ example: 'home.yaml', softswitchPort: 5071, softswitch: null });

  async function open(agentId: string, password: string): Promise<CtiTestClient> {
    const c = await env.desk();
    if (agentId) expect(await c.request('RequestOpen', { agentId, password })).toMatchObject({ event: 'EventOpened' });
    return c;
  }

  async function sipp(file: string, service: string): Promise<SippPeer> {
    const p = await env.uac(file, service);
    expect(await p.waitExit(20_000), `${p.errors()}\n${p.stdout.slice(-1500)}`).toBe(0);
    return p;
  }

  const finalResponse = (p: SippPeer): string | undefined =>
    p.messages().find((m) => m.dir === 'received' && /^SIP\/2\.0 [3-6]\d\d /.test(m.firstLine))?.firstLine;

  beforeAll(() => env.start());

  afterEach(() => env.stopPeers());

  afterAll(() => env.stop());

  it('RequestOpen with a wrong password → EventError BAD_CREDENTIALS (1003)', async () => {
    const c = await open('', '');
    const err = await c.request('RequestOpen', { agentId: 'jay', password: 'not-jays' });
    expect(err).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.BAD_CREDENTIALS.code });
    expect(err.errorCode).toBe(1003);
  });

  it("an agent-scope desktop may not use another agent's DN → DN_NOT_ALLOWED (1020)", async () => {
    const c = await open('jay', 'jay-secret');
    const reg = await c.request('RequestRegisterAddress', { thisDN: '+15551231111' });
    expect(reg).toMatchObject({ event: 'EventError', errorCode: 1020 });
    const login = await c.request('RequestAgentLogin', { thisDN: '+15551231111', agentId: 'jay', workMode: 'AutoIn' });
    expect(login).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.DN_NOT_ALLOWED.code });
  });

  it('an agent-phone equal to an internal DN → AGENT_PHONE_INTERNAL_DN (1041); the agent stays logged out', async () => {
    const c = await open('jay', 'jay-secret');
    const login = await c.request('RequestAgentLogin', {
      thisDN: '+15551232222',
      agentId: 'jay',
      workMode: 'AutoIn',
      extensions: { 'agent-phone': '+1 555 123 1111' },
    });
    expect(login).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.AGENT_PHONE_INTERNAL_DN.code });
    expect(login.errorCode).toBe(1041);
    const routingPoint = await c.request('RequestAgentLogin', {
      thisDN: '+15551232222',
      agentId: 'jay',
      extensions: { 'agent-phone': '5000' },
    });
    expect(routingPoint).toMatchObject({ event: 'EventError', errorCode: 1041 });
    const agents = (await status(env.server)).agents as Array<Record<string, unknown>>;
    expect(agents.find((a) => a.id === 'jay')).toMatchObject({ state: 'LoggedOut' });
  });

  it('three requests before RequestOpen → three NOT_OPENED (1001), then the connection is closed (1008)', async () => {
    const c = await open('', '');
    for (let i = 0; i < 3; i++) c.send('RequestAgentReady', { thisDN: '+15551232222' });
    const closed = await c.waitClosed(5000);
    expect(closed.code).toBe(1008);
    const errors = c.events.filter((f) => f.event === 'EventError');
    expect(errors.map((e) => e.errorCode)).toEqual([1001, 1001, 1001]);
    expect(errors.map((e) => e.referenceId)).toEqual([1, 2, 3]);
  });

  it('a call to a number nobody serves → 404', async () => {
    const p = await sipp('uac-expect-404.xml', '4242');
    expect(finalResponse(p)).toMatch(/^SIP\/2\.0 404 /);
  });

  it('a call to a DN whose softswitch is out of service → 480 with a reason', async () => {
    await waitDeviceState(env.server, 'Softswitch', 'out-of-service', 15_000);
    const p = await sipp('uac-expect-480.xml', '+15551231111');
    expect(finalResponse(p)).toMatch(/^SIP\/2\.0 480 Temporarily Unavailable \(out of service\)$/);
  });

  it('a BYE for an unknown dialog → 481', async () => {
    const p = await sipp('uac-bye-unknown-dialog.xml', '5000');
    expect(finalResponse(p)).toMatch(/^SIP\/2\.0 481 /);
  });

  it('more refusals with their codes: 1002, 1004, 1031, 1033, 1040, 1042, 1043, 1022, 1030, 1050', async () => {
    const bad = await open('', '');
    expect(await bad.request('RequestOpen', { token: 'not-the-token' })).toMatchObject({
      event: 'EventError',
      errorCode: 1004,
    });

    const sup = await open('', '');
    expect(await sup.request('RequestOpen', { token: E2E_TOKEN })).toMatchObject({
      event: 'EventOpened',
      scope: 'application',
    });
    expect(await sup.request('RequestOpen', { token: E2E_TOKEN })).toMatchObject({
      event: 'EventError',
      errorCode: 1002,
    });
    const JOE = '+15551231111';
    const JAY = '+15551232222';
    expect(await sup.request('RequestAgentReady', { thisDN: JAY })).toMatchObject({
      event: 'EventError',
      errorCode: 1031,
    });
    expect(
      await sup.request('RequestAgentLogin', { thisDN: JAY, agentId: 'jay', extensions: { 'agent-phone': 'call me' } }),
    ).toMatchObject({ errorCode: 1040 });
    expect(
      await sup.request('RequestAgentLogin', {
        thisDN: JAY,
        agentId: 'jay',
        extensions: { 'agent-phone': '+44 20 7946 0000' },
      }),
    ).toMatchObject({ errorCode: 1043 });
    expect(
      await sup.request('RequestAgentLogin', {
        thisDN: JAY,
        agentId: 'jay',
        workMode: 'AuxWork',
        extensions: { 'agent-phone': '+1 555 000 0001' },
      }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    expect(
      await sup.request('RequestAgentLogin', {
        thisDN: JOE,
        agentId: 'joe',
        extensions: { 'agent-phone': '+1 555 000 0001' },
      }),
    ).toMatchObject({ errorCode: 1042 });
    expect(await sup.request('RequestAgentLogin', { thisDN: JAY, agentId: 'joe' })).toMatchObject({ errorCode: 1022 });
    expect(await sup.request('RequestAgentLogin', { thisDN: JOE, agentId: 'jay' })).toMatchObject({ errorCode: 1030 });
    expect(await sup.request('RequestAgentNotReady', { thisDN: JAY, workMode: 'AutoIn' })).toMatchObject({
      errorCode: 1033,
    });
    expect(await sup.request('RequestHoldCall', { thisDN: JAY, connId: '00000000deadbeef' })).toMatchObject({
      errorCode: 1050,
    });
    // A refused login leaves the state alone: Jay still NotReady with his phone, Joe logged out.
    const agents = (await status(env.server)).agents as Array<Record<string, unknown>>;
    expect(agents.find((a) => a.id === 'jay')).toMatchObject({ state: 'NotReady', agentPhone: '+15550000001' });
    expect(agents.find((a) => a.id === 'joe')).toMatchObject({ state: 'LoggedOut' });
    expect(await sup.request('RequestAgentLogout', { thisDN: JAY })).toMatchObject({ event: 'EventAgentLogout' });
  });

  it('two desktops on one DN: both get the events, only the requester gets the referenceId', async () => {
    const a = await open('jay', 'jay-secret');
    const b = await open('jay', 'jay-secret');
    for (const d of [a, b]) await d.request('RequestRegisterAddress', { thisDN: '+15551232222' });
    const ref = a.send('RequestAgentLogin', { thisDN: '+15551232222', agentId: 'jay', workMode: 'AutoIn' });
    expect(await a.waitFor('EventAgentLogin')).toMatchObject({ referenceId: ref });
    const other = await b.waitFor('EventAgentLogin');
    expect(other).not.toHaveProperty('referenceId');
    expect(await b.request('RequestQueryAddress', { thisDN: '+15551232222' })).toMatchObject({
      event: 'EventAddressInfo',
      agentState: 'Ready',
      agentId: 'jay',
      workMode: 'AutoIn',
    });
    expect(await b.request('RequestAgentLogout', { thisDN: '+15551232222' })).toMatchObject({
      event: 'EventAgentLogout',
    });
    expect(await a.waitFor('EventAgentLogout')).not.toHaveProperty('referenceId');
  });

  it('call requests that cannot be done: RequestMakeCall to an out-of-service route → CALL_FAILED (1052), RequestAnswerCall for a call that does not exist → UNKNOWN_CONN_ID (1050)', async () => {
    await waitDeviceState(env.server, 'Softswitch', 'out-of-service', 15_000);
    const c = await open('jay', 'jay-secret');
    await c.request('RequestRegisterAddress', { thisDN: '+15551232222' });
    expect(
      await c.request('RequestAgentLogin', { thisDN: '+15551232222', agentId: 'jay', workMode: 'AutoIn' }),
    ).toMatchObject({ event: 'EventAgentLogin' });
    const made = await c.request('RequestMakeCall', { thisDN: '+15551232222', otherDN: '+1 555 987 6543' });
    expect(made).toMatchObject({ event: 'EventError', errorCode: CTI_ERROR.CALL_FAILED.code });
    expect(c.events.some((f) => f.event === 'EventDialing')).toBe(false);
    const answer = await c.request('RequestAnswerCall', { thisDN: '+15551232222', connId: '00000000000000ab' });
    expect(answer).toMatchObject({ event: 'EventError' });
    expect(answer.errorCode).toBe(CTI_ERROR.UNKNOWN_CONN_ID.code);
    expect(await c.request('RequestAgentLogout', { thisDN: '+15551232222' })).toMatchObject({
      event: 'EventAgentLogout',
    });
  });
});
