/**
 * Threads of the media benchmark (bench/media.bench.ts), each on its own event loop:
 * - `receivers`: UDP sockets that take the RTP of the endpoints and record, per SSRC, how far
 *   each packet's inter-arrival time is from 20 ms (RFC 3550 §6.4.1 style timing jitter);
 * - `options`: an OPTIONS client that measures round-trip times against the SIP stack.
 * Requests arrive as messages; each is answered once.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort!;
const mode = (workerData as { mode: 'receivers' | 'options' }).mode;

function bindSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

async function receivers(count: number): Promise<void> {
  const sockets = await Promise.all(Array.from({ length: count }, bindSocket));
  const last = new Map<number, number>();
  let deviations: number[] = [];
  let packets = 0;
  for (const s of sockets) {
    s.on('message', (b) => {
      // RTP only: RTCP for a receiver's port + 1 may land on another receiver socket.
      if (b.length !== 172 || (b[1] & 0x7f) !== 0) return;
      const now = performance.now();
      const ssrc = b.readUInt32BE(8);
      const prev = last.get(ssrc);
      if (prev !== undefined) deviations.push(Math.abs(now - prev - 20));
      last.set(ssrc, now);
      packets++;
    });
  }
  port.on('message', (m: { op: 'reset' | 'report' }) => {
    if (m.op === 'reset') {
      deviations = [];
      packets = 0;
      port.postMessage({ op: 'reset' });
    } else {
      port.postMessage({ op: 'report', deviations: Float64Array.from(deviations), packets, streams: last.size });
    }
  });
  port.postMessage({ op: 'ready', ports: sockets.map((s) => s.address().port) });
}

async function options(): Promise<void> {
  const s = await bindSocket();
  const local = s.address().port;
  const sentAt = new Map<string, number>();
  let rtts: number[] = [];
  s.on('message', (b) => {
    const text = b.toString('latin1');
    const id = /Call-ID: (\S+)/i.exec(text)?.[1];
    const t = id === undefined ? undefined : sentAt.get(id);
    if (id !== undefined && t !== undefined) {
      rtts.push(performance.now() - t);
      sentAt.delete(id);
    }
  });
  let seq = 0;
  port.on('message', (m: { op: 'run'; target: number; count: number; rate: number }) => {
    rtts = [];
    const start = performance.now();
    let sent = 0;
    const send = (): void => {
      const due = Math.floor(((performance.now() - start) * m.rate) / 1000) + 1;
      while (sent < Math.min(due, m.count)) {
        const id = `mb${local}-${seq++}`;
        const msg =
          `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${id}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:bench@127.0.0.1>;tag=${id}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${id}\r\n` +
          `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
        sentAt.set(id, performance.now());
        s.send(msg, m.target, '127.0.0.1');
        sent++;
      }
      if (sent < m.count) setTimeout(send, 1);
      else setTimeout(() => port.postMessage({ op: 'done', rtts: Float64Array.from(rtts), lost: sentAt.size }), 500);
    };
    sentAt.clear();
    send();
  });
  port.postMessage({ op: 'ready' });
}

if (mode === 'receivers') await receivers((workerData as { sockets: number }).sockets);
else await options();
