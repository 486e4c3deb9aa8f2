/**
 * The SIP stack's configurable limits come from the configuration file: with
 * `sip-max-connections-per-ip: "3"` a peer that opens ten idle TCP connections keeps three, and
 * `sip-connection-idle-timeout: "1"` closes those after a second of silence.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

function openIdle(port: number): Promise<{ socket: Socket; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closedAt = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closedAt }));
    socket.once('error', reject);
  });
}

describe('SIP limits from the configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  let srv: ServerProcess | undefined;
  afterAll(async () => {
    await srv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('caps idle connections per IP and closes idle ones after the configured timeout', async () => {
    const port = await freePort();
    const config = join(dir, 'limits.yaml');
    writeFileSync(
      config,
      [
        'server:',
        '  name: Limits',
        '  sip:',
        `    listen: ["tcp:127.0.0.1:${port}"]`,
        '  options:',
        '    sip-max-connections-per-ip: "3"',
        '    sip-connection-idle-timeout: "1"',
        '',
      ].join('\n'),
    );
    srv = await startServerProcess({ config });
    const started = Date.now();
    const conns = await Promise.all(Array.from({ length: 10 }, () => openIdle(port)));
    // The server refuses the connections over the limit at once: 7 close within a short while.
    const closedEarly = await Promise.all(
      conns.map((c) =>
        Promise.race([c.closedAt.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]),
      ),
    );
    expect(closedEarly.filter((x) => x).length).toBe(7);
    // The three kept ones are closed by the idle timeout (1 s), not before.
    const kept = conns.filter((_, i) => !closedEarly[i]);
    expect(kept).toHaveLength(3);
    const times = await Promise.all(kept.map((c) => c.closedAt));
    for (const t of times) {
      expect(t - started).toBeGreaterThanOrEqual(900);
      expect(t - started).toBeLessThan(5000);
    }
  });
});
