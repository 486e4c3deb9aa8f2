/**
 * RTP/RTCP port pairs from the `rtp-port-range` option (RFC 3550 §11: RTP on an even port, RTCP
 * on the next one). Allocation starts at a random pair and skips ports that cannot be bound.
 *
 * The RTP port holds two sockets: the listening one, and a second one bound to the same port
 * (`SO_REUSEADDR`) that the session connects to the peer so that each packet goes out without an
 * address to resolve and route (docs/media.md). A port is taken only after a probe socket bound
 * without `SO_REUSEADDR` succeeded on it, so a port that anyone else holds, with or without the
 * option, is skipped.
 */
import { createSocket, type Socket } from 'node:dgram';

/** A bound RTP socket and its RTCP socket. */
export interface PortPair {
  readonly port: number;
  /** Receives RTP; sends it while {@link rtpSend} is not connected. */
  readonly rtp: Socket;
  /**
   * Bound to the same address and port as {@link rtp}, for the session to connect to its peer;
   * undefined where the platform does not share a UDP port between two sockets.
   */
  readonly rtpSend: Socket | undefined;
  readonly rtcp: Socket;
}

/**
 * Destinations are IP literals (from SDP or a packet's source): answered synchronously instead
 * of through `dns.lookup`, which defers every send by a tick.
 */
function literalLookup(
  address: string,
  _family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}

/**
 * A UDP socket bound exclusively to `address`:`port` (0: any free port), or undefined when that
 * fails. With `reuseAddr`, the socket sets `SO_REUSEADDR` and may share the port with another
 * socket that set it too.
 */
export function bindUdp(port: number, address: string, reuseAddr = false): Promise<Socket | undefined> {
  const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup, reuseAddr });
  return new Promise((resolve) => {
    const onError = (): void => {
      socket.close();
      resolve(undefined);
    };
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Hands out port pairs in `[min, max]` and takes them back. */
export class PortAllocator {
  private readonly inUse = new Set<number>();
  private readonly first: number;
  private readonly pairs: number;

  constructor(
    min: number,
    max: number,
    private readonly address: string,
  ) {
    this.first = min % 2 === 0 ? min : min + 1;
    this.pairs = Math.max(0, Math.floor((max - this.first - 1) / 2) + 1);
    if (this.pairs === 0) throw new Error(`rtp-port-range ${min}-${max} holds no even/odd port pair`);
  }

  /** A bound pair; rejects when every pair of the range is taken. */
  async allocate(): Promise<PortPair> {
    const start = Math.floor(Math.random() * this.pairs);
    for (let i = 0; i < this.pairs; i++) {
      const port = this.first + ((start + i) % this.pairs) * 2;
      if (this.inUse.has(port)) continue;
      const probe = await bindUdp(port, this.address);
      if (!probe) continue;
      probe.close(); // closes the descriptor at once: the port is free again for the two below
      const rtp = await bindUdp(port, this.address, true);
      if (!rtp) continue;
      const rtcp = await bindUdp(port + 1, this.address);
      if (!rtcp) {
        rtp.close();
        continue;
      }
      const rtpSend = await bindUdp(port, this.address, true);
      this.inUse.add(port);
      return { port, rtp, rtpSend, rtcp };
    }
    throw new Error(
      `no free RTP port pair in rtp-port-range ${this.first}-${this.first + this.pairs * 2 - 1} on ${this.address}`,
    );
  }

  /** Closes the pair's sockets and returns the port. */
  release(pair: PortPair): void {
    this.inUse.delete(pair.port);
    for (const s of [pair.rtp, pair.rtpSend, pair.rtcp]) {
      if (!s) continue;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
