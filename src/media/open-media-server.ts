/**
 * The media server the options choose (`media-server`, docs/media.md): the built-in one, or
 * rtpengine (`rtpengine-ng`). Both share `ringback-tone` and `music-on-hold-file`.
 */
import type { Logger } from '../util/logger.js';
import { mediaSettingsFromOptions, openBuiltinMediaServer } from './builtin/index.js';
import type { StartableMediaServer } from './media-server.js';

export type { StartableMediaServer };
import { openRtpengineMediaServer, parseNgList } from './rtpengine/index.js';

/**
 * Opens the media server of `media-server` (default `builtin`). Throws on a bad option value
 * (`rtp-port-range`, `ringback-tone`, `rtpengine-ng`) or an unusable music-on-hold file.
 */
export function openMediaServer(
  options: Readonly<Record<string, string | undefined>>,
  sipListen: readonly string[],
  logger: Logger,
): StartableMediaServer {
  const kind = options['media-server']?.trim() || 'builtin';
  const settings = mediaSettingsFromOptions(options, sipListen);
  if (kind === 'builtin') return openBuiltinMediaServer(settings, logger);
  if (kind !== 'rtpengine') throw new Error(`option media-server: "${kind}" is not one of builtin, rtpengine`);
  return openRtpengineMediaServer(
    {
      servers: parseNgList(options['rtpengine-ng']),
      ringbackTone: settings.ringbackTone,
      musicFile: settings.musicFile,
    },
    logger,
  );
}
