/**
 * Built-in media server benchmark (docs/media.md): 500 endpoints playing silence (G.711, 20 ms
 * packets) to receiver sockets of this process (a separate thread), with the SIP stack answering
 * OPTIONS on the main thread.
 *
 * - media worker CPU: growth of the worker thread's own CPU time (/proc/thread-self/schedstat,
 *   read by the worker) over the measured window, as % of one core (target < 25 %);
 * - packet timing jitter: |inter-arrival − 20 ms| of every packet per stream at the receivers, p99
 *   (target < 5 ms); and, on the send side, how late the worker's 5 ms slots started (p99);
 * - signalling: OPTIONS round-trip p99 with 500 endpoints open against 0 endpoints, measured in
 *   the same run (target ratio ≤ 1.2).
 *
 * Run alone: `npx tsx bench/run.ts media`. MEDIA_BENCH_ENDPOINTS (500), MEDIA_BENCH_SECONDS (10),
 * MEDIA_BENCH_OPTIONS_RATE (200/s) override the load.
 */
import type { Worker } from 'node:worker_threads';
import { createBuiltinMediaServer } from '../src/media/builtin/index.js';
import { startModuleWorker } from '../src/media/builtin/worker-host.js';
import { SipStack } from '../src/sip/stack/sip-stack.js';

const ENDPOINTS = Number(process.env.MEDIA_BENCH_ENDPOINTS ?? 500);
const SECONDS = Number(process.env.MEDIA_BENCH_SECONDS ?? 10);
const OPTIONS_RATE = Number(process.env.MEDIA_BENCH_OPTIONS_RATE ?? 200);
const RECEIVER_SOCKETS = 50;

type Reply = { op: string; [k: string]: unknown };

function helper(data: unknown): Worker {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return startModuleWorker(new URL(`./helpers/media-bench-worker.${ext}`, import.meta.url), data, 'media-bench');
}

function next(w: Worker, op: string, send?: unknown): Promise<Reply> {
  return new Promise((resolve) => {
    const on = (m: Reply): void => {
      if (m.op !== op) return;
      w.off('message', on);
      resolve(m);
    };
    w.on('message', on);
    if (send !== undefined) w.postMessage(send);
  });
}

function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function optionsRtts(client: Worker, target: number): Promise<{ p50: number; p99: number; lost: number }> {
  const r = await next(client, 'done', { op: 'run', target, count: SECONDS * OPTIONS_RATE, rate: OPTIONS_RATE });
  const rtts = r.rtts as Float64Array;
  return { p50: percentile(rtts, 50), p99: percentile(rtts, 99), lost: r.lost as number };
}

function sdp(port: number): string {
  return `v=0\r\no=rx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\n`;
}

export default async function (): Promise<void> {
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'] });
  await stack.start();
  const sipPort = Number(stack.addressStrings()[0].split(':').pop());
  const portMin = 30000 + 2 * Math.floor(Math.random() * 5000);
  const media = await createBuiltinMediaServer({
    bindAddress: '127.0.0.1',
    mediaAddress: '127.0.0.1',
    portMin,
    portMax: portMin + 2 * ENDPOINTS + 2000,
    ringbackTone: 'us',
    musicFile: undefined,
  });
  const receivers = helper({ mode: 'receivers', sockets: RECEIVER_SOCKETS });
  const client = helper({ mode: 'options' });
  try {
    // Both listeners first: a worker's 'ready' sent before anyone listens would be lost.
    const [rxReady] = await Promise.all([next(receivers, 'ready'), next(client, 'ready')]);
    const rxPorts = rxReady.ports as number[];
    await optionsRtts(client, sipPort); // warm-up
    const idle = await optionsRtts(client, sipPort);

    process.stderr.write(`media bench: OPTIONS without endpoints done; opening ${ENDPOINTS} endpoints\n`);
    for (let i = 0; i < ENDPOINTS; i++) {
      const ep = await media.createEndpoint(`bench-${i}`);
      await ep.answer(sdp(rxPorts[i % rxPorts.length]));
    }
    await new Promise((r) => setTimeout(r, 2000));
    await next(receivers, 'reset', { op: 'reset' });
    process.stderr.write('media bench: endpoints open; measuring\n');
    const d0 = await media.diagnostics();
    const cpu0 = d0.threadCpuMs ?? NaN;
    const t0 = performance.now();
    const loaded = await optionsRtts(client, sipPort);
    const diag = await media.diagnostics();
    const cpu1 = diag.threadCpuMs ?? NaN;
    const elapsed = performance.now() - t0;
    const rx = await next(receivers, 'report', { op: 'report' });
    const deviations = rx.deviations as Float64Array;

    const cpuPct = ((cpu1 - cpu0) / elapsed) * 100;
    const expected = (ENDPOINTS * 50 * elapsed) / 1000;
    const jitterP99 = percentile(deviations, 99);
    const ratio = loaded.p99 / idle.p99;
    const line = (s: string): boolean => process.stdout.write(`${s}\n`);
    line(`endpoints: ${ENDPOINTS} playing silence (PCMU, 20 ms) for ${(elapsed / 1000).toFixed(1)} s`);
    line(
      `packets received: ${rx.packets as number} of ~${Math.round(expected)} expected (${rx.streams as number} streams)`,
    );
    line(
      `media worker CPU: ${cpuPct.toFixed(1)} % of one core (target < 25 %); late 5 ms slots ${diag.lateTicks - d0.lateTicks} of ${diag.ticks - d0.ticks}`,
    );
    line(`media worker slot start lateness (send side): p99 ${diag.tickLatenessP99Ms.toFixed(2)} ms`);
    line(
      `packet timing jitter at the receivers |Δt − 20 ms|: p50 ${percentile(deviations, 50).toFixed(2)} ms, p99 ${jitterP99.toFixed(2)} ms (target < 5 ms)`,
    );
    line(`OPTIONS RTT, 0 endpoints: p50 ${idle.p50.toFixed(3)} ms, p99 ${idle.p99.toFixed(3)} ms (lost ${idle.lost})`);
    line(
      `OPTIONS RTT, ${ENDPOINTS} endpoints: p50 ${loaded.p50.toFixed(3)} ms, p99 ${loaded.p99.toFixed(3)} ms (lost ${loaded.lost})`,
    );
    line(`signalling p99 ratio: ${ratio.toFixed(2)} (target ≤ 1.2)`);
    line(
      `media: CPU ${cpuPct < 25 ? 'met' : 'NOT met'}, jitter ${jitterP99 < 5 ? 'met' : 'NOT met'}, signalling ${ratio <= 1.2 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await receivers.terminate();
    await client.terminate();
    await media.close();
    await stack.stop();
  }
}
