import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, ServerDownError, ServerRefusedError } from '../../../../src/cli/admin-client.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A loopback HTTP server answering with `handler`; its base URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('AdminClient', () => {
  it('waits out 503 + Retry-After and sends the change-set again, with ifVersion and the token', async () => {
    const seen: { auth?: string; body: string }[] = [];
    const url = await serve((req, res, body) => {
      seen.push({ auth: req.headers.authorization, body });
      if (seen.length < 3)
        json(res, 503, { errors: [{ index: -1, message: 'configuration queue full' }] }, { 'retry-after': '1' });
      else json(res, 200, { version: 8, applied: 1 });
    });
    const waits: number[] = [];
    const c = new AdminClient(url, 'tok', { sleep: async (ms) => void waits.push(ms) });
    const changes = [{ op: 'delete' as const, kind: 'dn' as const, key: '7000' }];
    expect(await c.changeSet(changes, 7)).toEqual({ ok: true, version: 8 });
    expect(waits).toEqual([1000, 1000]);
    expect(seen.map((s) => s.auth)).toEqual(['Bearer tok', 'Bearer tok', 'Bearer tok']);
    expect(JSON.parse(seen[2]!.body)).toEqual({ changes, ifVersion: 7 });
  });

  it('dnRemovals pages through the change feed: the latest change-set that deleted each DN asked for', async () => {
    // Versions 11..55: 7000 deleted at 12 and 40 (re-created between), 7001 at 30, 7002 never.
    const feed = Array.from({ length: 45 }, (_, i) => {
      const version = 11 + i;
      const del = (key: string) => ({ op: 'delete', kind: 'dn', key, old: { number: key }, new: null });
      const changes =
        version === 12 || version === 40
          ? [del('7000')]
          : version === 30
            ? [{ op: 'put', kind: 'agent', key: '7001', old: {}, new: null }, del('7001'), del('7009')]
            : [{ op: 'put', kind: 'dn', key: '7000', old: null, new: { number: '7000' } }];
      return { version, time: 't', changes };
    });
    const asked: string[] = [];
    const url = await serve((req, res) => {
      asked.push(req.url!);
      const q = new URL(req.url!, 'http://x').searchParams;
      const since = Number(q.get('since'));
      const limit = Number(q.get('limit'));
      json(res, 200, { version: 55, changeSets: feed.filter((c) => c.version > since).slice(0, limit) });
    });
    const c = new AdminClient(url, 'tok');
    expect([...(await c.dnRemovals(['7000', '7001', '7002'], 10))]).toEqual([
      ['7000', 40],
      ['7001', 30],
    ]);
    expect(asked).toEqual([
      '/api/config/changes?since=10&limit=20',
      '/api/config/changes?since=30&limit=20',
      '/api/config/changes?since=50&limit=20',
    ]);
    expect(await c.dnRemovals([], 0)).toEqual(new Map());
    expect(asked).toHaveLength(3);
  });

  it('409 is a conflict with the current version; 422 lists the errors; 401 is refused', async () => {
    let answer: [number, unknown] = [
      409,
      { errors: [{ index: -1, message: 'configuration is at version 9, not 7' }], version: 9 },
    ];
    const url = await serve((_req, res) => json(res, ...answer));
    const c = new AdminClient(url, 'tok');
    expect(await c.changeSet([], 7)).toEqual({ ok: false, conflict: true, version: 9 });
    answer = [422, { errors: [{ index: 0, message: 'DN x: bad' }] }];
    expect(await c.changeSet([])).toEqual({ ok: false, conflict: false, errors: [{ index: 0, message: 'DN x: bad' }] });
    answer = [401, {}];
    await expect(c.status()).rejects.toBeInstanceOf(ServerRefusedError);
  });

  it('a server that does not answer in time or refuses the connection is ServerDownError', async () => {
    const url = await serve(() => undefined); // never answers
    await expect(new AdminClient(url, 'tok', { timeoutMs: 200 }).status()).rejects.toBeInstanceOf(ServerDownError);
    await new Promise((r) => server!.close(r));
    server = undefined;
    await expect(new AdminClient(url, 'tok').status()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('asks /api/status for sections and agents; a server without the query is read whole, agents filtered here', async () => {
    const agents = [
      { id: 'a', dn: '7000', state: 'BusyReady' },
      { id: 'b', dn: '7001', state: 'LoggedOut' },
      { id: 'c', dn: '7002', state: 'Ready' },
    ];
    let knowsQuery = true;
    const urls: string[] = [];
    const url = await serve((req, res) => {
      urls.push(req.url!);
      if (req.url === '/api/status') json(res, 200, { agents, devices: [], load: { cpuPercent: 1 } });
      else if (knowsQuery) json(res, 200, { agents: [agents[0]] });
      else json(res, 422, { errors: [{ index: -1, message: 'querystring: unknown' }] });
    });
    const c = new AdminClient(url, 'tok');
    expect((await c.status({ sections: ['agents'], agentState: 'busy' })).agents).toEqual([agents[0]]);
    expect(urls).toEqual(['/api/status?sections=agents&agentState=busy']);
    knowsQuery = false;
    const old = new AdminClient(url, 'tok');
    expect((await old.status({ sections: ['agents'], agentState: 'logged-in' })).agents).toEqual([
      agents[0],
      agents[2],
    ]);
    expect((await old.status({ sections: ['agents'], agentState: 'busy' })).agents).toEqual([agents[0]]);
    // After the first refusal the query form is not tried again.
    expect(urls.slice(1)).toEqual(['/api/status?sections=agents&agentState=logged-in', '/api/status', '/api/status']);
  });

  it('reads DN statuses in one POST /api/dns/status; without it, one GET per DN', async () => {
    let bulk = true;
    const seen: string[] = [];
    const url = await serve((req, res, body) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/api/dns/status' && bulk) {
        const { numbers } = JSON.parse(body) as { numbers: string[] };
        json(res, 200, {
          items: numbers.map((n) =>
            n === 'x' ? { number: n, error: 'unknown DN' } : { number: n, mode: 'softswitch', inService: true },
          ),
        });
      } else if (req.url === '/api/dns/status') json(res, 404, { error: 'not found' });
      else if (req.url === '/api/dns/x/status') json(res, 404, { error: 'DN x not found' });
      else json(res, 200, { mode: 'softswitch', inService: true });
    });
    const want = new Map([
      ['+1', { number: '+1', mode: 'softswitch', inService: true }],
      ['x', null],
    ]);
    expect(await new AdminClient(url, 'tok').dnStatuses(['+1', 'x'])).toEqual(want);
    expect(seen).toEqual(['POST /api/dns/status']);
    bulk = false;
    seen.length = 0;
    const got = await new AdminClient(url, 'tok').dnStatuses(['+1', 'x']);
    expect([...got.entries()]).toEqual([
      ['+1', { mode: 'softswitch', inService: true }],
      ['x', null],
    ]);
    expect(seen[0]).toBe('POST /api/dns/status');
    expect(seen.slice(1).sort()).toEqual(['GET /api/dns/%2B1/status', 'GET /api/dns/x/status']);
  });
});
