/** Free loopback ports for tests (bind 0, read, release). */
import { createSocket } from 'node:dgram';
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

/** A port free for both UDP and TCP on `host` (tries up to 50 candidates). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freeTcp(host);
    try {
      await freeUdp(host, p);
      return p;
    } catch {
      /* taken for UDP: try another */
    }
  }
  throw new Error('no free port found');
}
