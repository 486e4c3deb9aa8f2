import { describe, expect, it } from 'vitest';
import { parseMessage, parseVia } from '../../../../src/sip/message/index.js';
import {
  SipParseError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransportAddress,
} from '../../../../src/sip/message/types.js';
import { TransportLayer, type ResponseRoute } from '../../../../src/sip/transport/transport-layer.js';
import type { Connection, Transport } from '../../../../src/sip/transport/transport-types.js';
import { silentLogger } from '../../../../src/util/logger.js';

/** A transport that records what it is asked to send. */
class FakeTransport implements Transport {
  readonly sent: Array<{ text: string; dest: TransportAddress }> = [];
  constructor(
    readonly protocol: 'udp' | 'tcp',
    readonly local: TransportAddress,
  ) {}
  get reliable(): boolean {
    return this.protocol !== 'udp';
  }
  listen(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  send(buf: Buffer, dest: TransportAddress): void {
    this.sent.push({ text: buf.toString('latin1'), dest });
  }
}

function setup(forceRport = false) {
  const requests: Array<{ req: SipRequest; route: ResponseRoute }> = [];
  const responses: SipResponse[] = [];
  const layer = new TransportLayer({
    listen: [],
    logger: silentLogger,
    forceRport,
    delegate: { onRequest: (req, route) => requests.push({ req, route }), onResponse: (res) => responses.push(res) },
  });
  const udp = new FakeTransport('udp', { transport: 'udp', host: '127.0.0.1', port: 5060 });
  return { layer, udp, requests, responses };
}

const msg = (text: string): SipMessage => parseMessage(Buffer.from(text.split('\n').join('\r\n'), 'latin1'));
const options = (via: string): SipMessage =>
  msg(
    `OPTIONS sip:a@127.0.0.1 SIP/2.0\nVia: ${via}\nVia: SIP/2.0/UDP 127.0.9.9:5099;branch=z9hG4bKlower\nFrom: <sip:b@x>;tag=1\nTo: <sip:a@x>\nCall-ID: c1\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`,
  );
const SRC: TransportAddress = { transport: 'udp', host: '127.0.0.9', port: 40000 };

describe('TransportLayer: Via stamping on received requests (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('leaves a Via alone when its host is the source IP and there is no rport', () => {
    const { layer, udp, requests } = setup();
    layer.onMessage(options('SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa'), SRC, undefined, udp);
    expect(requests[0]!.req.getHeaders('Via')[0]).toBe('SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa');
  });

  it('adds received when the host differs; keeps the lower Vias as they were', () => {
    const { layer, udp, requests } = setup();
    layer.onMessage(options('SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bKa'), SRC, undefined, udp);
    expect(requests[0]!.req.getHeaders('Via')).toEqual([
      'SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bKa;received=127.0.0.9',
      'SIP/2.0/UDP 127.0.9.9:5099;branch=z9hG4bKlower',
    ]);
  });

  it('fills an empty rport and then always adds received', () => {
    const { layer, udp, requests } = setup();
    layer.onMessage(options('SIP/2.0/UDP 127.0.0.9:5070;rport;branch=z9hG4bKa'), SRC, undefined, udp);
    // Filled in place, parameter order kept.
    expect(requests[0]!.req.getHeaders('Via')[0]).toBe(
      'SIP/2.0/UDP 127.0.0.9:5070;rport=40000;branch=z9hG4bKa;received=127.0.0.9',
    );
  });

  it('every shape of top Via gets the same stamp, and its parsed form matches its text', () => {
    const { layer, udp, requests } = setup();
    const cases: Array<[string, string]> = [
      [
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;rport',
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;rport=40000;received=127.0.0.9',
      ],
      [
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;rport;x=1',
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;rport=40000;x=1;received=127.0.0.9',
      ],
      [
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;rport ;x=1',
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;x=1;received=127.0.0.9;rport=40000',
      ],
      // Not the usual shape (upper-case RPORT, a stale received, two Vias on one line): formatted anew.
      [
        'SIP/2.0/UDP 127.0.0.9:5070;RPORT;branch=z9hG4bKa',
        'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;received=127.0.0.9;rport=40000',
      ],
      [
        'SIP/2.0/UDP h.example:5070;received=127.0.0.1;branch=z9hG4bKa',
        'SIP/2.0/UDP h.example:5070;branch=z9hG4bKa;received=127.0.0.9',
      ],
      [
        'SIP/2.0/UDP h.example:5070;branch=z9hG4bKa;rport, SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKb',
        'SIP/2.0/UDP h.example:5070;branch=z9hG4bKa;received=127.0.0.9;rport=40000',
      ],
    ];
    for (const [via] of cases) layer.onMessage(options(via), SRC, undefined, udp);
    cases.forEach(([, want], i) => {
      const req = requests[i]!.req;
      expect(req.getHeaders('Via')[0]).toBe(want);
      const parsed = req.via;
      expect(parsed).toEqual(parseVia(want));
    });
    expect(requests[5]!.req.getHeaders('Via')[1]).toBe('SIP/2.0/UDP 127.0.0.8;branch=z9hG4bKb');
  });

  it('IPv6: bracketed sent-by equal to the source needs nothing; another one gets received without brackets', () => {
    const { layer, udp, requests } = setup();
    const src6: TransportAddress = { transport: 'udp', host: '::1', port: 40001 };
    layer.onMessage(options('SIP/2.0/UDP [::1]:5070;branch=z9hG4bKa'), src6, undefined, udp);
    layer.onMessage(options('SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKb'), src6, undefined, udp);
    expect(requests[0]!.req.getHeaders('Via')[0]).toBe('SIP/2.0/UDP [::1]:5070;branch=z9hG4bKa');
    expect(requests[1]!.req.getHeaders('Via')[0]).toBe('SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKb;received=::1');
  });

  it('forceRport adds rport and received to every request', () => {
    const { layer, udp, requests } = setup(true);
    layer.onMessage(options('SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa'), SRC, undefined, udp);
    expect(requests[0]!.req.getHeaders('Via')[0]).toBe(
      'SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa;received=127.0.0.9;rport=40000',
    );
  });
});

describe('TransportLayer: response routing (RFC 3261 §18.2.2)', () => {
  const res = (via: string): SipResponse =>
    msg(
      `SIP/2.0 200 OK\nVia: ${via}\nFrom: <sip:b@x>;tag=1\nTo: <sip:a@x>;tag=2\nCall-ID: c1\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`,
    ) as SipResponse;

  it('received + rport → that address; received alone → the sent-by port; neither → sent-by; default port 5060', () => {
    const { layer, udp } = setup();
    const route: ResponseRoute = { transport: udp, source: SRC };
    const target = (via: string) => {
      const t = layer.responseTarget(res(via), route);
      if (t instanceof Error) throw t;
      return t.dest;
    };
    expect(target('SIP/2.0/UDP h.example:5070;branch=z9hG4bKa;received=127.0.0.9;rport=40000')).toEqual({
      transport: 'udp',
      host: '127.0.0.9',
      port: 40000,
    });
    expect(target('SIP/2.0/UDP h.example:5070;branch=z9hG4bKa;received=127.0.0.9')).toEqual({
      transport: 'udp',
      host: '127.0.0.9',
      port: 5070,
    });
    expect(target('SIP/2.0/UDP 127.0.0.7:5071;branch=z9hG4bKa')).toEqual({
      transport: 'udp',
      host: '127.0.0.7',
      port: 5071,
    });
    expect(target('SIP/2.0/UDP 127.0.0.7;branch=z9hG4bKa')).toEqual({
      transport: 'udp',
      host: '127.0.0.7',
      port: 5060,
    });
    // An IPv6 destination with only an IPv4 transport: not routable.
    expect(layer.responseTarget(res('SIP/2.0/UDP [::1]:5072;branch=z9hG4bKa'), route)).toBeInstanceOf(Error);
  });

  it('a host name without received cannot be routed (no DNS): an Error, nothing sent', () => {
    const { layer, udp } = setup();
    expect(
      layer.responseTarget(res('SIP/2.0/UDP h.example:5070;branch=z9hG4bKa'), { transport: udp, source: SRC }),
    ).toBeInstanceOf(Error);
  });

  it('an open connection wins over the Via', () => {
    const { layer, udp } = setup();
    const conn: Connection = {
      id: 1,
      protocol: 'tcp',
      local: { transport: 'tcp', host: '127.0.0.1', port: 5060 },
      remote: { transport: 'tcp', host: '127.0.0.9', port: 41000 },
      closed: false,
      send: () => undefined,
      close: () => undefined,
    };
    const t = layer.responseTarget(res('SIP/2.0/TCP h.example:5070;branch=z9hG4bKa'), {
      transport: udp,
      source: SRC,
      connection: conn,
    });
    expect(t).not.toBeInstanceOf(Error);
    expect(t instanceof Error ? undefined : t.connection).toBe(conn);
  });
});

describe('TransportLayer: malformed input', () => {
  it('answers a partial request with the parse status at the source, drops status 0', () => {
    const { layer, udp } = setup();
    const partial = options('SIP/2.0/UDP 127.0.0.9:5070;branch=z9hG4bKa') as SipRequest;
    layer.onMalformed(new SipParseError(400, 'bad Content-Length', partial), partial.toBuffer(), SRC, undefined, udp);
    layer.onMalformed(new SipParseError(0, 'bad response'), Buffer.from('SIP/2.0 999'), SRC, undefined, udp);
    expect(udp.sent).toHaveLength(1);
    expect(udp.sent[0]!.dest).toEqual(SRC);
    expect(udp.sent[0]!.text).toMatch(
      /^SIP\/2\.0 400 Bad Request\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.9:5070;branch=z9hG4bKa\r\n/,
    );
    expect(udp.sent[0]!.text).toMatch(/\r\nTo: <sip:a@x>;tag=\w+\r\n/);
    expect(layer.malformedCount).toBe(2);
  });
});
