/** A raw TCP (or TLS) peer for tests: writes bytes, collects what arrives, notices the close. */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** A client connection that records everything it receives. */
export class StreamPeer {
  data = '';
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      this.data += b.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      /* close follows */
    });
  }

  private wake(): void {
    const ws = this.waiters.splice(0);
    for (const w of ws) w();
  }

  /** Connect over TCP. */
  static tcp(port: number, host = '127.0.0.1'): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new StreamPeer(s)));
      s.once('error', reject);
    });
  }

  /** Connect over TLS without verifying the (self-signed) certificate. */
  static tls(port: number, host = '127.0.0.1'): Promise<StreamPeer> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host, rejectUnauthorized: false }, () => resolve(new StreamPeer(s)));
      s.once('error', reject);
    });
  }

  /** The local port of this connection. */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Wait until `pred` holds (checked on every event) or the timeout; returns whether it held. */
  async until(pred: () => boolean, timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
