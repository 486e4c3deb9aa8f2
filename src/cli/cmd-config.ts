/**
 * `sipserver config validate|export|diff|options-doc` (interfaces §1).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ConfigInput } from '../config/config-model.js';
import { emptyModel } from '../config/config-model.js';
import { exportConfigYaml, formatProblem, loadConfigFile, loadConfigText, toYaml } from '../config/config-file.js';
import { describeChange, diffModels } from '../config/config-diff.js';
import { openStore } from '../config/config-store.js';
import { STORE_FILE } from '../config/store-database.js';
import { renderOptionsDoc } from '../config/options-doc.js';
import { redactModel } from '../config/secrets.js';
import { AdminClient, ServerDownError, ServerRefusedError } from './admin-client.js';

interface SourceOptions {
  server?: string;
  data?: string;
  token?: string;
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s: string): void => void process.stderr.write(s.endsWith('\n') ? s : s + '\n');

/** Thrown for a problem the user must fix; printed without a stack. */
class CliError extends Error {}

/** Reads the current configuration from a running server's admin API. */
async function fetchServerModel(
  url: string,
  token: string | undefined,
): Promise<{ model: ConfigInput; version: number }> {
  if (!token) throw new CliError('--server needs the admin token: --token TOKEN or SIPSERVER_TOKEN');
  const client = new AdminClient(url, token);
  let body: { version: number; config: unknown };
  try {
    body = await client.configDocument();
  } catch (e) {
    if (e instanceof ServerDownError) throw new CliError(`cannot reach ${client.base}: ${e.message}`);
    if (e instanceof ServerRefusedError) throw new CliError(e.message);
    throw e;
  }
  const base = client.base;
  const loaded = loadConfigText(toYaml(body.config), `${base}/api/config`);
  if (!loaded.model)
    throw new CliError(
      `the server sent a configuration this tool cannot read: ${loaded.errors.map((e) => e.message).join('; ')}`,
    );
  return { model: loaded.model, version: body.version };
}

/** Reads the current configuration from `--server` or the store in `--data` (default `./data`). */
async function currentModel(
  o: SourceOptions,
  allowMissingStore: boolean,
): Promise<{ model: ConfigInput; version: number; from: string }> {
  if (o.server) {
    const r = await fetchServerModel(o.server, o.token ?? process.env.SIPSERVER_TOKEN);
    return { ...r, from: o.server };
  }
  const dir = o.data ?? './data';
  if (!existsSync(join(dir, STORE_FILE))) {
    if (allowMissingStore) return { model: emptyModel(), version: 0, from: `${dir} (no store yet)` };
    throw new CliError(`no configuration store in ${dir} (use --data DIR or --server URL)`);
  }
  const store = openStore(dir, { readonly: true });
  try {
    return { model: store.exportModel(), version: store.version, from: dir };
  } finally {
    store.close();
  }
}

async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof CliError) {
      err(`sipserver: ${e.message}`);
      process.exitCode = 2;
    } else throw e;
  }
}

/** Registers `config` and its subcommands on the program. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('validate, export and compare configurations');

  config
    .command('validate')
    .description('exit 0 if FILE is valid; otherwise print every problem as FILE:LINE: message and exit 1')
    .argument('<file>', 'YAML configuration file')
    .option('-q, --quiet', 'do not print warnings')
    .action(async (file: string, o: { quiet?: boolean }) =>
      run(async () => {
        const r = loadConfigFile(file);
        for (const e of r.errors) err(formatProblem(e));
        if (!o.quiet) for (const w of r.warnings) err(formatProblem(w, 'warning'));
        if (!r.model) return 1;
        out(
          `${file}: valid (${r.model.dns.length} DNs, ${r.model.agents.length} agents, ${r.model.agentGroups.length} agent groups)`,
        );
        return 0;
      }),
    );

  config
    .command('export')
    .description(
      'print the current configuration as YAML in the file format (round-trips through start --config); secrets only with --with-secrets',
    )
    .option('--server <url>', 'read from a running server (admin API; it never returns secrets)')
    .option('--data <dir>', 'read the store in this data directory', './data')
    .option('--token <token>', 'admin token for --server (default: SIPSERVER_TOKEN)')
    .option('--with-secrets', 'include agent and DN passwords and the admin token (with --data only)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (o: SourceOptions & { output?: string; withSecrets?: boolean }) =>
      run(async () => {
        if (o.withSecrets && o.server) {
          throw new CliError(
            '--with-secrets needs --data DIR: the admin API never returns secrets (passwords, the admin token)',
          );
        }
        const cur = await currentModel(o, false);
        // Secrets are write-only (docs/admin-api.md "Secrets"): left out unless asked for;
        // loading the export back keeps the stored ones.
        const model = o.withSecrets ? cur.model : redactModel(cur.model);
        const note = o.withSecrets
          ? 'contains secrets (passwords, the admin token): keep it private'
          : 'secrets left out (loading this file keeps the stored ones; --with-secrets --data DIR includes them)';
        const yaml = exportConfigYaml(
          model,
          `sipserver configuration exported from ${cur.from}, version ${cur.version}\n${note}`,
        );
        if (o.output) writeFileSync(o.output, yaml);
        else process.stdout.write(yaml);
        return 0;
      }),
    );

  config
    .command('diff')
    .description('what start --config FILE would change; exit 0 = no difference, 1 = differences, 2 = trouble')
    .argument('<file>', 'YAML configuration file')
    .option('--server <url>', 'compare with a running server (admin API)')
    .option('--data <dir>', 'compare with the store in this data directory', './data')
    .option('--token <token>', 'admin token for --server (default: SIPSERVER_TOKEN)')
    .action(async (file: string, o: SourceOptions) =>
      run(async () => {
        const r = loadConfigFile(file);
        for (const e of r.errors) err(formatProblem(e));
        if (!r.model) return 2;
        const cur = await currentModel(o, true);
        // The admin API never returns secrets: through --server they cannot be compared.
        const ignoreSecrets = o.server !== undefined;
        const changes = diffModels(cur.model, r.model, { ignoreSecrets });
        const note = ignoreSecrets ? ' (secrets not compared: the admin API never returns them)' : '';
        if (changes.length === 0) {
          out(`no changes: ${file} matches ${cur.from} (version ${cur.version})${note}`);
          return 0;
        }
        for (const c of changes) out(describeChange(c, cur.model));
        out(
          `${changes.length} change(s) would be applied as one change-set to ${cur.from} (version ${cur.version})${note}`,
        );
        return 1;
      }),
    );

  config
    .command('options-doc')
    .description('print the option reference (docs/options.md) generated from the option table')
    .option('--check <file>', 'exit 1 if FILE differs from the generated text')
    .action(async (o: { check?: string }) =>
      run(async () => {
        const text = renderOptionsDoc();
        if (o.check) {
          const cur = existsSync(o.check) ? readFileSync(o.check, 'utf8') : '';
          if (cur !== text) {
            err(`${o.check} is out of date: run sipserver config options-doc > ${o.check}`);
            return 1;
          }
          return 0;
        }
        process.stdout.write(text);
        return 0;
      }),
    );
}
