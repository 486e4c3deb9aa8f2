/**
 * Composition root: builds the server's parts from configuration and starts/stops them.
 * For now only the SIP stack; the config store, registrar and API join here later.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { SipStack } from './sip/stack/sip-stack.js';
import type { TlsSettings } from './sip/transport/transport-tls.js';
import { createLogger, type Logger } from './util/logger.js';

/** The SIP part of the configuration this composition root needs. */
export interface SipSettings {
  /** `server.sip.listen`: `transport:host:port` entries. */
  listen: string[];
  /** `server.sip.tls`: certificate and key files for `tls:` listeners. */
  tls?: TlsSettings;
}

/**
 * Read `server.sip` from the YAML configuration file. Deliberately small: the config store
 * (src/config) replaces it with its validated model.
 */
export async function readSipSettings(file: string): Promise<SipSettings> {
  const doc: unknown = parseYaml(await readFile(file, 'utf8'));
  const sip = pick(pick(doc, 'server'), 'sip');
  const listen = pick(sip, 'listen');
  if (!Array.isArray(listen) || !listen.every((x): x is string => typeof x === 'string')) {
    throw new Error(`${file}: server.sip.listen must be a list of "transport:host:port" strings`);
  }
  const tls = pick(sip, 'tls');
  const cert = pick(tls, 'cert');
  const key = pick(tls, 'key');
  return { listen, tls: typeof cert === 'string' && typeof key === 'string' ? { cert, key } : undefined };
}

function pick(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/** Options of {@link App}. */
export interface AppOptions {
  sip: SipSettings;
  /** Data directory (store); unused until the config store lands. */
  dataDir?: string;
  logger?: Logger;
}

/** The running server. */
export class App {
  readonly logger: Logger;
  readonly sip: SipStack;

  constructor(opts: AppOptions) {
    this.logger = opts.logger ?? createLogger();
    this.sip = new SipStack({ listen: opts.sip.listen, tls: opts.sip.tls, logger: this.logger.child({ layer: 'sip' }) });
  }

  /** Start every part. */
  async start(): Promise<void> {
    await this.sip.start();
  }

  /** Stop every part cleanly. */
  async stop(): Promise<void> {
    await this.sip.stop();
  }
}
