/**
 * rtpengine media server benchmark (docs/media.md "rtpengine"): a userspace rtpengine on loopback
 * (test/helpers/rtpengine.ts), N endpoints each answering an RTP peer's offer and playing silence.
 *
 * - setup: time of answer + play per endpoint (ng round trips: offer, answer, block media,
 *   play media), p50 / p99, endpoints set up 10 at a time;
 * - rtpengine CPU while the N players run: growth of the daemon's utime + stime
 *   (/proc/PID/stat) over the window, as % of one core;
 * - packets received by the peers against 50 per second per endpoint;
 * - close: time to delete every endpoint.
 *
 * Run alone: `npx tsx bench/run.ts rtpengine`. RTPENGINE_BENCH_ENDPOINTS (100) and
 * RTPENGINE_BENCH_SECONDS (5) override the load.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRtpengineMediaServer } from '../src/media/rtpengine/index.js';
import type { MediaEndpoint } from '../src/media/media-server.js';
import { RtpPeer } from '../test/helpers/rtp-peer.js';
import { startRtpengine } from '../test/helpers/rtpengine.js';

const ENDPOINTS = Number(process.env.RTPENGINE_BENCH_ENDPOINTS ?? 100);
const SECONDS = Number(process.env.RTPENGINE_BENCH_SECONDS ?? 5);
const BATCH = 10;

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15), in clock ticks (100/s)
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export default async function run(): Promise<void> {
  const daemon = await startRtpengine();
  const media = await createRtpengineMediaServer({
    servers: [{ host: '127.0.0.1', port: daemon.ngPort }],
    ringbackTone: 'us',
    musicFile: undefined,
  });
  const peers: RtpPeer[] = [];
  const endpoints: MediaEndpoint[] = [];
  try {
    const setup: number[] = [];
    for (let i = 0; i < ENDPOINTS; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, ENDPOINTS - i) }, async () => {
          const p = await RtpPeer.open();
          peers.push(p);
          const t = performance.now();
          const ep = await media.createEndpoint('bench');
          endpoints.push(ep);
          await ep.answer(p.sdp('0'));
          await ep.play({ kind: 'silence' });
          setup.push(performance.now() - t);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    const received0 = peers.reduce((n, p) => n + p.rtp.length, 0);
    const cpu0 = cpuTicks(daemon.child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const elapsed = performance.now() - t0;
    const cpuPct = ((cpuTicks(daemon.child.pid!) - cpu0) * 10 * 100) / elapsed;
    const received = peers.reduce((n, p) => n + p.rtp.length, 0) - received0;
    const expected = (ENDPOINTS * 50 * elapsed) / 1000;
    const tc = performance.now();
    await Promise.all(endpoints.splice(0).map((e) => e.close()));
    const closeMs = performance.now() - tc;
    const line = (s: string): boolean => process.stdout.write(`${s}\n`);
    line(`endpoints: ${ENDPOINTS} on one rtpengine (userspace), playing silence (PCMU, 20 ms)`);
    line(
      `setup (answer + play), ${BATCH} at a time: p50 ${percentile(setup, 50).toFixed(1)} ms, p99 ${percentile(setup, 99).toFixed(1)} ms`,
    );
    line(`rtpengine CPU: ${cpuPct.toFixed(1)} % of one core over ${(elapsed / 1000).toFixed(1)} s`);
    line(`packets received: ${received} of ~${Math.round(expected)} expected`);
    line(`close of ${ENDPOINTS} endpoints (delete): ${closeMs.toFixed(0)} ms`);
  } finally {
    await Promise.all(endpoints.map((e) => e.close()));
    await media.close();
    for (const p of peers) p.close();
    await daemon.stop();
  }
}
