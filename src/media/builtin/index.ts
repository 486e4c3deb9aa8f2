/**
 * The built-in media server (docs/media.md): RTP endpoints with G.711, tones, music on hold and
 * conference mixing, in a worker thread.
 */
import { whenReady } from '../media-server.js';
import { hostname } from 'node:os';
import { silentLogger, type Logger } from '../../util/logger.js';
import { BuiltinMediaServer } from './builtin-media-server.js';
import type { BuiltinMediaSettings } from './settings.js';
import { CADENCES, renderCadence } from './tones.js';
import { readWavFile } from './wav.js';
import { MediaWorkerHost } from './worker-host.js';

export { BuiltinMediaServer } from './builtin-media-server.js';
export { mediaSettingsFromOptions, parsePortRange, type BuiltinMediaSettings } from './settings.js';
export { WavFormatError, readWavFile } from './wav.js';

/**
 * Starts the worker and returns the media server at once (requests wait for the worker to load;
 * {@link BuiltinMediaServer.ready} resolves when it answers). Throws {@link WavFormatError} when
 * the music-on-hold file cannot be used.
 */
export function openBuiltinMediaServer(
  settings: BuiltinMediaSettings,
  logger: Logger = silentLogger,
): BuiltinMediaServer {
  const music = settings.musicFile ? readWavFile(settings.musicFile) : undefined;
  let server: BuiltinMediaServer | undefined;
  const host = new MediaWorkerHost(
    {
      bindAddress: settings.bindAddress,
      portMin: settings.portMin,
      portMax: settings.portMax,
      ringback: renderCadence(CADENCES[settings.ringbackTone]),
      music,
      cname: `sipserver@${hostname()}`,
    },
    logger,
    () => server?.workerRestarted(),
  );
  server = new BuiltinMediaServer(host, settings.mediaAddress, logger);
  return server;
}

/** {@link openBuiltinMediaServer}, resolved once the worker answers (closed again if it does not). */
export async function createBuiltinMediaServer(
  settings: BuiltinMediaSettings,
  logger: Logger = silentLogger,
): Promise<BuiltinMediaServer> {
  return whenReady(openBuiltinMediaServer(settings, logger));
}
