/**
 * TLS transport with a self-signed certificate made by the openssl CLI in the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { StreamPeer } from '../helpers/tcp-peer.js';
import { statusOf } from '../helpers/udp-peer.js';

let dir: string;
let stack: SipStack;
let port = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  stack = new SipStack({
    listen: ['tls:127.0.0.1:0'],
    tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
  });
  await stack.start();
  port = stack.addresses()[0]!.port;
});

afterAll(async () => {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
});

const options = (via: string): string =>
  `OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS ${via};branch=z9hG4bK${Math.random().toString(36).slice(2)}\r\n` +
  `Max-Forwards: 70\r\nFrom: <sips:t@127.0.0.1>;tag=1\r\nTo: <sips:127.0.0.1>\r\nCall-ID: tls-${Math.random()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;

describe('TLS', () => {
  it('listens with the configured certificate and answers OPTIONS with 200 over the same connection', async () => {
    expect(stack.addressStrings()[0]).toMatch(/^tls:127\.0\.0\.1:\d+$/);
    const c = await StreamPeer.tls(port);
    try {
      c.write(options('127.0.0.1:5999'));
      expect(await c.until(() => c.data.includes('\r\n\r\n'))).toBe(true);
      expect(statusOf(c.data)).toBe(200);
      expect(c.data).toContain('\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=');
      const peerCert = (c.socket as import('node:tls').TLSSocket).getPeerCertificate();
      expect(peerCert.subject?.CN).toBe('127.0.0.1');
    } finally {
      c.destroy();
    }
  });

  it('a plain-TCP client speaking SIP to the TLS port gets nothing and is dropped', async () => {
    const c = await StreamPeer.tcp(port);
    try {
      c.write(options('127.0.0.1:5999'));
      expect(await c.until(() => c.closed, 3000)).toBe(true);
      expect(c.data.startsWith('SIP/2.0')).toBe(false);
    } finally {
      c.destroy();
    }
  });

  it('refuses to start a tls or wss listener without certificate settings', () => {
    expect(() => new SipStack({ listen: ['tls:127.0.0.1:0'] })).toThrow(/tls\.cert/);
    expect(() => new SipStack({ listen: ['wss:127.0.0.1:0'] })).toThrow(/tls\.cert/);
  });

  it('wss: SIP over secure WebSocket with the same certificate answers OPTIONS', async () => {
    const s = new SipStack({
      listen: ['wss:127.0.0.1:0'],
      tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
    });
    await s.start();
    try {
      const { default: WebSocket } = await import('ws');
      const ws = new WebSocket(`wss://127.0.0.1:${s.addresses()[0]!.port}`, ['sip'], { rejectUnauthorized: false });
      const answer = new Promise<string>((res) => ws.on('message', (d) => res(String(d))));
      await new Promise<void>((res, rej) => {
        ws.once('open', () => res());
        ws.once('error', rej);
      });
      ws.send(options('x.invalid'));
      expect(await answer).toMatch(/^SIP\/2\.0 200 OK\r\n/);
      ws.close();
    } finally {
      await s.stop();
    }
  });
});
