/**
 * Start-up of the configuration (interfaces §1 `sipserver start --config FILE [--data DIR]`):
 * open the store, reconcile it to the file as one change-set, log what changed.
 */
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { formatProblem, loadConfigFile } from './config-file.js';
import { openStore, type ConfigStore } from './config-store.js';

/** The file given to `start --config` is invalid; `problems` are `FILE:LINE: message` lines. */
export class ConfigFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigFileError';
  }
}

/** What {@link openConfiguration} did. */
export interface OpenedConfiguration {
  store: ConfigStore;
  /** Version after reconciling (the store's version when no file was given). */
  version: number;
  /** Number of changes the reconcile applied (0 = the store already matched the file). */
  applied: number;
}

/**
 * Opens the store in `dataDir` and, when `configFile` is given, validates it (throwing
 * {@link ConfigFileError} with every problem) and reconciles the store to it. Warnings of the
 * file are logged. The caller owns the returned store (close it at shutdown).
 */
export function openConfiguration(dataDir: string, configFile?: string, logger: Logger = silentLogger): OpenedConfiguration {
  let model;
  if (configFile) {
    const loaded = loadConfigFile(configFile);
    for (const w of loaded.warnings) logger.warn(formatProblem(w, 'warning'));
    if (!loaded.model) throw new ConfigFileError(loaded.errors.map((e) => formatProblem(e)));
    model = loaded.model;
  }
  const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
  if (!model) {
    logger.info({ dataDir, version: store.version, dns: store.dnCount }, 'configuration from the store');
    return { store, version: store.version, applied: 0 };
  }
  try {
    const r = store.reconcile(model);
    const counts: Record<string, number> = {};
    for (const c of r.changes) counts[`${c.op} ${c.kind}`] = (counts[`${c.op} ${c.kind}`] ?? 0) + 1;
    logger.info(
      { file: configFile, dataDir, version: r.version, applied: r.changes.length, ...counts },
      r.changes.length ? 'configuration reconciled to the file' : 'configuration store already matches the file',
    );
    return { store, version: r.version, applied: r.changes.length };
  } catch (e) {
    store.close();
    throw e;
  }
}
