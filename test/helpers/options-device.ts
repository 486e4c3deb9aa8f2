/**
 * A device on loopback for OOS probing tests: a UDP socket that answers OPTIONS `200 OK` while
 * `answering` and records each OPTIONS it gets with the sender's port, so a test can tell which
 * node probed it.
 */
import { createSocket, type Socket } from 'node:dgram';

/** The device: answers OPTIONS 200 while `answering`, counts them per sender port. */
export class OptionsDevice {
  answering = true;
  readonly seen: Array<{ t: number; port: number }> = [];
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (buf, rinfo) => {
      const text = buf.toString();
      if (!text.startsWith('OPTIONS ')) return;
      this.seen.push({ t: Date.now(), port: rinfo.port });
      if (!this.answering) return;
      const [head] = text.split('\r\n\r\n');
      const lines = head.split('\r\n').slice(1);
      const copy = lines.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq):/i.test(l));
      const res = [
        'SIP/2.0 200 OK',
        ...copy.map((l) => (/^(to|t):/i.test(l) ? `${l};tag=dev` : l)),
        'Content-Length: 0',
        '',
        '',
      ];
      socket.send(res.join('\r\n'), rinfo.port, rinfo.address);
    });
  }

  static async start(): Promise<OptionsDevice> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new OptionsDevice(socket, socket.address().port);
  }

  /** Sender ports of the OPTIONS received since `t`. */
  sendersSince(t: number): Set<number> {
    return new Set(this.seen.filter((s) => s.t >= t).map((s) => s.port));
  }

  close(): void {
    this.socket.close();
  }
}
