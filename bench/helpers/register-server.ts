/**
 * The server process that bench/register.bench.ts and bench/tools/ab.ts load with SIPp's
 * REGISTER flow: `node --import tsx bench/helpers/register-server.ts ROOT MODE DATA_DIR`, which
 * prints `REGISTER_BENCH_READY <port>` once listening on UDP 127.0.0.1 and stops on SIGTERM.
 *
 * ROOT is the checkout whose `src/` is run (another worktree for an A/B comparison); MODE is
 * - `full`: what `sipserver start` runs for REGISTER — the store from examples/office.yaml (MD5
 *   challenges, as Kamailio's anchor and SIPp 3.6 use), the SIP stack, registrar and digest;
 * - `noop`: the same stack answering the same flow statelessly from a trivial handler (static
 *   challenge, no digest, no bindings): the SIP stack's share of the cost;
 * - `floor`: a bare `node:dgram` socket answering the flow from copied header lines, without
 *   parsing, checks, transactions or digest: what Node itself costs per datagram here.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, mode, data] = process.argv.slice(2);
if (root === undefined || data === undefined || !['full', 'noop', 'floor'].includes(mode ?? '')) {
  throw new Error('usage: register-server.ts ROOT full|noop|floor DATA_DIR');
}

/** A module of ROOT's source tree. */
async function fromRoot<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(root!, 'src', path)).href)) as T;
}

async function stack(): Promise<void> {
  const { loadConfigFile } = await fromRoot<typeof import('../../src/config/config-file.js')>('config/config-file.ts');
  const { openStore } = await fromRoot<typeof import('../../src/config/config-store.js')>('config/config-store.ts');
  const { wireRegistrarAndReachability } = await fromRoot<
    typeof import('../../src/reachability/reachability-module.js')
  >('reachability/reachability-module.ts');
  const { SipStack } = await fromRoot<typeof import('../../src/sip/stack/sip-stack.js')>('sip/stack/sip-stack.ts');
  const { systemClock } = await fromRoot<typeof import('../../src/util/clock.js')>('util/clock.ts');
  const { silentLogger } = await fromRoot<typeof import('../../src/util/logger.js')>('util/logger.ts');
  const { Registry } = await import('prom-client');
  const store = openStore(data!);
  store.reconcile(loadConfigFile(join(root!, 'examples/office.yaml')).model!);
  store.apply([{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'auth-algorithms': 'MD5' } } }]);
  const sip = new SipStack({ listen: ['udp:127.0.0.1:0'], logger: silentLogger });
  const wired =
    mode === 'noop'
      ? (sip.handle('REGISTER', (ctx) => {
          if (ctx.request.getHeader('Authorization'))
            ctx.replyStateless(200, 'OK', [['Contact', `${ctx.request.getHeader('Contact')};expires=3600`]]);
          else
            ctx.replyStateless(401, 'Unauthorized', [
              ['WWW-Authenticate', 'Digest realm="127.0.0.1", nonce="static", algorithm=MD5, qop="auth"'],
            ]);
          return true;
        }),
        { close: () => undefined })
      : wireRegistrarAndReachability({
          stack: sip,
          store,
          clock: systemClock,
          logger: silentLogger,
          registry: new Registry(),
        });
  await sip.start();
  process.stdout.write(`REGISTER_BENCH_READY ${sip.addresses()[0].port}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  wired.close();
  await sip.stop();
  store.close();
}

async function floor(): Promise<void> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  const line = (t: string, name: string): string => {
    const i = t.indexOf('\n' + name + ':');
    return i < 0 ? '' : t.slice(i + 1, t.indexOf('\r\n', i + 1)) + '\r\n';
  };
  s.on('message', (buf, r) => {
    const t = buf.toString('latin1');
    const authed = t.includes('\nAuthorization:');
    const out =
      (authed ? 'SIP/2.0 200 OK\r\n' : 'SIP/2.0 401 Unauthorized\r\n') +
      line(t, 'Via') +
      line(t, 'From') +
      line(t, 'To').replace('\r\n', ';tag=f1\r\n') +
      line(t, 'Call-ID') +
      line(t, 'CSeq') +
      (authed
        ? `Contact: <sip:8888@127.0.0.1:${r.port}>;expires=3600\r\n`
        : 'WWW-Authenticate: Digest realm="127.0.0.1", nonce="0123456789abcdef", algorithm=MD5, qop="auth"\r\n') +
      'Content-Length: 0\r\n\r\n';
    s.send(Buffer.from(out, 'latin1'), r.port, r.address);
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  process.stdout.write(`REGISTER_BENCH_READY ${s.address().port}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  s.close();
}

await (mode === 'floor' ? floor() : stack());
process.exit(0);
