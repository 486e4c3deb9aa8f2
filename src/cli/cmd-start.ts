/**
 * `sipserver start --config FILE [--data DIR] [--sip-listen LIST]` (interfaces §1).
 */
import type { Command } from 'commander';
import { App } from '../app.js';
import { ConfigFileError } from '../config/config-bootstrap.js';
import { announceStartedNode, openPgStoreForStart } from './start-store.js';
import { StoreStartError, type PgConfigBackend } from '../config/pg/pg-config-backend.js';
import { createLogger } from '../util/logger.js';

/** Options of the start command. */
interface StartOptions {
  config?: string;
  data: string;
  sipListen?: string;
  httpListen?: string;
  redis?: string;
  node?: string;
  store?: string;
}

/**
 * Register `start`: reads the configuration, starts the server, prints one line per SIP
 * address it listens on (`SIP listening on udp:127.0.0.1:5060`), then logs. SIGTERM/SIGINT stop
 * it cleanly with exit code 0. `--sip-listen` (comma-separated) replaces `server.sip.listen`.
 * With `SIPSERVER_DEBUG_MEMSTATS=1`, SIGUSR2 runs a GC (when node has `--expose-gc`) and prints
 * `MEMSTATS {"rss":…,"heapUsed":…}` on stdout (leak tests).
 *
 * Errors that reach the process (docs/calls.md, "Resilience"): call control owns its detached
 * work, so these are bugs outside any call. An `unhandledRejection` is logged with its reason and
 * counted (`sipserver_process_errors_total`); the server keeps running, since a rejected promise
 * leaves no half-done synchronous state. An `uncaughtException` is logged at `fatal` with the
 * error and counted, then the process exits with code 70 (EX_SOFTWARE) without a clean stop: after
 * an uncaught throw Node cannot say what state was left half-changed (Node docs, "Warning: using
 * 'uncaughtException' correctly"), so a supervisor restarts it; the calls it had are reported as
 * lost at the next start.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the server')
    .option('--config <file>', 'configuration file (YAML)')
    .option('--data <dir>', 'data directory', './data')
    .option('--sip-listen <list>', 'comma-separated SIP listen specs, overriding server.sip.listen')
    .option('--http-listen <host:port>', 'HTTP listen address, overriding server.http.listen')
    .option('--redis <url>', 'Redis of a cluster (redis://host:port): registrations shared with the other nodes')
    .option('--node <name>', "this node's name in a cluster (default HOST-PID)")
    .option(
      '--store <url>',
      'configuration store of record, postgres://USER:PASSWORD@HOST:PORT/DB (default: the embedded store in --data)',
    )
    .action(async (opts: StartOptions) => {
      const sipListen = opts.sipListen
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      let app: App;
      const logger = createLogger();
      let backend: PgConfigBackend | undefined;
      try {
        if (opts.store) backend = await openPgStoreForStart(opts.store, opts.data, opts.config, logger);
        app = App.create({
          configFile: opts.config,
          dataDir: opts.data,
          sipListen,
          httpListen: opts.httpListen,
          redisUrl: opts.redis,
          nodeName: opts.node,
          logger,
          ...(backend ? { backend } : {}),
        });
      } catch (e) {
        if (e instanceof ConfigFileError) {
          for (const p of e.problems) process.stderr.write(`${p}\n`);
          process.exit(1);
        }
        if (e instanceof StoreStartError) {
          process.stderr.write(`sipserver: ${e.message}\n`);
          process.exit(1);
        }
        throw e;
      }
      process.on('unhandledRejection', (reason: unknown) => {
        app.countProcessError('unhandledRejection');
        app.logger.error({ err: reason }, 'unhandled promise rejection: logged, server keeps running');
      });
      process.on('uncaughtException', (err: Error, origin: string) => {
        try {
          app.countProcessError('uncaughtException');
          app.logger.fatal(
            { err, origin, activeCalls: app.calls.b2bua.activeCalls },
            'uncaught exception: exiting for a restart',
          );
        } finally {
          process.exit(70);
        }
      });
      try {
        await app.start();
      } catch (e) {
        process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
        await app.stop().catch(() => undefined);
        process.exit(1);
      }
      // With the store of record: in the node list Kamailio reads, until a clean stop.
      if (backend) await announceStartedNode(backend, app.sip.addresses(), app.nodeName, app.logger);
      for (const a of app.sipAddresses()) process.stdout.write(`SIP listening on ${a}\n`);
      process.stdout.write(`HTTP listening on ${app.url}\n`);
      app.logger.info({ sip: app.sipAddresses(), http: app.url }, 'server started');
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'stopping');
        // Out of the node list first: Kamailio stops sending new requests while calls end.
        (backend ? backend.withdrawNode() : Promise.resolve())
          .then(() => app.stop())
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
          process.stdout.write(
            `MEMSTATS ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, transactions: app.sip.transactionCount, calls: app.calls.b2bua.activeCalls })}\n`,
          );
        });
      }
    });
}
