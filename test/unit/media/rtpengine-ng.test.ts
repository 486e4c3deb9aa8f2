/**
 * The rtpengine ng client without rtpengine: address parsing, the `rtpengine-ng` option, request
 * framing and retransmission with one cookie against a UDP socket of the test, and the pool's
 * round-robin past an rtpengine that does not answer.
 */
import { createSocket, type Socket } from 'node:dgram';
import bencode from 'bencode';
import { afterEach, describe, expect, it } from 'vitest';
import { checkOptionValue, OPTION_TABLE } from '../../../src/config/option-table.js';
import { parseNgList } from '../../../src/media/rtpengine/index.js';
import { NgClient, NgCommandError, NgTimeoutError, parseNgAddress } from '../../../src/media/rtpengine/ng-client.js';
import { NgPool } from '../../../src/media/rtpengine/ng-pool.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A fake ng server on loopback: records requests, answers with `reply(cookie, dict, n)` (or not). */
async function fakeNg(
  reply: (dict: Record<string, unknown>, n: number) => Record<string, unknown> | undefined,
): Promise<{ port: number; cookies: string[]; commands: string[] }> {
  const s = createSocket('udp4');
  sockets.push(s);
  const seen = { port: 0, cookies: [] as string[], commands: [] as string[] };
  s.on('message', (msg, r) => {
    const space = msg.indexOf(0x20);
    const cookie = msg.subarray(0, space).toString();
    const dict = bencode.decode(msg.subarray(space + 1)) as Record<string, unknown>;
    seen.cookies.push(cookie);
    seen.commands.push(new TextDecoder().decode(dict['command'] as Uint8Array));
    const answer = reply(dict, seen.cookies.length);
    if (answer) s.send(Buffer.concat([Buffer.from(`${cookie} `), bencode.encode(answer)]), r.port, r.address);
  });
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  seen.port = s.address().port;
  return seen;
}

describe('ng addresses', () => {
  it('parses udp:HOST:PORT, HOST:PORT and [v6]:PORT; refuses the rest with the example', () => {
    expect(parseNgAddress('udp:127.0.0.1:2223')).toEqual({ host: '127.0.0.1', port: 2223 });
    expect(parseNgAddress('rtp1.example:2223')).toEqual({ host: 'rtp1.example', port: 2223 });
    expect(parseNgAddress('udp:[::1]:2223')).toEqual({ host: '::1', port: 2223 });
    for (const bad of ['tcp:127.0.0.1:2223', '127.0.0.1', 'udp:127.0.0.1:0', 'udp:127.0.0.1:70000', ''])
      expect(() => parseNgAddress(bad)).toThrow(/is not an rtpengine ng address such as udp:127.0.0.1:2223/);
  });

  it('option rtpengine-ng: a comma-separated list, default udp:127.0.0.1:2223', () => {
    expect(parseNgList(' udp:127.0.0.11:2223 , udp:127.0.0.12:2223 ')).toEqual([
      { host: '127.0.0.11', port: 2223 },
      { host: '127.0.0.12', port: 2223 },
    ]);
    expect(parseNgList(undefined)).toEqual([{ host: '127.0.0.1', port: 2223 }]);
    expect(() => parseNgList('udp:a:1,b')).toThrow(/^option rtpengine-ng: "b" is not/);
    const spec = OPTION_TABLE.find((o) => o.name === 'rtpengine-ng')!;
    expect(checkOptionValue(spec, 'udp:127.0.0.1:2223,udp:127.0.0.2:2223')).toBeUndefined();
    expect(checkOptionValue(spec, 'udp:127.0.0.1:2223,nope')).toMatch(/\("nope" is not one\)/);
    const kind = OPTION_TABLE.find((o) => o.name === 'media-server')!;
    expect(checkOptionValue(kind, 'rtpengine')).toBeUndefined();
    expect(checkOptionValue(kind, 'freeswitch')).toMatch(/one of builtin, rtpengine/);
  });
});

describe('ng client', () => {
  it('sends COOKIE <bencode>, decodes byte strings, and retransmits with the same cookie', async () => {
    const fake = await fakeNg((d, n) => (n < 3 ? undefined : { result: 'ok', sdp: 'v=0', n: 7, echo: d['x'] }));
    const c = new NgClient({ host: '127.0.0.1', port: fake.port }, { retransmitMs: 50, tries: 4 });
    try {
      const r = await c.request('offer', { x: 'y' });
      expect(r).toEqual({ result: 'ok', sdp: 'v=0', n: 7, echo: 'y' });
      expect(fake.commands).toEqual(['offer', 'offer', 'offer']);
      expect(new Set(fake.cookies).size).toBe(1);
    } finally {
      c.close();
    }
  });

  it('result error → NgCommandError with the reason; no answer → NgTimeoutError after the last try', async () => {
    const fake = await fakeNg((d) =>
      new TextDecoder().decode(d['command'] as Uint8Array) === 'query'
        ? { result: 'error', 'error-reason': 'Unknown call-id' }
        : undefined,
    );
    const c = new NgClient({ host: '127.0.0.1', port: fake.port }, { retransmitMs: 30, tries: 3 });
    try {
      const q = c.request('query', { 'call-id': 'x' });
      await expect(q).rejects.toThrow(NgCommandError);
      await expect(q).rejects.toThrow(`rtpengine at udp:127.0.0.1:${fake.port} refused 'query': Unknown call-id`);
      await expect(c.ping()).rejects.toThrow(NgTimeoutError);
      expect(fake.commands.filter((x) => x === 'ping')).toHaveLength(3);
    } finally {
      c.close();
    }
    await expect(c.request('ping')).rejects.toThrow(/closed/);
  });
});

describe('ng pool', () => {
  it('round-robin; one that times out is skipped for a while and the request goes to the next', async () => {
    const silent = await fakeNg(() => undefined);
    const a = await fakeNg(() => ({ result: 'ok' }));
    const b = await fakeNg(() => ({ result: 'ok' }));
    let now = 0;
    const clients = [silent, a, b].map(
      (f) => new NgClient({ host: '127.0.0.1', port: f.port }, { retransmitMs: 30, tries: 2 }),
    );
    const pool = new NgPool(clients, 10_000, () => now);
    try {
      const first = await pool.requestAny('offer', {});
      expect(first.client).toBe(clients[1]);
      expect(silent.commands).toEqual(['offer', 'offer']);
      expect(pool.isDead(clients[0]!)).toBe(true);
      expect((await pool.requestAny('offer', {})).client).toBe(clients[2]);
      expect((await pool.requestAny('offer', {})).client).toBe(clients[1]);
      expect(silent.commands).toHaveLength(2);
      now = 10_001;
      expect(pool.isDead(clients[0]!)).toBe(false);
      expect(pool.pick(new Set())).toBe(clients[2]);
      expect(pool.pick(new Set())).toBe(clients[0]);
    } finally {
      pool.close();
    }
    expect(() => new NgPool([])).toThrow(/no rtpengine given/);
  });
});
