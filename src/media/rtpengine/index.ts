/**
 * The rtpengine media server (docs/media.md "rtpengine"): the {@link MediaServer} port on one or
 * more rtpengine daemons, driven over their ng control protocol.
 */
import { whenReady } from '../media-server.js';
import { silentLogger, type Logger } from '../../util/logger.js';
import type { RingbackTone } from '../builtin/tones.js';
import { PlayableSources } from './media-files.js';
import { NgClient, parseNgAddress, type NgAddress, type NgTiming } from './ng-client.js';
import { NgPool } from './ng-pool.js';
import { RtpengineMediaServer } from './rtpengine-media-server.js';

export { RtpengineMediaServer, MixingUnsupportedError } from './rtpengine-media-server.js';
export { NgClient, NgCommandError, NgTimeoutError, parseNgAddress, type NgAddress } from './ng-client.js';

/** What {@link openRtpengineMediaServer} needs. */
export interface RtpengineMediaSettings {
  /** The rtpengines' ng ports (option `rtpengine-ng`). */
  readonly servers: readonly NgAddress[];
  readonly ringbackTone: RingbackTone;
  /** The music-on-hold WAV file, if any. */
  readonly musicFile: string | undefined;
  /** Retransmission of ng requests (default 500 ms, 4 tries). */
  readonly timing?: NgTiming;
  /** How long an rtpengine that did not answer is skipped (default 10 s). */
  readonly skipDeadMs?: number;
}

/** The default of `rtpengine-ng`. */
export const DEFAULT_RTPENGINE_NG = 'udp:127.0.0.1:2223';

/** `rtpengine-ng`: comma-separated ng addresses; throws naming the bad one. */
export function parseNgList(value: string | undefined): NgAddress[] {
  const items = (value?.trim() || DEFAULT_RTPENGINE_NG)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return items.map((s) => {
    try {
      return parseNgAddress(s);
    } catch (e) {
      throw new Error(`option rtpengine-ng: ${(e as Error).message}`);
    }
  });
}

/**
 * The media server at once (nothing is sent until {@link RtpengineMediaServer.ready} or the first
 * endpoint). Throws `WavFormatError` when the music-on-hold file cannot be used.
 */
export function openRtpengineMediaServer(
  settings: RtpengineMediaSettings,
  logger: Logger = silentLogger,
): RtpengineMediaServer {
  const sources = new PlayableSources(settings.ringbackTone, settings.musicFile);
  const pool = new NgPool(
    settings.servers.map((a) => new NgClient(a, settings.timing)),
    settings.skipDeadMs,
  );
  return new RtpengineMediaServer(pool, sources, logger);
}

/** {@link openRtpengineMediaServer}, resolved once an rtpengine answers `ping` (closed again if none does). */
export async function createRtpengineMediaServer(
  settings: RtpengineMediaSettings,
  logger: Logger = silentLogger,
): Promise<RtpengineMediaServer> {
  return whenReady(openRtpengineMediaServer(settings, logger));
}
