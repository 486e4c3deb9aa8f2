/**
 * RFC 4475 and RFC 5118 torture messages sent over UDP to a running SIP stack (an endpoint
 * with no handlers registered): each gets the verdict below. Where an RFC allows several
 * answers, the table lists each one we accept; `none` means silently dropped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import { corpusDir } from '../helpers/paths.js';
import { statusOf, UdpPeer } from '../helpers/udp-peer.js';

type Verdict = number | 'none';

/** RFC 4475 verdicts for an endpoint UAS without registrar (INVITE/REGISTER/BYE/MESSAGE unclaimed: 404). */
const RFC4475: Record<string, Verdict[]> = {
  wsinv: [404],
  intmeth: [501],
  esc01: [404],
  escnull: [404],
  esc02: [501],
  lwsdisp: [200],
  longreq: [404],
  dblreq: [404],
  semiuri: [200],
  transports: [200],
  mpart01: [404],
  unreason: ['none'],
  noreason: ['none'],
  badinv01: [400],
  clerr: [400],
  ncl: [400],
  scalar02: [400],
  scalarlg: ['none'],
  quotbal: [400],
  ltgtruri: [400],
  lwsruri: [400],
  lwsstart: [400, 404],
  trws: [400, 200],
  escruri: [400],
  baddate: [400, 404],
  regbadct: [400],
  badaspec: [400, 404],
  baddn: [400, 'none'],
  badvers: [505],
  mismatch01: [400],
  mismatch02: [501],
  bigcode: ['none'],
  badbranch: [200, 400],
  insuf: [400, 'none'],
  unkscm: [416],
  novelsc: [416],
  unksm2: [404, 400],
  bext01: [420],
  invut: [404, 415],
  regaut01: [404, 405],
  multi01: [400],
  mcl01: [400],
  bcast: ['none'],
  zeromf: [200],
  cparam01: [404],
  cparam02: [404],
  regescrt: [404],
  sdp01: [404, 406, 400],
  inv2543: [404],
  test: [400, 'none'],
};

/** RFC 5118 verdicts (archive copies, LF → CRLF, header section closed where the archive does not). */
const RFC5118: Record<string, Verdict[]> = {
  'ipv6-good': [404],
  'ipv6-bad': [400],
  'port-ambiguous': [404],
  'port-unambiguous': [404],
  'via-received-param-with-delim': [404],
  'via-received-param-no-delim': [200],
  // Content-Length 268 exceeds the CRLF body (RFC 5118 errata): 400 over UDP (RFC 3261 §18.3).
  'ipv6-in-sdp': [400],
  'mult-ip-in-header': [404],
  'mult-ip-in-sdp': [404],
  'ipv4-mapped-ipv6': [404],
  'ipv6-bug-abnf-3-colons': [200, 400],
  'ipv6-correct-abnf-2-colons': [200],
};

/**
 * Send one message to a fresh stack from a fresh socket; return the first answer's status (or
 * 'none') and the answers. A fresh stack per message because several corpus messages share a
 * branch and sent-by: to one long-lived stack the later ones are retransmissions (§17.2.3).
 */
async function verdictOf(bytes: Buffer, stack?: SipStack): Promise<{ verdict: Verdict; texts: string[] }> {
  // force_rport: the corpus Vias name hosts and ports that are not ours; answer at the source.
  const s = stack ?? new SipStack({ listen: ['udp:127.0.0.1:0'], forceRport: true });
  if (!stack) await s.start();
  const peer = await UdpPeer.open();
  try {
    await peer.send(bytes, s.addresses()[0]!.port);
    const got = await peer.waitFor(() => true, 1, 400);
    const first = got[0];
    return { verdict: first ? (statusOf(first.text) ?? 'none') : 'none', texts: got.map((d) => d.text) };
  } finally {
    await peer.close();
    if (!stack) await s.stop();
  }
}

let shared: SipStack;
beforeAll(async () => {
  shared = new SipStack({ listen: ['udp:127.0.0.1:0'], forceRport: true });
  await shared.start();
});
afterAll(async () => {
  await shared.stop();
});

function lfToCrlf(buf: Buffer): Buffer {
  let text = buf.toString('latin1').replace(/\r?\n/g, '\r\n');
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) text += '\r\n';
  return Buffer.from(text, 'latin1');
}

describe('RFC 4475 torture messages over UDP', () => {
  for (const [name, allowed] of Object.entries(RFC4475)) {
    it(`${name}.dat → ${allowed.join(' or ')}`, async () => {
      const bytes = readFileSync(join(corpusDir, 'rfc4475/archive', `${name}.dat`));
      const { verdict, texts } = await verdictOf(bytes);
      expect(allowed, `got ${verdict}: ${texts[0] ?? ''}`).toContain(verdict);
      if (verdict === 200) expect(texts[0]).toMatch(/\r\nAllow: [^\r]*OPTIONS/);
      if (verdict === 501) expect(texts[0]).toMatch(/\r\nAllow: /);
      if (verdict === 420) expect(texts[0]).toMatch(/\r\nUnsupported: /);
    });
  }
  it('variants/baddn-terminated.dat → 400', async () => {
    const { verdict } = await verdictOf(readFileSync(join(corpusDir, 'rfc4475/variants/baddn-terminated.dat')));
    expect(verdict).toBe(400);
  });
  it('bext01: 420 lists exactly the unsupported Require tags (not Proxy-Require: we are an endpoint)', async () => {
    const { texts } = await verdictOf(readFileSync(join(corpusDir, 'rfc4475/archive/bext01.dat')));
    const unsupported = /\r\nUnsupported: ([^\r]*)/.exec(texts[0] ?? '')?.[1];
    expect(unsupported).toBe('nothingSupportsThis, nothingSupportsThisEither');
  });
});

describe('RFC 5118 IPv6 torture messages over UDP', () => {
  for (const [name, allowed] of Object.entries(RFC5118)) {
    it(`${name} → ${allowed.join(' or ')}`, async () => {
      const bytes = lfToCrlf(readFileSync(join(corpusDir, 'rfc5118/archive', name)));
      const { verdict, texts } = await verdictOf(bytes);
      expect(allowed, `got ${verdict}: ${texts[0] ?? ''}`).toContain(verdict);
    });
  }
});

describe('one stack survives the whole corpus', () => {
  it('gets every message in a row, then still answers OPTIONS with 200', async () => {
    const files = [
      ...Object.keys(RFC4475).map((n) => join(corpusDir, 'rfc4475/archive', `${n}.dat`)),
      ...Object.keys(RFC5118).map((n) => join(corpusDir, 'rfc5118/archive', n)),
    ];
    const peer = await UdpPeer.open();
    for (const f of files) await peer.send(lfToCrlf(readFileSync(f)), shared.addresses()[0]!.port);
    await peer.waitFor(() => false, 1, 300);
    await peer.close();
    const opt =
      'OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKafter1;rport\r\nFrom: <sip:t@127.0.0.1>;tag=a\r\n' +
      'To: <sip:127.0.0.1>\r\nCall-ID: after-corpus\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
    const { verdict } = await verdictOf(Buffer.from(opt), shared);
    expect(verdict).toBe(200);
    expect(shared.malformedCount).toBeGreaterThan(5);
  });
});
