/**
 * The admin console's live stream `GET /api/events` (docs/admin-api.md, "Live stream") over the
 * REAL server process (examples/home-agent-phone.yaml, a SIPp softswitch, a CTI desk): 401
 * without the token; a snapshot first (every status section, the config queue); an agent's
 * login and Not Ready with a reason as `agents` deltas; a change-set as a `change-sets` delta;
 * probes and a device's fall out of service as `devices` deltas; `GET /api/calls`, `?q=`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TOKEN, E2eEnv, dnEvent } from '../e2e/e2e-support.js';
import { adminRequest } from '../helpers/admin-http.js';
import { LiveStreamReader } from '../helpers/live-stream.js';
import type { CtiTestClient } from '../helpers/cti-client.js';

describe('GET /api/events: the console live stream', () => {
  const env = new E2eEnv({ example: 'home-agent-phone.yaml', softswitchPort: 5081 });
  const readers: LiveStreamReader[] = [];
  let desk: CtiTestClient;
  beforeAll(() => env.start(), 60_000);
  afterAll(async () => {
    for (const r of readers) r.close();
    await env.stop();
  });
  const open = async (token: string | undefined): Promise<LiveStreamReader> => {
    const r = await LiveStreamReader.open(env.server.httpUrl!, token);
    readers.push(r);
    return r;
  };

  it('answers 401 without the token or with a wrong one, and never streams', async () => {
    for (const t of [undefined, 'wrong-token']) {
      const r = await open(t);
      expect(r.status).toBe(401);
      await r.ended;
      expect(r.events).toEqual([]);
    }
  });

  it('sends the snapshot first, then agents, change-sets, devices and load deltas', async () => {
    const s = await open(E2E_TOKEN);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    const snap = await s.next('snapshot', () => true);
    expect(snap.index).toBe(0);
    expect(snap.data.status.agents).toContainEqual({ id: 'jay', dn: '8888', state: 'LoggedOut', workMode: 'Unknown' });
    expect(snap.data.status.devices).toMatchObject([{ dn: 'Softswitch', state: 'in-service' }]);
    expect(snap.data.status.config).toMatchObject({ queueDepth: 0, applying: false });
    expect(snap.data.status.load.cpuCount).toBeGreaterThan(0);
    expect(snap.data.calls).toEqual([]);
    expect(snap.data.deviceHistory.Softswitch).toMatchObject([{ state: 'in-service' }]);
    const version = snap.data.status.config!.version;

    // An agent logs in and goes Not Ready with a reason: agents deltas, reasonCode in /api/status too.
    desk = await env.agentDesk('jay', 'jay-secret', '8888', { agentPhone: '+1 555 123 2222' });
    await s.next('agents', (rows) => rows.some((a) => a.id === 'jay' && a.state === 'Ready'));
    desk.send('RequestAgentNotReady', { thisDN: '8888', workMode: 'AuxWork', reasonCode: 'Lunch' });
    await desk.waitFor(dnEvent('EventAgentNotReady', '8888'));
    const nr = await s.next('agents', (rows) => rows.some((a) => a.state === 'NotReady'));
    expect(nr.data).toEqual([
      {
        id: 'jay',
        dn: '8888',
        state: 'NotReady',
        workMode: 'AuxWork',
        agentPhone: '+15551232222',
        reasonCode: 'Lunch',
      },
    ]);
    const st = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/status?sections=agents');
    expect(st.json.agents).toContainEqual(expect.objectContaining({ id: 'jay', reasonCode: 'Lunch' }));

    // A change-set: one change-sets delta with its version, size and counts.
    const from = s.events.length;
    const cs = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'POST', '/api/config/change-sets', {
      changes: [
        { op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '1', 'oos-force': '1' } } },
      ],
    });
    expect(cs.status).toBe(200);
    expect(cs.json.version).toBe(version + 1);
    const delta = await s.next('change-sets', () => true, { from });
    expect(delta.data).toEqual([
      {
        version: version + 1,
        time: expect.any(String),
        origin: 'api',
        size: 1,
        counts: { 'dn patch': 1 },
        firstKeys: ['Softswitch'],
      },
    ]);

    // Probes every second now: devices deltas with lastProbe moving; then the SBC stops: out of service.
    const p1 = await s.next('devices', (d) => d.devices.some((x) => x.dn === 'Softswitch'), { from });
    const p2 = await s.next('devices', (d) => d.devices[0]?.lastProbe !== p1.data.devices[0].lastProbe, {
      from: p1.index + 1,
    });
    expect(Date.parse(p2.data.devices[0].lastProbe!)).toBeGreaterThan(Date.parse(p1.data.devices[0].lastProbe!));
    await env.sbc.stop();
    const out = await s.next('devices', (d) => d.devices.some((x) => x.state === 'out-of-service'), {
      from: p2.index,
      timeoutMs: 10_000,
    });
    expect(out.data.transitions.Softswitch).toMatchObject([{ state: 'out-of-service', reason: expect.any(String) }]);

    // load every second, with the config queue.
    const loads = await s.next('load', (l) => l.config.version === version + 1);
    expect(loads.data.load.cpuCount).toBeGreaterThan(0);
    expect(s.of('snapshot')).toHaveLength(1);
  }, 60_000);

  it('streams a routed call as calls deltas (changed, then ended) and a registration as a registrations delta', async () => {
    const s = await open(E2E_TOKEN);
    await s.next('snapshot', () => true);
    await env.swapSbc('e2e-uas-sbc-answer.xml');
    await s.next('devices', (d) => d.devices.some((x) => x.dn === 'Softswitch' && x.state === 'in-service'));
    desk.send('RequestAgentReady', { thisDN: '8888' });
    await s.next('agents', (rows) => rows.some((a) => a.id === 'jay' && a.state === 'Ready'));

    const customer = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 1500 });
    const est = await s.next('calls', (c) => c.changed.some((x) => x.state === 'established'));
    const call = est.data.changed.find((x) => x.state === 'established')!;
    expect(call).toMatchObject({ callType: 'Inbound', dnis: '5000', parties: expect.arrayContaining(['8888']) });
    expect(est.data.active).toBeGreaterThan(0);
    const live = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/calls');
    expect(live.json.items).toContainEqual(expect.objectContaining({ connId: call.connId }));
    expect(await customer.waitExit(20_000), customer.errors()).toBe(0);
    const ended = await s.next('calls', (c) => c.ended.includes(call.connId), { from: est.index + 1 });
    expect(ended.data.changed.map((x) => x.connId)).not.toContain(call.connId);
    // Every calls event of this call before its end said it was live.
    for (const e of s.events.slice(0, ended.index))
      if (e.event === 'calls') expect(e.data.ended).not.toContain(call.connId);

    await env.registerPhone();
    const reg = await s.next('registrations', (r) => r.some((x) => x.dn === '8888' && x.bindings.length > 0));
    expect(reg.data.find((x) => x.dn === '8888')!.bindings).toMatchObject([
      { dn: '8888', contact: expect.stringMatching(/^sip:8888@127\.0\.0\.1:\d+/), expires: expect.any(Number) },
    ]);
  }, 60_000);

  it('lists live calls at GET /api/calls and searches DNs with ?q=', async () => {
    const calls = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/calls');
    expect(calls).toMatchObject({ status: 200, json: { items: [] } });
    const q = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/dns?q=888');
    expect(q.json).toMatchObject({ total: 1, items: [{ number: '8888', type: 'extension', hasPassword: true }] });
    const byType = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/dns?q=ROUTING&limit=1');
    expect(byType.json).toMatchObject({ total: 1, items: [{ number: '5000' }] });
    const none = await adminRequest(env.server.httpUrl!, E2E_TOKEN, 'GET', '/api/dns?q=zzz');
    expect(none.json).toEqual({ items: [], total: 0 });
  });

  it('ends every stream when the server stops', async () => {
    const s = await open(E2E_TOKEN);
    await s.next('snapshot', () => true);
    await env.server.stop();
    await s.ended;
  }, 30_000);
});
