/**
 * TLS client settings from the configuration file (`server.sip.tls.ca`, `verify-peer`;
 * docs/configuration.md): the real server process probes two TLS devices (OPTIONS, behaviour
 * §5.1). With `verify-peer: true` and a throwaway CA, the device whose certificate that CA signed
 * is reached and in service; a device with a self-signed certificate is refused at the handshake
 * (it never sees the OPTIONS) and goes out of service. Certificates are made with the openssl CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText, exportConfigYaml } from '../../src/config/config-file.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const TOKEN = 'tls-client-admin-token';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A throwaway CA, a device certificate it signs (SAN IP 127.0.0.1), and a self-signed one. */
function makeCertificates(dir: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=Test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'device.key', '-out', 'device.csr'],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'device.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'device.pem',
    ],
    dir,
  );
  openssl(
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
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      'self.key',
      '-out',
      'self.pem',
    ],
    dir,
  );
  // The server's own listener certificate (also its client certificate): self-signed is fine.
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=sipserver',
      '-keyout',
      'server.key',
      '-out',
      'server.pem',
    ],
    dir,
  );
}

/** A TLS device that answers every OPTIONS 200 and counts them. */
class TlsDevice {
  options = 0;
  handshakes = 0;
  private constructor(readonly server: Server) {}
  static async start(cert: string, key: string): Promise<TlsDevice> {
    const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) });
    const dev = new TlsDevice(server);
    server.on('secureConnection', (sock: TLSSocket) => {
      dev.handshakes++;
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        let end: number;
        while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          if (!head.startsWith('OPTIONS ')) continue;
          dev.options++;
          const keep = head.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq|v|f|t|i):/i.test(l));
          sock.write(
            [
              'SIP/2.0 200 OK',
              ...keep.map((l) => (/^(To|t):/i.test(l) && !/;tag=/i.test(l) ? `${l};tag=dev` : l)),
              'Content-Length: 0',
              '',
              '',
            ].join('\r\n'),
          );
        }
      });
      sock.on('error', () => undefined);
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return dev;
  }
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('outbound TLS with server.sip.tls.ca and verify-peer', () => {
  let dir: string;
  let signed: TlsDevice;
  let selfSigned: TlsDevice;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-tls-client-'));
    makeCertificates(dir);
    signed = await TlsDevice.start(join(dir, 'device.pem'), join(dir, 'device.key'));
    selfSigned = await TlsDevice.start(join(dir, 'self.pem'), join(dir, 'self.key'));
  });

  afterAll(async () => {
    await server?.stop();
    await signed.close();
    await selfSigned.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (verifyPeer: string): string => `server:
  name: SIP_Server
  sip:
    listen: ["udp:127.0.0.1:0", "tls:127.0.0.1:0"]
    tls:
      cert: ${join(dir, 'server.pem')}
      key: ${join(dir, 'server.key')}
      ca: ${join(dir, 'ca.pem')}
      verify-peer: "${verifyPeer}"
  http: { admin-token: "${TOKEN}" }
dns:
  - number: SignedDevice
    type: trunk
    options: { contact: "sip:127.0.0.1:${signed.port};transport=tls", oos-check: "1", oos-force: "2" }
  - number: SelfSignedDevice
    type: trunk
    options: { contact: "sip:127.0.0.1:${selfSigned.port};transport=tls", oos-check: "1", oos-force: "2" }
`;

  async function deviceStates(url: string): Promise<Record<string, string>> {
    const res = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { devices: { dn: string; state: string }[] };
    return Object.fromEntries(body.devices.map((d) => [d.dn, d.state]));
  }

  it('the file accepts ca and verify-peer, rejects a bad verify-peer, and exports them back', () => {
    const m = loadConfigText(config('true')).model!;
    expect(m.server.sip.tls).toEqual({
      cert: join(dir, 'server.pem'),
      key: join(dir, 'server.key'),
      ca: join(dir, 'ca.pem'),
      verifyPeer: true,
    });
    expect(loadConfigText(exportConfigYaml(m)).model).toEqual(m);
    const bad = loadConfigText(config('maybe'), 'f.yaml');
    expect(bad.errors.map((e) => `${e.line}: ${e.message}`)).toEqual([
      '9: server.sip.tls.verify-peer "maybe" is not true or false',
    ]);
  });

  it('verify-peer true + ca: the CA-signed device is reached and in service; the self-signed one is refused and out of service', async () => {
    const file = join(dir, 'verify.yaml');
    writeFileSync(file, config('true'));
    server = await startServerProcess({ config: file, expectAddresses: 2 });
    const deadline = Date.now() + 15_000;
    let states: Record<string, string> = {};
    while (Date.now() < deadline) {
      states = await deviceStates(server.httpUrl!);
      if (states.SignedDevice === 'in-service' && states.SelfSignedDevice === 'out-of-service' && signed.options >= 2)
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(states).toMatchObject({ SignedDevice: 'in-service', SelfSignedDevice: 'out-of-service' });
    expect(signed.options).toBeGreaterThanOrEqual(2);
    expect(selfSigned.options).toBe(0);
    expect(selfSigned.handshakes).toBe(0);
    await server.stop();
    server = undefined;
  }, 40_000);
});
