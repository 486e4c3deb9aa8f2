/**
 * Debian's rtpengine (10.5) for tests: userspace only (`--table=-1`, no kernel module), no
 * configuration file (`--config-file=none`: the package's /etc/rtpengine/rtpengine.conf would add
 * fixed CLI and HTTP ports), ng on a free loopback port, RTP on a random range of 20000–31999.
 * Ready when `ping` answers `pong`; {@link RtpengineDaemon.stop} kills it (afterAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NgClient } from '../../src/media/rtpengine/ng-client.js';
import { randomPortRange } from './media.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** A running rtpengine. */
export class RtpengineDaemon {
  /** stderr (its log) so far. */
  log = '';
  private readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    /** `udp:127.0.0.1:PORT`, for the `rtpengine-ng` option. */
    readonly ng: string,
    readonly ngPort: number,
    readonly portMin: number,
    readonly portMax: number,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines of its log, for error messages. */
  tail(lines = 20): string {
    return this.log.split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM, SIGKILL after 3 s; removes its directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts rtpengine on loopback and waits (up to 10 s) for `pong`. */
export async function startRtpengine(): Promise<RtpengineDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpengine-'));
  const ngPort = await freePort();
  const { portMin, portMax } = randomPortRange();
  const child = spawn(
    'rtpengine',
    [
      '--config-file=none',
      '--foreground',
      '--table=-1',
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${portMin}`,
      `--port-max=${portMax}`,
      `--pidfile=${join(dir, 'rtpengine.pid')}`,
      '--log-stderr',
      '--log-level=5',
      '--delete-delay=0',
      // As docs/media.md says to run it: a park device need not receive RTP to keep its call.
      '--timeout=86400',
      '--silent-timeout=86400',
      '--num-threads=1',
      '--media-num-threads=1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const d = new RtpengineDaemon(child, `udp:127.0.0.1:${ngPort}`, ngPort, portMin, portMax, dir);
  const client = new NgClient({ host: '127.0.0.1', port: ngPort }, { retransmitMs: 100, tries: 2 });
  try {
    await waitFor(
      async () => {
        if (!d.running) throw new Error(`rtpengine exited: ${d.tail()}`);
        await client.ping();
        return true;
      },
      { what: 'rtpengine to answer ping', timeoutMs: 10_000, detail: () => d.tail() },
    );
  } catch (e) {
    await d.stop();
    throw e;
  } finally {
    client.close();
  }
  return d;
}
