#!/usr/bin/env node
/* global fetch, AbortSignal */
/**
 * Small helpers of scripts/cluster-up.sh (plain Node, no build needed):
 *
 *   cluster-tool.mjs listen FILE            the file's server.sip.listen and server.http.listen:
 *                                           `sip PROTO HOST PORT` lines, then `http HOST PORT`
 *   cluster-tool.mjs admin-token FILE       server.http.admin-token of the file (empty line if none)
 *   cluster-tool.mjs free-port [HOST]       a port free for both TCP and UDP on HOST (default 127.0.0.1)
 *   cluster-tool.mjs http-ready URL TOKEN MS [PID]  exit 0 once GET URL answers 200 (bearer TOKEN), 1 after MS
 *   cluster-tool.mjs sip-ready HOST PORT MS [PID]   exit 0 once an OPTIONS over UDP is answered 200, 1 after MS
 * The ready checks give up at once (exit 3) when process PID, the one that should answer, has exited.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';

/** Whether process `pid` runs (not gone, not a zombie); always true without a pid. */
function running(pid) {
  if (!pid) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

const exited = (pid, what) => {
  process.stderr.write(`cluster-tool: process ${pid} exited before ${what} answered\n`);
  process.exit(3);
};

const fail = (msg) => {
  process.stderr.write(`cluster-tool: ${msg}\n`);
  process.exit(2);
};

/** `udp:127.0.0.1:5060` / `[::1]:5060` / `127.0.0.1:5060` → [proto, host, port]. */
function splitListen(spec, defaultProto) {
  const m = /^(?:(udp|tcp|tls|ws|wss):)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(String(spec).trim());
  if (!m) fail(`cannot read listen address "${spec}"`);
  return [m[1] ?? defaultProto, m[2], Number(m[3])];
}

function readServer(file) {
  let doc;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const server = doc?.server ?? {};
  return server;
}

function listen(file) {
  const server = readServer(file);
  const sip = server.sip?.listen ?? ['udp:0.0.0.0:5060'];
  for (const s of Array.isArray(sip) ? sip : [sip]) {
    const [proto, host, port] = splitListen(s, 'udp');
    process.stdout.write(`sip ${proto} ${host} ${port}\n`);
  }
  const [, host, port] = splitListen(server.http?.listen ?? '0.0.0.0:8080', 'http');
  process.stdout.write(`http ${host} ${port}\n`);
}

const bindTcp = (host, port) =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port, exclusive: true }, () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
const bindUdp = (host, port) =>
  new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, host, () => s.close(() => resolve(port)));
  });

async function freePort(host) {
  for (let i = 0; i < 50; i++) {
    const p = await bindTcp(host, 0);
    try {
      await bindUdp(host, p);
      return p;
    } catch {
      /* taken for UDP: ask again */
    }
  }
  fail(`no port free for both TCP and UDP on ${host} after 50 tries`);
}

async function httpReady(url, token, ms, pid) {
  const deadline = Date.now() + ms;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!running(pid)) exited(pid, url);
    try {
      const r = await fetch(url, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(2000),
      });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? (e.cause?.code ?? e.message) : String(e);
    }
    await sleep(200);
  }
  process.stderr.write(`cluster-tool: ${url} not ready within ${ms} ms (${last})\n`);
  process.exit(1);
}

/** One OPTIONS per 500 ms until a 200 comes back (RFC 3261 §11). */
async function sipReady(host, port, ms, pid) {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise((r) => sock.bind(0, host.replace(/^\[|\]$/g, ''), r));
  const local = sock.address();
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const lh = local.family === 'IPv6' ? `[${local.address}]` : local.address;
  const callId = randomBytes(8).toString('hex');
  let status = 0;
  sock.on('message', (b) => {
    const m = /^SIP\/2\.0 (\d{3})/.exec(b.toString());
    if (m && b.toString().includes(callId)) status = Number(m[1]);
  });
  const deadline = Date.now() + ms;
  for (let cseq = 1; Date.now() < deadline; cseq++) {
    if (!running(pid)) exited(pid, `${host}:${port}`);
    const msg =
      `OPTIONS sip:${h}:${port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${lh}:${local.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:cluster-up@${lh}>;tag=${callId.slice(0, 6)}\r\nTo: <sip:${h}:${port}>\r\n` +
      `Call-ID: ${callId}\r\nCSeq: ${cseq} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    sock.send(msg, port, host.replace(/^\[|\]$/g, ''));
    await sleep(500);
    if (status === 200) {
      sock.close();
      return;
    }
  }
  sock.close();
  process.stderr.write(
    `cluster-tool: no 200 to OPTIONS from ${host}:${port} within ${ms} ms (last status ${status || 'none'})\n`,
  );
  process.exit(1);
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'listen':
    listen(args[0] ?? fail('listen FILE'));
    break;
  case 'admin-token':
    process.stdout.write(`${readServer(args[0] ?? fail('admin-token FILE')).http?.['admin-token'] ?? ''}\n`);
    break;
  case 'free-port':
    process.stdout.write(`${await freePort(args[0] ?? '127.0.0.1')}\n`);
    break;
  case 'http-ready':
    await httpReady(args[0] ?? fail('http-ready URL TOKEN MS'), args[1] ?? '', Number(args[2] ?? 20000), args[3]);
    break;
  case 'sip-ready':
    await sipReady(args[0] ?? fail('sip-ready HOST PORT MS'), Number(args[1]), Number(args[2] ?? 10000), args[3]);
    break;
  default:
    fail(`unknown command "${cmd ?? ''}" (listen | admin-token | free-port | http-ready | sip-ready)`);
}
