/**
 * PROTOS c07-sip: all 4527 cases (INVITE template + CANCEL teardown) over UDP to the server
 * running as a child process. After every PROTOS group the server must still answer a normal
 * OPTIONS with 200; at the end, once every transaction timer has run out, it must hold no
 * transaction and its heap (after a GC) must be back near the baseline measured before the run.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusDir } from '../helpers/paths.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const casesDir = join(corpusDir, 'protos-c07-sip/cases');

interface Group {
  name: string;
  first: number;
  last: number;
}

/** PROTOS groups from the corpus INDEX (§3 table). */
function groups(): Group[] {
  const index = readFileSync(join(corpusDir, 'INDEX.md'), 'utf8');
  const out: Group[] = [];
  const re = /^\| `(\d{7})`(?:–`(\d{7})`)? \| \d+ \| ([\w-]+) \|/gm;
  for (let m = re.exec(index); m; m = re.exec(index))
    out.push({ name: m[3]!, first: Number(m[1]), last: Number(m[2] ?? m[1]) });
  return out;
}

/** Split a case file into its two templates (INDEX §3: `<len> SP <template>` twice). */
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

function fill(template: Buffer, values: Record<string, string>): Buffer {
  let text = template.toString('latin1');
  for (const [k, v] of Object.entries(values)) text = text.split(`<${k}>`).join(v);
  const sep = text.indexOf('\r\n\r\n');
  const bodyLen = sep < 0 ? 0 : Buffer.byteLength(text.slice(sep + 4), 'latin1');
  text = text.split('<Content-Length>').join(String(bodyLen));
  return Buffer.from(text, 'latin1');
}

let server: ServerProcess;
let sock: Socket;
let serverPort = 0;
let localPort = 0;
const okOptions = new Set<string>();
let baseline = { rss: 0, heapUsed: 0 };

function send(buf: Buffer): Promise<boolean> {
  return new Promise((res) => sock.send(buf, serverPort, '127.0.0.1', (err) => res(!err)));
}

async function optionsAnswered(tag: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const callId = `probe-${tag}-${attempt}`;
    const msg =
      `OPTIONS sip:127.0.0.1:${serverPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bKprobe${tag}${attempt}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    await send(Buffer.from(msg));
    // UDP may drop the probe or its answer under load: up to three tries of one second each.
    const answered = await waitFor(() => okOptions.has(callId), {
      what: `200 to OPTIONS ${callId}`,
      timeoutMs: 1000,
      intervalMs: 10,
    }).catch(() => false);
    if (answered) return true;
  }
  return false;
}

beforeAll(async () => {
  // The corpus is sent as fast as the socket takes it from one source: no flood limit here (a
  // banned source would get no answer; flood limits have their own tests).
  const configDir = mkdtempSync(join(tmpdir(), 'protos-config-'));
  writeFileSync(
    join(configDir, 'protos.yaml'),
    'server:\n  name: Protos\n  options:\n    pike-requests-per-second: "0"\n',
  );
  server = await startServerProcess({
    config: join(configDir, 'protos.yaml'),
    sipListen: ['udp:127.0.0.1:0'],
    nodeArgs: ['--expose-gc'],
    env: { SIPSERVER_DEBUG_MEMSTATS: '1', SIPSERVER_LOG: 'warn' },
  });
  serverPort = Number(server.addresses[0]!.split(':').pop());
  sock = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  localPort = sock.address().port;
  sock.on('message', (buf) => {
    const text = buf.toString('latin1', 0, Math.min(buf.length, 600));
    if (text.startsWith('SIP/2.0 200 ')) {
      const m = /\r\nCall-ID: (probe-[^\r]+)/i.exec(text);
      if (m) okOptions.add(m[1]!);
    }
  });
  // Warm up (JIT, pools), then the baseline.
  for (let i = 0; i < 300; i++) await optionsAnswered(`warm${i}`);
  const m = await server.memstats();
  baseline = { rss: m.rss, heapUsed: m.heapUsed };
});

afterAll(async () => {
  sock?.close();
  if (server) expect(await server.stop()).toBe(0);
});

describe('PROTOS c07-sip over UDP against the server process', () => {
  it('survives all 4527 cases, answering OPTIONS after every group, without leaking', async () => {
    const files = readdirSync(casesDir).sort();
    expect(files).toHaveLength(4527);
    const gs = groups();
    expect(gs.length).toBeGreaterThan(40);
    let sent = 0;
    let unsendable = 0;
    let oversized = 0;
    for (const g of gs) {
      for (let n = g.first; n <= g.last; n++) {
        const id = String(n).padStart(7, '0');
        const [invite, teardown] = templates(readFileSync(join(casesDir, id)));
        const values = {
          To: `100@127.0.0.1:${serverPort}`,
          From: `protos@127.0.0.1:${localPort}`,
          'From-Address': '127.0.0.1',
          'From-IP': '127.0.0.1',
          'Local-Port': String(localPort),
          'Branch-ID': id,
          'Call-ID': `protos${id}`,
          CSeq: '1',
          'Teardown-Method': 'CANCEL',
        };
        for (const t of [invite, teardown]) {
          if (!t) continue;
          const msg = fill(t, values);
          if (msg.length > 65_507) oversized++;
          if (await send(msg)) sent++;
          else unsendable++;
        }
        // Pacing, not a wait for anything: 5 ms every 100 datagrams keeps the socket buffers from overflowing.
        if (sent % 100 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(server.alive, `server died in group ${g.name}`).toBe(true);
      expect(
        await optionsAnswered(g.name),
        `no 200 to OPTIONS after group ${g.name}: ${server.stderr.slice(-2000)}`,
      ).toBe(true);
    }
    // Every template was sent except those larger than a UDP datagram can carry (116 of 9054).
    expect(unsendable).toBe(oversized);
    expect(sent + unsendable).toBe(2 * 4527);

    // Every transaction timer (H, J: 64·T1 = 32 s) runs out; then nothing may be left.
    const after = await waitFor(
      async () => {
        const m = await server.memstats();
        return m.transactions.server === 0 && m.transactions.client === 0 ? m : undefined;
      },
      { what: 'no transaction left once timers H and J (32 s) ran out', timeoutMs: 36_000, intervalMs: 1000 },
    );
    expect(after.transactions).toEqual({ server: 0, client: 0 });
    // Heap after a full GC: within 8 MiB of the baseline (it held ~9000 transactions meanwhile).
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(8 * 1024 * 1024);
    // RSS may keep freed pages; allow a generous but bounded margin.
    expect(after.rss - baseline.rss).toBeLessThan(128 * 1024 * 1024);
    expect(await optionsAnswered('final')).toBe(true);
    // Nothing reached the "error while processing" safety net (pino level 50) or crashed.
    expect(server.stderr).not.toMatch(/"level":(50|60)/);
    process.stdout.write(
      `PROTOS: sent ${sent}, unsendable ${unsendable}; heapUsed ${(baseline.heapUsed / 1e6).toFixed(1)} → ${(after.heapUsed / 1e6).toFixed(1)} MB; ` +
        `rss ${(baseline.rss / 1e6).toFixed(1)} → ${(after.rss / 1e6).toFixed(1)} MB\n`,
    );
  }, 150_000);
});
