/**
 * Hot loop of the UDP request path, in process: SIPp's datagrams (bench/register.bench.ts,
 * bench/options.bench.ts) fed to the real stack's UDP transport (parse, Via stamp, checks, UAS
 * core, registrar with digest, stateless answer), the socket's send stubbed. For comparing two
 * versions of the hot path by instruction counts, which do not depend on what else the machine
 * runs (wall-clock and CPU time do):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
 *     --toggle-collect=Builtins_ArrayReduceRight \
 *     node --single-threaded --predictable --import tsx bench/tools/hot-loop.ts register 1000 10000 [ROOT]
 *
 * (arguments: workload, count, warm-up, and the checkout whose `src/` is run, default this one)
 * runs `warm-up` iterations (default 10,000: start-up and JIT, not counted), then `count`
 * (default 2,000) more inside an `Array#reduceRight` callback, the only place that builtin runs:
 * callgrind collects there only, and its "Collected" figure divided by `count` is the
 * instructions of one iteration, garbage collection included (`--single-threaded`: on the main
 * thread). Two runs of the same code agree within about 0.2 %. Without valgrind it prints the
 * CPU time per measured iteration (noisy on a loaded machine).
 *
 * Workloads: `register` (one registration: REGISTER → 401, REGISTER with credentials → 200,
 * the client's digest answer included), `register-client` (only the client's part of that:
 * building the two datagrams and the digest answer to a fixed challenge; subtract it from
 * `register`), `options` (OPTIONS → stateless 200).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';

const [workload = 'register', countArg = '2000', warmArg = '10000', rootArg] = process.argv.slice(2);
const N = Number(countArg);
const WARM = Number(warmArg);
const ROOT = resolve(rootArg ?? join(import.meta.dirname, '../..'));

/** A module of ROOT's source tree. */
async function fromRoot<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(ROOT, 'src', path)).href)) as T;
}

const { loadConfigFile } = await fromRoot<typeof import('../../src/config/config-file.js')>('config/config-file.ts');
const { openStore } = await fromRoot<typeof import('../../src/config/config-store.js')>('config/config-store.ts');
const { wireRegistrarAndReachability } = await fromRoot<typeof import('../../src/reachability/reachability-module.js')>(
  'reachability/reachability-module.ts',
);
const { DigestClient } =
  await fromRoot<typeof import('../../src/sip/auth/digest-client.js')>('sip/auth/digest-client.ts');
const { SipStack } = await fromRoot<typeof import('../../src/sip/stack/sip-stack.js')>('sip/stack/sip-stack.ts');
const { systemClock } = await fromRoot<typeof import('../../src/util/clock.js')>('util/clock.ts');
const { silentLogger } = await fromRoot<typeof import('../../src/util/logger.js')>('util/logger.ts');
const SOURCE = { transport: 'udp' as const, host: '127.0.0.1', port: 5099 };
const CHALLENGE =
  'Digest realm="127.0.0.1", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", algorithm=MD5, qop="auth"';

/** SIPp's REGISTER (test/integration/sipp/uac-register-auth.xml), call `i`, with `auth` when given. */
function register(i: number, auth?: string): Buffer {
  return Buffer.from(
    'REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n' +
      `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-${i}-${auth ? 2 : 1};rport\r\n` +
      `From: <sip:8888@127.0.0.1>;tag=4242SIPpTag${i}\r\n` +
      'To: <sip:8888@127.0.0.1>\r\n' +
      `Call-ID: ${i}-4242@127.0.0.1\r\n` +
      `CSeq: ${auth ? 2 : 1} REGISTER\r\n` +
      'Contact: <sip:8888@127.0.0.1:5099>\r\n' +
      (auth ? `Authorization: ${auth}\r\n` : '') +
      'Max-Forwards: 70\r\nExpires: 3600\r\nUser-Agent: SIPp\r\nContent-Length: 0\r\n\r\n',
    'latin1',
  );
}

/** SIPp's OPTIONS (test/integration/sipp/uac-options-load.xml), call `i`. */
function options(i: number): Buffer {
  return Buffer.from(
    'OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n' +
      `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-${i}\r\n` +
      `From: sipp <sip:sipp@127.0.0.1:5099>;tag=4242SIPpTag00${i}\r\n` +
      'To: <sip:127.0.0.1:5060>\r\n' +
      `Call-ID: ${i}-4242@127.0.0.1\r\n` +
      'CSeq: 1 OPTIONS\r\n' +
      'Contact: <sip:sipp@127.0.0.1:5099;transport=UDP>\r\n' +
      'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
    'latin1',
  );
}

/** The parts of the UDP transport the loop drives (private in the source). */
interface UdpInside {
  socket: { send: (buf: Buffer, ...rest: unknown[]) => void };
  receive(buf: Buffer, source: typeof SOURCE): void;
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'hot-loop-'));
  const store = openStore(data);
  store.reconcile(loadConfigFile(join(ROOT, 'examples/office.yaml')).model!);
  store.apply([{ op: 'patch', kind: 'server', key: 'server', value: { options: { 'auth-algorithms': 'MD5' } } }]);
  const stack = new SipStack({ listen: ['udp:127.0.0.1:0'], logger: silentLogger });
  const wired = wireRegistrarAndReachability({
    stack,
    store,
    clock: systemClock,
    logger: silentLogger,
    registry: new Registry(),
  });
  await stack.start();
  const udp = (stack as unknown as { transport: { transports: UdpInside[] } }).transport.transports[0];
  let answer: Buffer | undefined;
  udp.socket.send = (buf: Buffer) => {
    answer = buf;
  };
  const client = new DigestClient({ username: '8888', password: '8888-secret' });
  const statusOf = (b: Buffer | undefined): string => (b === undefined ? 'none' : b.toString('latin1', 8, 11));
  const once: Record<string, (i: number) => void> = {
    register: (i) => {
      answer = undefined;
      udp.receive(register(i), SOURCE);
      if (statusOf(answer) !== '401') throw new Error(`REGISTER ${i}: expected 401, got ${statusOf(answer)}`);
      const text = answer!.toString('latin1');
      const at = text.indexOf('WWW-Authenticate: ');
      const challenge = text.slice(at + 18, text.indexOf('\r\n', at));
      const auth = client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1:5060', challenges: [challenge] })!;
      answer = undefined;
      udp.receive(register(i, auth), SOURCE);
      if (statusOf(answer) !== '200')
        throw new Error(`REGISTER ${i} with credentials: expected 200, got ${statusOf(answer)}`);
    },
    'register-client': (i) => {
      register(i);
      register(i, client.answer({ method: 'REGISTER', uri: 'sip:127.0.0.1:5060', challenges: [CHALLENGE] })!);
    },
    options: (i) => {
      answer = undefined;
      udp.receive(options(i), SOURCE);
      if (statusOf(answer) !== '200') throw new Error(`OPTIONS ${i}: expected 200, got ${statusOf(answer)}`);
    },
  };
  const step = once[workload];
  if (step === undefined) throw new Error(`unknown workload ${workload} (${Object.keys(once).join(', ')})`);
  for (let i = 0; i < WARM; i++) step(i);
  const cpu0 = process.cpuUsage();
  [0].reduceRight(() => {
    for (let i = WARM; i < WARM + N; i++) step(i);
    return 0;
  }, 0);
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${workload}: ${N} iterations after ${WARM} of warm-up, ${((cpu.user + cpu.system) / N).toFixed(2)} µs CPU each\n`,
  );
  wired.close();
  await stack.stop();
  store.close();
  rmSync(data, { recursive: true, force: true });
}

await main();
