/**
 * Debian's baresip (1.0, libre 1.1) as a real SIP phone in tests: headless, registering one
 * account, stopped by the test at a moment of its choosing. Its readiness is what it prints
 * ("200 OK", "403 Forbidden") or what the registrar shows; see {@link BaresipPeer.output}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running baresip with its generated configuration directory. */
export class BaresipPeer {
  /** stdout and stderr so far. */
  output = '';
  private readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    private readonly configDir: string,
  ) {
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Send `signal` (SIGTERM: baresip unregisters on its way out) and wait for the exit (SIGKILL
   * after 3 s); remove the configuration directory.
   */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

/** Options of {@link startBaresip}. */
export interface BaresipOptions {
  /** Local IP address (default 127.0.0.1): another loopback address stands for another host. */
  host?: string;
  /**
   * Commands run at start (`-e`, e.g. `/dial 7777`): loads the `menu` module (the commands) and
   * `g711` (a codec, so that a call has an SDP offer); SIP trace on (`-s`) to see the exchange.
   */
  commands?: string[];
  /**
   * Answer incoming calls by itself (account `answermode=auto`): an office phone whose user picks
   * up at once. Loads `g711` so that it can answer an offer.
   */
  autoAnswer?: boolean;
}

/**
 * Start baresip headless: a generated config directory (`-f DIR`), only the `account` module (no
 * audio, no menu, no stdio UI — unless `commands` are given), UDP SIP on `host`:`localPort` (and
 * nothing but loopback), one account registering `user` at `registrar` (`host:port`) with
 * `password` (digest).
 */
export function startBaresip(
  user: string,
  registrar: string,
  localPort: number,
  password: string,
  opts: BaresipOptions = {},
): BaresipPeer {
  const host = opts.host ?? '127.0.0.1';
  const cfg = mkdtempSync(join(tmpdir(), 'baresip-'));
  writeFileSync(
    join(cfg, 'config'),
    [
      'poll_method\tepoll',
      `sip_listen\t${host}:${localPort}`,
      'module_path\t/usr/lib/baresip/modules',
      'module_app\taccount.so',
      ...(opts.commands || opts.autoAnswer ? ['module\tg711.so'] : []),
      ...(opts.commands ? ['module_app\tmenu.so'] : []),
      'audio_player\tnone',
      'audio_source\tnone',
      // Its local address is loopback, named: left to itself baresip looks for a non-loopback
      // interface and, on a host with only `lo` (a network namespace, a container), refuses to
      // register ("Protocol not supported").
      `net_interface\t${host}`,
      '',
    ].join('\n'),
  );
  const answer = opts.autoAnswer ? ';answermode=auto' : '';
  writeFileSync(
    join(cfg, 'accounts'),
    `<sip:${user}@${registrar};transport=udp>;auth_pass=${password};regint=600${answer}\n`,
  );
  const trace = opts.commands || opts.autoAnswer ? ['-s'] : [];
  const args = ['-f', cfg, ...trace, ...(opts.commands ?? []).flatMap((c) => ['-e', c])];
  const child = spawn('baresip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new BaresipPeer(child, cfg);
}
