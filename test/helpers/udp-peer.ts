/** A raw UDP peer for tests: sends bytes, collects every datagram it receives. */
import { createSocket, type Socket } from 'node:dgram';

/** One received datagram. */
export interface Datagram {
  text: string;
  buf: Buffer;
  from: { host: string; port: number };
  at: number;
}

/** A bound UDP socket on loopback that records what arrives. */
export class UdpPeer {
  readonly received: Datagram[] = [];
  private waiters: Array<() => void> = [];
  private listener: ((d: Datagram) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (buf, rinfo) => {
      const d: Datagram = {
        buf,
        text: buf.toString('latin1'),
        from: { host: rinfo.address, port: rinfo.port },
        at: Date.now(),
      };
      this.received.push(d);
      this.listener?.(d);
      const ws = this.waiters.splice(0);
      for (const w of ws) w();
    });
  }

  /** Bind to an ephemeral port on `host`. */
  static async open(host = '127.0.0.1'): Promise<UdpPeer> {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((res) => s.bind(0, host, () => res()));
    return new UdpPeer(s);
  }

  /** Called with each datagram as it arrives (besides keeping it in `received`). */
  onDatagram(listener: ((d: Datagram) => void) | undefined): void {
    this.listener = listener;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer | string, port: number, host = '127.0.0.1'): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((res, rej) => this.socket.send(buf, port, host, (err) => (err ? rej(err) : res())));
  }

  /** Wait until `count` datagrams matching `pred` arrived (or the timeout); returns the matches. */
  async waitFor(pred: (d: Datagram) => boolean, count = 1, timeoutMs = 2000): Promise<Datagram[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.received.filter(pred);
      if (got.length >= count) return got;
      const left = deadline - Date.now();
      if (left <= 0) return got;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  clear(): void {
    this.received.length = 0;
  }

  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }
}

/** Status code of a SIP response text, or undefined. */
export function statusOf(text: string): number | undefined {
  const m = /^SIP\/2\.0 (\d{3}) /.exec(text);
  return m ? Number(m[1]) : undefined;
}
