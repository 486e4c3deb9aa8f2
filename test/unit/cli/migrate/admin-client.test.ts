import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, ServerDownError, ServerRefusedError } from '../../../../src/cli/migrate/admin-client.js';

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
});
