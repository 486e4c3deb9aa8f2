/** Free loopback ports for tests (bind 0, read, release), and whether a process has bound one. */
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

function freeTcp(host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host, exclusive: true }, () => {
      const a = srv.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(p));
    });
  });
}

function freeUdp(host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Where test ports come from: 10000–19999, below the media servers' RTP ranges (20000–31999, see
 * `randomPortRange`) and below the kernel's ephemeral range (32768–60999 on Linux), so that no
 * `bind(0)`, outgoing TCP connection or RTP allocation can take a port between the moment a test
 * picks it and the moment its peer binds it. Each vitest worker (VITEST_POOL_ID) has a slice of its
 * own and walks it with a cursor, so a port just released is not handed out again at once.
 */
const TEST_PORT_BASE = 10000;
const SLICE = 1000;
const SLICES = 10;
const slice = (Number(process.env['VITEST_POOL_ID'] ?? process.pid) % SLICES) * SLICE;
let cursor = Math.floor(Math.random() * SLICE);

function nextCandidate(): number {
  cursor = (cursor + 1) % SLICE;
  return TEST_PORT_BASE + slice + cursor;
}

/** A port free for both UDP and TCP on `host`, from this worker's slice (tries up to 200 candidates). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const candidate = nextCandidate();
    try {
      const p = await freeTcp(host, candidate);
      await freeUdp(host, p);
      return p;
    } catch {
      /* taken for TCP or UDP: try the next one */
    }
  }
  throw new Error(`no free port in ${TEST_PORT_BASE + slice}-${TEST_PORT_BASE + slice + SLICE - 1}`);
}

/** Socket inodes of the sockets bound to local `port` (any address, UDP or TCP, v4 or v6), from /proc/net. */
function inodesOnPort(port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['udp', 'udp6', 'tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10) continue;
      if (f[1]!.slice(f[1]!.lastIndexOf(':') + 1) === hex) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * Whether process `pid` holds a socket bound to local `port` (UDP, or TCP listening or
 * connected): the readiness signal of peers we spawn (SIPp binds before it serves). Linux only:
 * matches the socket inodes of /proc/net/{udp,tcp}[6] with the process's /proc/PID/fd links.
 */
export function isBoundBy(pid: number, port: number): boolean {
  const inodes = inodesOnPort(port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) return true;
  }
  return false;
}

/** TCP states of /proc/net/tcp in which a socket still holds its connection open: ESTABLISHED, CLOSE_WAIT. */
const TCP_OPEN_STATES = new Set(['01', '08']);

/**
 * Whether a TCP socket bound to local `port` is connected to `remotePort` and not yet closed on
 * its side (ESTABLISHED, or CLOSE_WAIT: the peer closed, this side has not reacted yet). The
 * signal that a server has handled a client's close: its end leaves these states once the server
 * closes it. Linux only (/proc/net/tcp and tcp6).
 */
export function tcpConnectionOpen(port: number, remotePort: number): boolean {
  const local = port.toString(16).toUpperCase().padStart(4, '0');
  const remote = remotePort.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      if (f[1]!.endsWith(`:${local}`) && f[2]!.endsWith(`:${remote}`) && TCP_OPEN_STATES.has(f[3]!)) return true;
    }
  }
  return false;
}
