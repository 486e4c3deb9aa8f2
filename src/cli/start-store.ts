/**
 * `start --store postgres://…` (interfaces §1, docs/cluster.md): validates the configuration
 * file, then opens the PostgreSQL store of record with the node's cache in `--data`, reconciling
 * the file through the log as one change-set; once the node listens, it is put in the cluster
 * node list that Kamailio reads (src/config/pg/pg-node-list.ts).
 */
import { loadConfigModel } from '../config/config-bootstrap.js';
import { openPgConfigBackend, type PgConfigBackend } from '../config/pg/pg-config-backend.js';
import type { NodeListEntry } from '../config/pg/pg-node-list.js';
import { hostForUri, hostWithoutBrackets } from '../sip/transport/listen-spec.js';
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
): Promise<PgConfigBackend> {
  const model = configFile ? loadConfigModel(configFile, logger) : undefined;
  return openPgConfigBackend({ url, dataDir, logger, ...(model ? { model } : {}) });
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/**
 * This node's row in the node list: `sip:HOST:PORT` of its first UDP address with a host of its
 * own (Kamailio sends to it and probes it there), or undefined when it has none (UDP only on
 * 0.0.0.0 or ::, or no UDP at all).
 */
export function nodeListEntry(
  addresses: ReadonlyArray<{ transport: string; host: string; port: number }>,
  name: string,
): NodeListEntry | undefined {
  const udp = addresses.find((a) => a.transport === 'udp' && !UNSPECIFIED.has(hostWithoutBrackets(a.host)));
  return udp ? { destination: `sip:${hostForUri(udp.host)}:${udp.port}`, name } : undefined;
}

/** Puts the started node in the node list (see {@link nodeListEntry}); says so when it cannot. */
export async function announceStartedNode(
  backend: PgConfigBackend,
  addresses: ReadonlyArray<{ transport: string; host: string; port: number }>,
  name: string,
  logger: Logger,
): Promise<void> {
  const entry = nodeListEntry(addresses, name);
  if (entry) await backend.announceNode(entry);
  else
    logger.warn(
      { sip: addresses.map((a) => `${a.transport}:${hostForUri(a.host)}:${a.port}`) },
      'not in the cluster node list: no UDP listen address with a host of its own (Kamailio could not reach it)',
    );
}
