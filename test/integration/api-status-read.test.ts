/**
 * The cheap live-state reads of the admin API (interfaces §5, docs/admin-api.md): `GET /api/status`
 * by section (`?sections=`) and by agent state (`?agentState=`), and the bulk DN status read
 * `POST /api/dns/status`, over the real agent service, reachability resolver and store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { LoadMeter } from '../../src/api/load-meter.js';
import { StatusReporter } from '../../src/api/status.js';
import { createAgentStatusProvider } from '../../src/contact-center/agents/agent-status-provider.js';
import { adminRequest, type AdminAnswer } from '../helpers/admin-http.js';
import { freePort } from '../helpers/ports.js';
import { startCallServer, waitFor, type CallServer } from './call-harness.js';
import { callYaml, extensionDn, softswitchDn } from './call-yaml.js';

const TOKEN = 'status-read-token';
let s: CallServer;
let server: HttpServer;
let load: LoadMeter;
let url: string;

const agent = (id: string, dn: string): { id: string; name: string; password: string; dn: string } => ({
  id,
  name: id,
  password: `${id}-pw`,
  dn,
});

beforeEach(async () => {
  const nobody = await freePort();
  s = await startCallServer(
    callYaml(
      [
        softswitchDn(nobody, '9'),
        extensionDn('1001', nobody),
        extensionDn('1002', nobody),
        extensionDn('+15551231111'),
      ],
      { agents: [agent('ann', '1001'), agent('bob', '1002'), agent('cy', '+15551231111')] },
    ),
  );
  load = new LoadMeter();
  load.start();
  server = await createHttpServer({ store: s.store, token: TOKEN, load });
  const reporter = new StatusReporter(
    {
      registrations: () => [],
      devices: () => [],
      agents: createAgentStatusProvider(s.agents, () => (dn) => s.control.callsOnDn(dn).length > 0),
      activeCalls: () => s.b2bua.activeCalls,
      waitingCalls: () => s.router.waitingCalls().length,
      lostCalls: [],
    },
    load,
  );
  server.setStatusProviders({
    status: (q) => reporter.status(q),
    dnStatus: (dn) => {
      const r = s.reachability.resolve(dn.number);
      if (r.mode === 'unreachable') return { mode: r.mode, inService: false };
      return { mode: r.mode, target: r.target, via: r.via, inService: r.inService };
    },
  });
  url = (await server.listen('127.0.0.1:0')).url;
  // ann is logged in and Ready; bob is logged in and on a routed call (Busy, behaviour §7); cy is not logged in.
  s.agents.login({ agentId: 'ann', thisDN: '1001' });
  s.agents.ready('1001');
  s.agents.login({ agentId: 'bob', thisDN: '1002' });
  s.agents.ready('1002');
  s.agents.routedCallEstablished('1002', 'conn-1');
});

afterEach(async () => {
  await server?.close();
  load?.stop();
  await s?.stop();
});

const call = (method: string, path: string, body?: unknown): Promise<AdminAnswer> =>
  adminRequest(url, TOKEN, method, path, body);

describe('GET /api/status sections and agent filter', () => {
  it('without a query answers every section; naming all six gives the same shape', async () => {
    const all = await call('GET', '/api/status');
    expect(all.status).toBe(200);
    const keys = ['agents', 'calls', 'config', 'devices', 'load', 'lostCalls', 'registrations'];
    expect(Object.keys(all.json).sort()).toEqual(keys);
    expect(all.json.agents.map((a: { id: string; state: string }) => [a.id, a.state])).toEqual([
      ['ann', 'Ready'],
      ['bob', 'BusyReady'],
      ['cy', 'LoggedOut'],
    ]);
    const named = await call('GET', '/api/status?sections=load,config,agents,devices,registrations,calls');
    expect(Object.keys(named.json).sort()).toEqual(keys);
    expect(named.json.agents).toEqual(all.json.agents);
    expect(named.json.calls).toEqual({ active: 0, waiting: 0 });
  });

  it('?sections= answers only the sections named', async () => {
    const r = await call('GET', '/api/status?sections=load,config');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['config', 'load']);
    expect(Object.keys(r.json.load).sort()).toEqual(['cpuCount', 'cpuPercent', 'eventLoopLagMaxMs', 'eventLoopLagMs']);
    expect(r.json.config.version).toBe(s.store.version);
    expect(Object.keys((await call('GET', '/api/status?sections=calls')).json).sort()).toEqual(['calls', 'lostCalls']);
    expect(Object.keys((await call('GET', '/api/status?sections=devices')).json)).toEqual(['devices']);
  });

  it('?agentState=logged-in lists the logged-in agents only, busy only those on a call', async () => {
    const ids = async (q: string): Promise<string[]> =>
      ((await call('GET', `/api/status?sections=agents&${q}`)).json.agents as { id: string }[]).map((a) => a.id);
    expect(await ids('agentState=logged-in')).toEqual(['ann', 'bob']);
    expect(await ids('agentState=busy')).toEqual(['bob']);
    s.agents.routedCallEnded('1002', 'conn-1');
    expect(await ids('agentState=busy')).toEqual([]);
    s.agents.logout('1001');
    expect(await ids('agentState=logged-in')).toEqual(['bob']);
  });

  it('an agent whose DN has a call that is not a routed one (a make-call dialing) is onCall, not Busy', async () => {
    const ann = async (): Promise<Record<string, unknown>> =>
      (
        (await call('GET', '/api/status?sections=agents&agentState=logged-in')).json.agents as Record<string, unknown>[]
      ).find((a) => a.id === 'ann')!;
    expect(await ann()).toEqual({ id: 'ann', dn: '1001', state: 'Ready', workMode: 'ManualIn' });
    // 1001's phone does not answer: the make-call stays in its first step (calling 1001) while we look.
    void s.control
      .handle({ request: 'RequestMakeCall', thisDN: '1001', otherDN: '1002' }, { requesterId: 'desk', referenceId: 1 })
      .catch(() => undefined);
    await waitFor(() => s.control.callsOnDn('1001').length > 0);
    expect(await ann()).toEqual({ id: 'ann', dn: '1001', state: 'Ready', workMode: 'ManualIn', onCall: true });
    expect(
      ((await call('GET', '/api/status?sections=agents&agentState=busy')).json.agents as { id: string }[]).map(
        (a) => a.id,
      ),
    ).toEqual(['bob']);
  });

  it('an unknown section or agent state is 422 and names what is known', async () => {
    const bad = await call('GET', '/api/status?sections=load,agentz');
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].message).toContain('unknown section "agentz"');
    const state = await call('GET', '/api/status?agentState=ready');
    expect(state.status).toBe(422);
    expect(state.json.errors[0].message).toContain('logged-in, busy');
  });
});

describe('POST /api/dns/status', () => {
  it('answers each number in the order asked, as asked, like GET /api/dns/{n}/status; unknown ones say so', async () => {
    const asked = ['1002', 'nope', '+1-555-123-1111', '1001', '1002'];
    const r = await call('POST', '/api/dns/status', { numbers: asked });
    expect(r.status).toBe(200);
    expect(r.json.items.map((i: { number: string }) => i.number)).toEqual(asked);
    expect(r.json.items[1]).toEqual({ number: 'nope', error: 'unknown DN' });
    for (const i of [0, 2, 3]) {
      const one = await call('GET', `/api/dns/${encodeURIComponent(asked[i]!)}/status`);
      expect(one.status).toBe(200);
      expect(r.json.items[i]).toEqual({ ...one.json, number: asked[i] });
    }
    expect(r.json.items[0]).toMatchObject({ mode: 'static', inService: true });
    expect(r.json.items[2]).toMatchObject({ mode: 'unreachable', inService: false });
  });

  it('refuses more than 5,000 numbers and a body that is not { numbers: [strings] } with 422', async () => {
    expect((await call('POST', '/api/dns/status', { numbers: Array(5000).fill('1001') })).status).toBe(200);
    const big = await call('POST', '/api/dns/status', { numbers: Array(5001).fill('1001') });
    expect(big.status).toBe(422);
    expect(big.json.errors[0].message).toContain('at most 5000');
    for (const body of [{}, { numbers: '1001' }, { numbers: [1001] }, []])
      expect((await call('POST', '/api/dns/status', body)).status, JSON.stringify(body)).toBe(422);
  });
});
