/**
 * Call set-up times from a packet capture (tcpdump on loopback), to the microsecond.
 *
 * SIPp's own response times (`-trace_rtt`) are read from a coarse kernel clock: on a kernel with
 * `HZ=250` they move in 4 ms steps (a 3 ms set-up reads 0 or 4 ms), too coarse for a ratio of
 * two p99s around 5–10 ms. The kernel stamps every captured packet, so the time from a caller's
 * INVITE to the `200` that answers it can be read from the capture instead.
 *
 * Only what the benches need: classic pcap files (`tcpdump -w`, microsecond stamps) of Ethernet
 * (`-i lo`), Linux cooked (`-i any`, v1 and v2) or BSD loopback frames, carrying IPv4 or IPv6 UDP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SetupSample } from './call-load.js';

/** One captured UDP datagram. */
export interface CapturedDatagram {
  /** Capture time, ms since the epoch (microsecond precision). */
  readonly at: number;
  readonly src: { readonly ip: string; readonly port: number };
  readonly dst: { readonly ip: string; readonly port: number };
  readonly payload: Buffer;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6(b: Buffer, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(o + i).toString(16));
  return parts.join(':');
}

/** The UDP datagram in one IP packet starting at `o`, if it is one. */
function udpIn(frame: Buffer, o: number, at: number): CapturedDatagram | undefined {
  const version = frame[o]! >> 4;
  let src: string;
  let dst: string;
  let udp: number;
  if (version === 4) {
    if (frame[o + 9] !== 17) return undefined;
    src = ipv4(frame, o + 12);
    dst = ipv4(frame, o + 16);
    udp = o + (frame[o]! & 0x0f) * 4;
  } else if (version === 6) {
    if (frame[o + 6] !== 17) return undefined; // no extension headers on loopback SIP
    src = ipv6(frame, o + 8);
    dst = ipv6(frame, o + 24);
    udp = o + 40;
  } else {
    return undefined;
  }
  if (udp + 8 > frame.length) return undefined;
  const length = frame.readUInt16BE(udp + 4);
  return {
    at,
    src: { ip: src, port: frame.readUInt16BE(udp) },
    dst: { ip: dst, port: frame.readUInt16BE(udp + 2) },
    payload: frame.subarray(udp + 8, Math.min(frame.length, udp + length)),
  };
}

/** Every UDP datagram of a classic pcap file (either byte order, microsecond or nanosecond stamps). */
export function parsePcap(file: Buffer): CapturedDatagram[] {
  if (file.length < 24) return [];
  const magic = file.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const big = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  if (!little && !big) throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const u32 = (o: number): number => (little ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const link = u32(20);
  const out: CapturedDatagram[] = [];
  for (let o = 24; o + 16 <= file.length;) {
    const at = u32(o) * 1000 + u32(o + 4) / (nano ? 1e6 : 1e3);
    const caplen = u32(o + 8);
    const frame = file.subarray(o + 16, o + 16 + caplen);
    o += 16 + caplen;
    if (frame.length < caplen) break; // a record cut by the end of the capture
    let ip: number;
    if (link === LINKTYPE_ETHERNET) {
      const type = frame.readUInt16BE(12);
      if (type !== 0x0800 && type !== 0x86dd) continue;
      ip = 14;
    } else if (link === LINKTYPE_LINUX_SLL) ip = 16;
    else if (link === LINKTYPE_LINUX_SLL2) ip = 20;
    else if (link === LINKTYPE_NULL) ip = 4;
    else throw new Error(`pcap link type ${link} is not supported`);
    const d = udpIn(frame, ip, at);
    if (d) out.push(d);
  }
  return out;
}

/** The first line, Call-ID and CSeq of a SIP message, without parsing the rest. */
function sipHead(payload: Buffer): { first: string; callId?: string; cseq?: string } {
  const text = payload.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
  let callId: string | undefined;
  let cseq: string | undefined;
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(':');
    if (colon < 0) continue;
    const name = l.slice(0, colon).trim().toLowerCase();
    if (name === 'call-id' || name === 'i') callId = l.slice(colon + 1).trim();
    else if (name === 'cseq') cseq = l.slice(colon + 1).trim();
  }
  return { first: lines[0] ?? '', callId, cseq };
}

/**
 * Set-up time of every call in a capture: from a caller's first INVITE to the server (at
 * `server`, `host:port`) whose Request-URI user is `service`, to the first `200` the server sent
 * back for that INVITE (same Call-ID, CSeq method INVITE). Calls without a `200` are left out.
 * `at` is when the INVITE was captured, so the samples fit {@link setupPercentile}.
 */
export function setupTimesFromCapture(
  datagrams: readonly CapturedDatagram[],
  server: string,
  service: string,
): SetupSample[] {
  const sent = new Map<string, number>();
  const out: SetupSample[] = [];
  const isServer = (a: { ip: string; port: number }): boolean => `${a.ip}:${a.port}` === server;
  for (const d of datagrams) {
    const toServer = isServer(d.dst);
    if (!toServer && !isServer(d.src)) continue;
    const { first, callId, cseq } = sipHead(d.payload);
    if (!callId || !cseq?.endsWith(' INVITE')) continue;
    if (toServer && first.startsWith(`INVITE sip:${service}@`)) {
      if (!sent.has(callId)) sent.set(callId, d.at);
    } else if (!toServer && first.startsWith('SIP/2.0 200 ')) {
      const t = sent.get(callId);
      if (t !== undefined) {
        out.push({ at: t, ms: d.at - t });
        sent.delete(callId);
      }
    }
  }
  return out;
}

/** Whether `tcpdump` can run here (installed, and allowed to capture). */
export function canCapture(): boolean {
  return spawnSync('tcpdump', ['--version']).status === 0 && process.getuid?.() === 0;
}

/** A running capture of UDP to and from one port on loopback. */
export class SipCapture {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly file: string,
  ) {}

  /** Starts tcpdump on `lo` for UDP port `port` and resolves once it captures. */
  static async start(port: number): Promise<SipCapture> {
    const dir = mkdtempSync(join(tmpdir(), 'sip-capture-'));
    const file = join(dir, 'capture.pcap');
    // -U: write each packet at once; -B: a 16 MB kernel buffer so a burst is not dropped.
    const child = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '-B', '16384', '-w', file, 'udp', 'port', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start within 10 s: ${err}`)), 10_000);
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited with ${code}: ${err}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    return new SipCapture(child, dir, file);
  }

  /** Stops the capture and answers every datagram captured; the file is removed. */
  async stop(): Promise<CapturedDatagram[]> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      await exited;
    }
    try {
      return parsePcap(readFileSync(this.file));
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
