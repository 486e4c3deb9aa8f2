#!/usr/bin/env -S node --use-largepages=silent --no-memory-reducer --min-semi-space-size=16
/**
 * `sipserver` command line (interfaces §1). Each command lives in its own module, loaded only when
 * it is the one run (`sipserver migrate …` loads the migration code, not the server's modules);
 * `--help` or an unknown command loads them all so the help lists every command.
 */
import { Command } from 'commander';

type Register = (program: Command) => void;

/** Command name → loader of the module that registers it (and its siblings). */
const COMMANDS: Record<string, () => Promise<Register>> = {
  start: async () => (await import('./cmd-start.js')).registerStartCommand,
  config: async () => (await import('./cmd-config.js')).registerConfigCommands,
  migrate: async () => (await import('./cmd-migrate.js')).registerMigrateCommands,
  parse: async () => (await import('./cmd-parse.js')).registerParseCommand,
};

async function main(): Promise<void> {
  const program = new Command();
  program.name('sipserver').description('Contact-center SIP Server').version('0.1.0');
  const chosen = process.argv[2];
  const loaders = chosen !== undefined && COMMANDS[chosen] ? [COMMANDS[chosen]] : Object.values(COMMANDS);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`sipserver: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
