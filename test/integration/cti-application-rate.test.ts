/**
 * CTI request rates per scope against the real server process (docs/cti-protocol.md "Limits and
 * abuse handling"; interfaces §4): an application-scope connection (a desktop gateway or a
 * router) logs in and readies 2,000 agents without being throttled; an agent-scope connection is
 * still throttled, and RATE_LIMITED answers carry the refused request's referenceId.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CTI_ERROR } from '../../src/api/cti/cti-error-codes.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const AGENTS = 2000;
const TOKEN = 'cti-rate-admin-token-0123';
const dnOf = (i: number): string => String(100_000 + i);

function config(): string {
  const lines = [
    'server:',
    '  name: SIP_Server',
    '  sip: { listen: ["udp:127.0.0.1:0"] }',
    `  http: { admin-token: "${TOKEN}" }`,
    'dns:',
  ];
  for (let i = 0; i < AGENTS; i++) lines.push(`  - { number: "${dnOf(i)}", type: extension }`);
  lines.push('agents:');
  for (let i = 0; i < AGENTS; i++) lines.push(`  - { id: a${i}, password: "pw-${i}", dn: "${dnOf(i)}" }`);
  return lines.join('\n') + '\n';
}

/** A raw CTI connection that counts what arrives (cheap for thousands of events). */
class Conn {
  readonly frames: Record<string, unknown>[] = [];
  closed: number | undefined;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', (code) => {
      this.closed = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(url: string): Promise<Conn> {
    const ws = new WebSocket(url);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return new Conn(ws);
  }
  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }
  async until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed !== undefined) return pred();
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }
  close(): void {
    this.ws.terminate();
  }
}

describe('CTI rate limits per scope, real server process', () => {
  let dir: string;
  let server: ServerProcess;
  let ctiUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-rate-'));
    const file = join(dir, 'agents.yaml');
    writeFileSync(file, config());
    server = await startServerProcess({ config: file, startTimeoutMs: 60_000 });
    ctiUrl = `${server.httpUrl!.replace(/^http/, 'ws')}/cti`;
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an application-scope connection logs in and readies 2,000 agents in under 10 s, never RATE_LIMITED', async () => {
    const c = await Conn.open(ctiUrl);
    try {
      c.send({ request: 'RequestOpen', referenceId: 'open', token: TOKEN });
      expect(await c.until(() => c.frames.some((f) => f.referenceId === 'open'), 5000)).toBe(true);
      expect(c.frames.find((f) => f.referenceId === 'open')).toMatchObject({
        event: 'EventOpened',
        scope: 'application',
      });

      const t0 = Date.now();
      // Login without a work mode = NotReady; then RequestAgentReady: 4,000 requests, sent as
      // fast as the socket takes them (no waiting between requests).
      for (let i = 0; i < AGENTS; i++)
        c.send({ request: 'RequestAgentLogin', referenceId: `login-${i}`, thisDN: dnOf(i), agentId: `a${i}` });
      for (let i = 0; i < AGENTS; i++)
        c.send({ request: 'RequestAgentReady', referenceId: `ready-${i}`, thisDN: dnOf(i), workMode: 'AutoIn' });
      const readies = (): number => c.frames.filter((f) => f.event === 'EventAgentReady').length;
      const errors = (): Record<string, unknown>[] => c.frames.filter((f) => f.event === 'EventError');
      await c.until(() => readies() >= AGENTS || errors().length > 0, 10_000);
      const ms = Date.now() - t0;
      expect(errors()).toEqual([]);
      expect(readies()).toBe(AGENTS);
      expect(c.frames.filter((f) => f.event === 'EventAgentLogin').length).toBe(AGENTS);
      expect(c.closed).toBeUndefined();
      expect(ms).toBeLessThan(10_000);

      // The server agrees: every agent is Ready.
      const status = (await (
        await fetch(`${server.httpUrl}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as {
        agents: { state: string }[];
      };
      expect(status.agents.filter((a) => a.state === 'Ready').length).toBe(AGENTS);
    } finally {
      c.close();
    }
  }, 30_000);

  it('an agent-scope connection is still throttled, and RATE_LIMITED carries the referenceId', async () => {
    const c = await Conn.open(ctiUrl);
    try {
      c.send({ request: 'RequestOpen', referenceId: 'open', agentId: 'a1', password: 'pw-1' });
      expect(await c.until(() => c.frames.some((f) => f.referenceId === 'open'), 5000)).toBe(true);
      expect(c.frames.find((f) => f.referenceId === 'open')).toMatchObject({ event: 'EventOpened', scope: 'agent' });
      for (let i = 0; i < 60; i++) c.send({ request: 'RequestQueryAddress', referenceId: `q-${i}`, thisDN: dnOf(1) });
      // 60 at once against a burst of 40: the rest is refused, and the 10th error closes the connection.
      const limited = (): Record<string, unknown>[] =>
        c.frames.filter((f) => f.errorCode === CTI_ERROR.RATE_LIMITED.code);
      await c.until(() => c.closed !== undefined, 5000);
      expect(limited().length).toBeGreaterThanOrEqual(10);
      for (const e of limited()) {
        expect(e.event).toBe('EventError');
        expect(String(e.referenceId)).toMatch(/^q-\d+$/);
      }
      expect(new Set(limited().map((e) => e.referenceId)).size).toBe(limited().length);
      expect(c.frames.filter((f) => f.event === 'EventAddressInfo').length).toBeLessThanOrEqual(40);
      expect(c.closed).toBe(1008);
    } finally {
      c.close();
    }
  }, 30_000);
});
