/**
 * `start --store postgres://…` (interfaces §1, docs/cluster.md): validates the configuration
 * file, then opens the PostgreSQL store of record with the node's cache in `--data`, reconciling
 * the file through the log as one change-set.
 */
import { ConfigFileError } from '../config/config-bootstrap.js';
import { formatProblem, loadConfigFile } from '../config/config-file.js';
import type { ConfigInput } from '../config/config-model.js';
import type { ConfigBackend } from '../config/config-writer.js';
import { openPgConfigBackend } from '../config/pg/pg-config-backend.js';
import type { Logger } from '../util/logger.js';

/**
 * Opens the store of record at `url`. Throws {@link ConfigFileError} for an invalid file and
 * `StoreStartError` when the node cannot start on that store (the message says why).
 */
export async function openPgStoreForStart(
  url: string,
  dataDir: string,
  configFile: string | undefined,
  logger: Logger,
): Promise<ConfigBackend> {
  let model: ConfigInput | undefined;
  if (configFile) {
    const loaded = loadConfigFile(configFile);
    for (const w of loaded.warnings) logger.warn(formatProblem(w, 'warning'));
    if (!loaded.model) throw new ConfigFileError(loaded.errors.map((e) => formatProblem(e)));
    model = loaded.model;
  }
  return openPgConfigBackend({ url, dataDir, logger, ...(model ? { model } : {}) });
}
