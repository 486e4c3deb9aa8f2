#!/usr/bin/env -S node --use-largepages=silent --no-memory-reducer --min-semi-space-size=16
/**
 * `sipserver` command line (interfaces §1). Each command lives in its own file and is
 * wired in here.
 */
import { Command } from 'commander';
import { registerStartCommand } from './cmd-start.js';
import { registerParseCommand } from './cmd-parse.js';
import { registerConfigCommands } from './cmd-config.js';
import { registerMigrateCommands } from './cmd-migrate.js';

const program = new Command();
program.name('sipserver').description('Contact-center SIP Server').version('0.1.0');
registerStartCommand(program);
registerConfigCommands(program);
registerMigrateCommands(program);
registerParseCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`sipserver: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
