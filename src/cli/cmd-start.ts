/**
 * `sipserver start --config FILE [--data DIR] [--sip-listen LIST]` (interfaces §1).
 */
import type { Command } from 'commander';
import { App, readSipSettings, type SipSettings } from '../app.js';

/** Options of the start command. */
interface StartOptions {
  config?: string;
  data: string;
  sipListen?: string;
}

/**
 * Register `start`: reads the configuration, starts the server, prints one line per SIP
 * address it listens on (`SIP listening on udp:127.0.0.1:5060`), then logs. SIGTERM/SIGINT stop
 * it cleanly with exit code 0. `--sip-listen` (comma-separated) replaces `server.sip.listen`.
 * With `SIPSERVER_DEBUG_MEMSTATS=1`, SIGUSR2 runs a GC (when node has `--expose-gc`) and prints
 * `MEMSTATS {"rss":…,"heapUsed":…}` on stdout (leak tests).
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the server')
    .option('--config <file>', 'configuration file (YAML)')
    .option('--data <dir>', 'data directory', './data')
    .option('--sip-listen <list>', 'comma-separated SIP listen specs, overriding server.sip.listen')
    .action(async (opts: StartOptions) => {
      let sip: SipSettings = opts.config ? await readSipSettings(opts.config) : { listen: [] };
      if (opts.sipListen) sip = { ...sip, listen: opts.sipListen.split(',').map((s) => s.trim()).filter((s) => s !== '') };
      if (sip.listen.length === 0) throw new Error('nothing to listen on: give --config with server.sip.listen, or --sip-listen');
      const app = new App({ sip, dataDir: opts.data });
      await app.start();
      for (const a of app.sip.addressStrings()) process.stdout.write(`SIP listening on ${a}\n`);
      app.logger.info({ sip: app.sip.addressStrings() }, 'server started');
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'stopping');
        app
          .stop()
          .then(() => process.exit(0))
          .catch((err: unknown) => {
            app.logger.error({ err }, 'error while stopping');
            process.exit(1);
          });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      if (process.env.SIPSERVER_DEBUG_MEMSTATS === '1') {
        process.on('SIGUSR2', () => {
          const gc = (globalThis as { gc?: () => void }).gc;
          if (gc) {
            gc();
            gc();
          }
          const m = process.memoryUsage();
          process.stdout.write(`MEMSTATS ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, transactions: app.sip.transactionCount })}\n`);
        });
      }
    });
}
