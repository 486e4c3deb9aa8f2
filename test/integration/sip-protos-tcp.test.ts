/**
 * PROTOS c07-sip over TCP, in random-sized chunks, against an in-process stack: framing errors
 * close the connection (the test reconnects), nothing throws, and the stack still answers
 * OPTIONS with 200 over a fresh connection afterwards.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { corpusDir } from '../helpers/paths.js';
import { StreamPeer } from '../helpers/tcp-peer.js';
import { statusOf } from '../helpers/udp-peer.js';

const casesDir = join(corpusDir, 'protos-c07-sip/cases');
let stack: SipStack;
let port = 0;

beforeAll(async () => {
  stack = new SipStack({ listen: ['tcp:127.0.0.1:0'], limits: { maxConnectionsPerIp: 20 } });
  await stack.start();
  port = stack.addresses()[0]!.port;
});

afterAll(async () => {
  await stack.stop();
});

function templates(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length && out.length < 2) {
    const sp = buf.indexOf(0x20, pos);
    const len = Number(buf.subarray(pos, sp).toString('latin1'));
    if (!Number.isInteger(len) || len < 0) break;
    out.push(buf.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return out;
}

function fill(t: Buffer, id: string, localPort: number): Buffer {
  let text = t.toString('latin1');
  const values: Record<string, string> = {
    To: `100@127.0.0.1:${port}`,
    From: `protos@127.0.0.1:${localPort}`,
    'From-Address': '127.0.0.1',
    'From-IP': '127.0.0.1',
    'Local-Port': String(localPort),
    'Branch-ID': id,
    'Call-ID': `tcp${id}`,
    CSeq: '1',
    'Teardown-Method': 'CANCEL',
  };
  for (const [k, v] of Object.entries(values)) text = text.split(`<${k}>`).join(v);
  text = text.replace(/Via: SIP\/2\.0\/UDP/g, 'Via: SIP/2.0/TCP');
  const sep = text.indexOf('\r\n\r\n');
  text = text.split('<Content-Length>').join(String(sep < 0 ? 0 : Buffer.byteLength(text.slice(sep + 4), 'latin1')));
  return Buffer.from(text, 'latin1');
}

describe('PROTOS c07-sip over TCP (chunked)', () => {
  it('every case goes through; framing losses close connections; OPTIONS still answered', async () => {
    const files = readdirSync(casesDir).sort();
    let conn = await StreamPeer.tcp(port);
    let reconnects = 0;
    let answered = 0;
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 1 + (seed % n);
    };
    for (const [i, f] of files.entries()) {
      if (conn.closed) {
        conn.destroy();
        conn = await StreamPeer.tcp(port);
        reconnects++;
      }
      for (const t of templates(readFileSync(join(casesDir, f)))) {
        const msg = fill(t, f, conn.localPort);
        for (let off = 0; off < msg.length;) {
          const n = Math.min(msg.length - off, rnd(1500));
          conn.write(msg.subarray(off, off + n));
          off += n;
        }
      }
      // Wait for the two answers (INVITE, CANCEL) or the close, briefly.
      const c = conn;
      await c.until(() => c.closed || (c.data.match(/^SIP\/2\.0 /gm) ?? []).length >= 2, 15);
      if ((c.data.match(/^SIP\/2\.0 /gm) ?? []).length > 0) answered++;
      c.data = '';
      void i;
    }
    conn.destroy();
    expect(reconnects).toBeGreaterThan(0); // some cases do break the framing
    const c = await StreamPeer.tcp(port);
    try {
      c.write(
        `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bKafterprotos\r\nMax-Forwards: 70\r\n` +
          `From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: after-protos-tcp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(await c.until(() => c.data.includes('\r\n\r\n'), 3000)).toBe(true);
      expect(statusOf(c.data)).toBe(200);
    } finally {
      c.destroy();
    }
    expect(answered).toBeGreaterThan(4000);
    process.stdout.write(
      `PROTOS/TCP: ${files.length} cases, ${answered} answered, ${reconnects} connections closed by the server\n`,
    );
  }, 120_000);
});
