/**
 * The {@link MediaServer} port on rtpengine (docs/media.md "rtpengine"): endpoints are rtpengine
 * calls driven over the ng protocol; park, ringback and music on hold play from rtpengine.
 * Conferences are not possible: rtpengine 10.5 does not mix audio.
 */
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../../util/logger.js';
import type { MediaEndpoint, MediaMixer, MediaServer } from '../media-server.js';
import type { PlayableSources } from './media-files.js';
import type { NgPool } from './ng-pool.js';
import { RtpengineEndpoint, type EndpointOwner } from './rtpengine-endpoint.js';

/** `createMixer` on rtpengine: a conference needs the built-in media server. */
export class MixingUnsupportedError extends Error {
  constructor() {
    super('a conference needs the built-in media server: rtpengine 10.5 cannot mix audio (media-server = rtpengine)');
    this.name = 'MixingUnsupportedError';
  }
}

/** Media on one or more rtpengines. */
export class RtpengineMediaServer implements MediaServer {
  private readonly endpoints = new Set<RtpengineEndpoint>();
  private readonly prefix = `sipserver-${randomBytes(4).toString('hex')}`;
  private seq = 0;
  private closed = false;
  private readonly owner: EndpointOwner;

  constructor(
    private readonly pool: NgPool,
    sources: PlayableSources,
    private readonly logger: Logger = silentLogger,
  ) {
    this.owner = { pool, sources, logger, closed: (e) => this.endpoints.delete(e) };
  }

  /**
   * Resolves when at least one rtpengine answers `ping`; the others are skipped until they answer.
   * Rejects naming every rtpengine and why when none does.
   */
  async ready(): Promise<void> {
    const results = await Promise.allSettled(this.pool.clients.map((c) => c.ping()));
    results.forEach((r, i) => {
      const c = this.pool.clients[i]!;
      this.pool.mark(c, r.status === 'fulfilled');
      if (r.status === 'rejected')
        this.logger.warn({ err: r.reason as unknown, rtpengine: c.name }, 'rtpengine: no pong');
    });
    if (results.some((r) => r.status === 'fulfilled')) return;
    const why = results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : '')).join('; ');
    throw new Error(`media-server = rtpengine: no rtpengine answers: ${why}`);
  }

  /** A new endpoint; the rtpengine call is made at its first offer or answer (round-robin). */
  async createEndpoint(label?: string): Promise<MediaEndpoint> {
    if (this.closed) throw new Error('the media server is not running');
    const id = `${this.prefix}-${(this.seq++).toString(36)}`;
    const e = new RtpengineEndpoint(id, label ?? id, this.owner);
    this.endpoints.add(e);
    return Promise.resolve(e);
  }

  /** rtpengine 10.5 cannot mix: call control refuses conferences up front. */
  readonly canMix = false;

  /** Always rejects with {@link MixingUnsupportedError}. */
  createMixer(): Promise<MediaMixer> {
    return Promise.reject(new MixingUnsupportedError());
  }

  get openEndpoints(): number {
    return this.endpoints.size;
  }

  /** Deletes every endpoint's call, then closes the ng sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.endpoints].map((e) => e.close()));
    this.pool.close();
  }
}
