/**
 * Start-up of the configuration (interfaces §1 `sipserver start --config FILE [--data DIR]`):
 * open the store, reconcile it to the file as one change-set, log what changed — or, for
 * `start`, skip the reconcile when neither the file nor the store changed since the last one.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { formatProblem, loadConfigFile, loadConfigText } from './config-file.js';
import type { ConfigInput } from './config-model.js';
import { openStore, type ConfigStore } from './config-store.js';
import { peekReconciledSource } from './reconciled-source.js';

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

/** Reconciles `store` to `model` as one change-set and logs what changed; closes the store when it fails. */
function reconcileLogged(
  store: ConfigStore,
  model: ConfigInput,
  configFile: string | undefined,
  dataDir: string,
  logger: Logger,
): { version: number; applied: number } {
  try {
    const r = store.reconcile(model);
    const counts: Record<string, number> = {};
    for (const c of r.changes) counts[`${c.op} ${c.kind}`] = (counts[`${c.op} ${c.kind}`] ?? 0) + 1;
    logger.info(
      { file: configFile, dataDir, version: r.version, applied: r.changes.length, ...counts },
      r.changes.length ? 'configuration reconciled to the file' : 'configuration store already matches the file',
    );
    return { version: r.version, applied: r.changes.length };
  } catch (e) {
    store.close();
    throw e;
  }
}

/**
 * Reads a configuration file (`start --config`): its warnings are logged, its errors thrown.
 * @throws ConfigFileError every problem as `FILE:LINE: message`
 */
export function loadConfigModel(configFile: string, logger: Logger): ConfigInput {
  const loaded = loadConfigFile(configFile);
  for (const w of loaded.warnings) logger.warn(formatProblem(w, 'warning'));
  if (!loaded.model) throw new ConfigFileError(loaded.errors.map((e) => formatProblem(e)));
  return loaded.model;
}

/**
 * Opens the store in `dataDir` and, when `configFile` is given, validates it (throwing
 * {@link ConfigFileError} with every problem) and reconciles the store to it. Warnings of the
 * file are logged. The caller owns the returned store (close it at shutdown).
 */
export function openConfiguration(
  dataDir: string,
  configFile?: string,
  logger: Logger = silentLogger,
): OpenedConfiguration {
  const model = configFile ? loadConfigModel(configFile, logger) : undefined;
  const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
  if (!model) {
    logger.info({ dataDir, version: store.version, dns: store.dnCount }, 'configuration from the store');
    return { store, version: store.version, applied: 0 };
  }
  const r = reconcileLogged(store, model, configFile, dataDir, logger);
  return { store, ...r };
}

/** The server version, part of a configuration file's hash (a new version validates the file again). */
function serverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

let codeFingerprint: string | undefined;

/**
 * A fingerprint of the code that validates and normalises a configuration file (every module
 * of `config/`, sources or build): an upgrade that changes validation, defaults or
 * normalisation re-validates an unchanged file even when the package version stayed the same.
 */
function configCodeFingerprint(): string {
  if (codeFingerprint !== undefined) return codeFingerprint;
  const h = createHash('sha256');
  try {
    const dir = new URL('./', import.meta.url);
    for (const f of readdirSync(dir).sort()) {
      if (!/\.(js|ts)$/.test(f)) continue;
      h.update(f)
        .update('\0')
        .update(readFileSync(new URL(f, dir)))
        .update('\0');
    }
  } catch {
    h.update(String(Date.now())); // unknown code: never matches a record, always reconcile
  }
  codeFingerprint = h.digest('hex');
  return codeFingerprint;
}

/**
 * Content hash of a configuration file as the store records it: SHA-256 of the server version,
 * the configuration code's fingerprint and the text.
 */
export function configFileHash(text: string): string {
  return `sha256:${createHash('sha256').update(`sipserver ${serverVersion()} ${configCodeFingerprint()}\n`).update(text).digest('hex')}`;
}

/**
 * Opens the store for `start` (interfaces §1 `start --config FILE`): like {@link openConfiguration}
 * (validate the file, reconcile the store to it as one change-set, log what changed), but when
 * the file's content hash and the store's version are those recorded at the last successful
 * reconcile, the store already matches the file: it is opened without parsing or diffing the
 * file (the parse of a 20,000-DN file allocates ~200 MB of transient heap). Any change-set
 * committed since (API, CLI) or any byte changed in the file gives a full reconcile, with the
 * same change-set as without the record.
 */
export function openStartConfiguration(dataDir: string, configFile: string | undefined, logger: Logger): ConfigStore {
  if (!configFile) return openConfiguration(dataDir, undefined, logger).store;
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch {
    return openConfiguration(dataDir, configFile, logger).store; // reports the read error as before
  }
  const hash = configFileHash(text);
  const seen = peekReconciledSource(dataDir);
  if (seen?.source && seen.source.hash === hash && seen.source.version === seen.version) {
    const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
    const rec = store.reconciledSource();
    if (rec && rec.hash === hash && rec.version === store.version) {
      for (const w of rec.warnings) logger.warn(w);
      logger.info(
        { file: configFile, dataDir, version: store.version, applied: 0, unchanged: true },
        'configuration store already matches the file (file unchanged since it was reconciled)',
      );
      return store;
    }
    store.close(); // changed meanwhile by another process: reconcile
  }
  // As openConfiguration, from the text that was hashed.
  const loaded = loadConfigText(text, configFile);
  const warnings = loaded.warnings.map((w) => formatProblem(w, 'warning'));
  for (const w of warnings) logger.warn(w);
  if (!loaded.model) throw new ConfigFileError(loaded.errors.map((e) => formatProblem(e)));
  const store = openStore(dataDir, { logger: logger.child({ layer: 'config' }) });
  reconcileLogged(store, loaded.model, configFile, dataDir, logger);
  try {
    store.recordReconciledSource(hash, warnings);
  } catch (e) {
    store.close();
    throw e;
  }
  return store;
}
