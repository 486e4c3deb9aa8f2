/**
 * Entry point of the media worker thread: serves the requests of worker-protocol.ts with a
 * {@link MediaEngine}. All RTP sockets, timers and G.711 coding of the built-in media server live
 * in this thread, off the signalling event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MediaEngine } from './media-engine.js';
import type { RequestMessage, WorkerMessage, WorkerRequest, WorkerResult, WorkerSettings } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('media-worker.ts runs as a worker thread');

const post = (m: WorkerMessage): void => port.postMessage(m);
const engine = new MediaEngine(workerData as WorkerSettings, (level, msg) => post({ log: { level, msg } }));

async function handle(r: WorkerRequest): Promise<WorkerResult> {
  switch (r.op) {
    case 'open':
      return engine.open(r.label);
    case 'configure':
      return engine.configure(r.endpoint, r.negotiated);
    case 'play':
      return engine.play(r.endpoint, r.source);
    case 'stats':
      return engine.stats(r.endpoint);
    case 'close':
      return engine.close(r.endpoint);
    case 'join':
      return engine.join(r.mixer, r.endpoint);
    case 'leave':
      return engine.leave(r.mixer, r.endpoint);
    case 'close-mixer':
      return engine.closeMixer(r.mixer);
    case 'diagnostics':
      return engine.diagnostics();
    case 'crash':
      // Test hook: an uncaught exception, as a bug would throw one; never answered, so the
      // request is still pending when the worker dies.
      setImmediate(() => {
        throw new Error('media worker crash requested');
      });
      return new Promise<never>(() => {});
    case 'shutdown':
      return engine.shutdown();
  }
}

port.on('message', (m: RequestMessage) => {
  handle(m.request).then(
    (result) => post({ id: m.id, ok: true, result }),
    (e: unknown) =>
      post({
        id: m.id,
        ok: false,
        error: e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) },
      }),
  );
});
