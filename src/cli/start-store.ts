/**
 * `start --store postgres://…` (interfaces §1, docs/cluster.md): validates the configuration
 * file, then opens the PostgreSQL store of record with the node's cache in `--data`, reconciling
 * the file through the log as one change-set.
 */
import { loadConfigModel } from '../config/config-bootstrap.js';
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
  const model = configFile ? loadConfigModel(configFile, logger) : undefined;
  return openPgConfigBackend({ url, dataDir, logger, ...(model ? { model } : {}) });
}
