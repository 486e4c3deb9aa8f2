/**
 * `sipserver start`: reads server.sip.listen (or --sip-listen), prints the addresses, answers
 * SIP, and exits 0 on SIGTERM and SIGINT.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { examplesDir } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess } from '../helpers/server-process.js';

async function optionsStatus(port: number): Promise<number | undefined> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const lp = s.address().port;
  const got = new Promise<number | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), 2000);
    s.on('message', (b) => {
      clearTimeout(t);
      resolve(Number(b.toString('latin1').slice(8, 11)));
    });
  });
  s.send(
    `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKcli${lp}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: cli${lp}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    port,
    '127.0.0.1',
  );
  const status = await got;
  s.close();
  return status;
}

describe('sipserver start', () => {
  it('with examples/office.yaml and --sip-listen: prints the bound addresses, answers OPTIONS, SIGTERM → exit 0', async () => {
    const port = await freePort();
    const srv = await startServerProcess({
      config: join(examplesDir, 'office.yaml'),
      sipListen: [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`],
    });
    expect(srv.addresses).toEqual([`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`]);
    expect(await optionsStatus(port)).toBe(200);
    expect(await srv.stop()).toBe(0);
  });

  it('reads server.sip.listen from the config file; port 0 prints the real port; SIGINT → exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipcfg-'));
    try {
      const cfg = join(dir, 'c.yaml');
      writeFileSync(cfg, 'server:\n  name: T\n  sip:\n    listen: ["udp:127.0.0.1:0"]\n');
      const srv = await startServerProcess({ config: cfg });
      expect(srv.addresses).toHaveLength(1);
      const m = /^udp:127\.0\.0\.1:(\d+)$/.exec(srv.addresses[0]!);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(0);
      expect(await optionsStatus(Number(m![1]))).toBe(200);
      srv.child.kill('SIGINT');
      expect(await srv.waitExit()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sipserver start errors', () => {
  it('exits non-zero with a message when the port is taken', async () => {
    const port = await freePort();
    const a = await startServerProcess({ sipListen: [`udp:127.0.0.1:${port}`] });
    try {
      await expect(startServerProcess({ sipListen: [`udp:127.0.0.1:${port}`] })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      expect(await a.stop()).toBe(0);
    }
  });
});
