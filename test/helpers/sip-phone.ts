/**
 * A minimal SIP phone over UDP for end-to-end tests: registers, answers INVITEs 200 with an SDP
 * of its own (the same To tag for every retransmission), answers BYE and OPTIONS 200, places calls
 * and hangs them up along the dialog's route set. Everything it receives stays in `received`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UdpPeer, statusOf, type Datagram } from './udp-peer.js';

/** Every value of header `name` (or its compact form) in a SIP message. */
export function headerValues(text: string, name: string, compact?: string): string[] {
  const names = compact ? `(?:${name}|${compact})` : name;
  return [...text.matchAll(new RegExp(`^${names}[ \\t]*:[ \\t]*(.*?)\\r?$`, 'gim'))].map((m) => m[1]!);
}

/** The whole lines of header `name` (or its compact form), as they are. */
export function headerLines(text: string, name: string, compact?: string): string[] {
  const names = compact ? `(?:${name}|${compact})` : name;
  return [...text.matchAll(new RegExp(`^${names}[ \\t]*:.*?(?=\\r?$)`, 'gim'))].map((m) => m[0]);
}

const branch = (): string => `z9hG4bK${randomBytes(6).toString('hex')}`;
const tag = (): string => randomBytes(4).toString('hex');

/** A call this phone placed and got answered. */
export interface PlacedCall {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  /** The remote target: the Contact of the 200. */
  readonly contact: string;
  /** The route set (the 200's Record-Route, reversed). */
  readonly routes: string[];
  readonly ok: Datagram;
}

/** A phone at `host` that sends everything to `proxyPort` on 127.0.0.1. */
export class SipPhone {
  private cseq = 1;
  /** Call-IDs of calls this phone has lost (a reboot): their in-dialog requests get 481. */
  private readonly forgotten = new Set<string>();

  private constructor(
    readonly peer: UdpPeer,
    readonly host: string,
    private readonly proxyPort: number,
    private readonly sdpPort: number,
  ) {
    peer.onDatagram((d) => this.answer(d));
  }

  static async open(host: string, proxyPort: number, sdpPort = 40000): Promise<SipPhone> {
    return new SipPhone(await UdpPeer.open(host), host, proxyPort, sdpPort);
  }

  get port(): number {
    return this.peer.port;
  }

  get received(): Datagram[] {
    return this.peer.received;
  }

  private sdp(): string {
    return (
      `v=0\r\no=- 1 1 IN IP4 ${this.host}\r\ns=-\r\nc=IN IP4 ${this.host}\r\nt=0 0\r\n` +
      `m=audio ${this.sdpPort} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`
    );
  }

  /** Answers requests: INVITE 200 with SDP, ACK nothing, anything else 200. */
  private answer(d: Datagram): void {
    const text = d.text;
    const m = /^([A-Z]+) (\S+) SIP\/2\.0/.exec(text);
    if (!m || m[1] === 'ACK') return;
    let to = headerValues(text, 'To', 't')[0]!;
    const id = headerValues(text, 'Call-ID', 'i')[0] ?? '';
    const lost = this.forgotten.has(id);
    if (!/;tag=/.test(to)) to += `;tag=${createHash('sha1').update(id).digest('hex').slice(0, 8)}`;
    const body = m[1] === 'INVITE' && !lost ? this.sdp() : '';
    const extra =
      m[1] === 'INVITE' && !lost
        ? [`Contact: <sip:phone@${this.host}:${this.port}>`, 'Content-Type: application/sdp']
        : [];
    const msg = [
      lost ? 'SIP/2.0 481 Call/Transaction Does Not Exist' : 'SIP/2.0 200 OK',
      ...headerLines(text, 'Via', 'v'),
      ...headerLines(text, 'Record-Route'),
      `From: ${headerValues(text, 'From', 'f')[0]}`,
      `To: ${to}`,
      `Call-ID: ${id}`,
      `CSeq: ${headerValues(text, 'CSeq')[0]}`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    void this.peer.send(msg, d.from.port, d.from.host);
  }

  /** From now on the phone has lost the call `callId` (a reboot): its in-dialog requests get 481. */
  forget(callId: string): void {
    this.forgotten.add(callId);
  }

  /** REGISTERs `dn` (Expires 600); resolves with the final status. */
  async register(dn: string): Promise<number | undefined> {
    const callId = randomBytes(8).toString('hex');
    await this.peer.send(
      `REGISTER sip:127.0.0.1:${this.proxyPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${branch()}\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:${dn}@127.0.0.1:${this.proxyPort}>;tag=${tag()}\r\n` +
        `To: <sip:${dn}@127.0.0.1:${this.proxyPort}>\r\nCall-ID: ${callId}\r\nCSeq: ${this.cseq++} REGISTER\r\n` +
        `Contact: <sip:${dn}@${this.host}:${this.port}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
      this.proxyPort,
    );
    const [ok] = await this.peer.waitFor((d) => d.text.includes(callId) && (statusOf(d.text) ?? 0) >= 200, 1, 5000);
    return ok ? statusOf(ok.text) : undefined;
  }

  /** Calls `target` as `dn`; resolves with the answered call (ACK sent) or throws with the final status. */
  async call(dn: string, target: string, timeoutMs = 10_000): Promise<PlacedCall> {
    const callId = `call-${randomBytes(8).toString('hex')}`;
    const from = `<sip:${dn}@127.0.0.1>;tag=${tag()}`;
    const sdp = this.sdp();
    await this.peer.send(
      `INVITE sip:${target}@127.0.0.1:${this.proxyPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${branch()};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: ${from}\r\nTo: <sip:${target}@127.0.0.1>\r\nCall-ID: ${callId}\r\n` +
        `CSeq: 1 INVITE\r\nContact: <sip:${dn}@${this.host}:${this.port}>\r\n` +
        `Content-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
      this.proxyPort,
    );
    const [ok] = await this.peer.waitFor(
      (d) => d.text.includes(`Call-ID: ${callId}\r\n`) && (statusOf(d.text) ?? 0) >= 200,
      1,
      timeoutMs,
    );
    if (!ok || statusOf(ok.text) !== 200) {
      const seen = this.peer.received
        .filter((d) => d.text.includes(`Call-ID: ${callId}\r\n`))
        .map((d) => d.text.split('\r\n')[0]);
      throw new Error(
        `call to ${target}: ${ok ? statusOf(ok.text) : 'no answer'} (received: ${seen.join(', ') || 'nothing'})`,
      );
    }
    const contact = /<([^>]+)>/.exec(headerValues(ok.text, 'Contact', 'm')[0]!)![1]!;
    const routes = headerValues(ok.text, 'Record-Route')
      .flatMap((v) => v.split(/,\s*(?=<)/))
      .reverse();
    const to = headerValues(ok.text, 'To', 't')[0]!;
    const call: PlacedCall = { callId, from, to, contact, routes, ok };
    await this.inDialog(call, 'ACK', 1);
    return call;
  }

  /** Sends `method` in the dialog of `call` along its route set (CSeq `seq`); resolves with the Via branch. */
  async inDialog(call: PlacedCall, method: string, seq: number, viaBranch = branch()): Promise<string> {
    const sdp = method === 'INVITE' ? this.sdp() : '';
    await this.peer.send(
      `${method} ${call.contact} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${viaBranch};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: ${call.from}\r\nTo: ${call.to}\r\nCall-ID: ${call.callId}\r\n` +
        `CSeq: ${seq} ${method}\r\n${call.routes.map((r) => `Route: ${r}\r\n`).join('')}` +
        (method === 'INVITE'
          ? `Contact: <sip:phone@${this.host}:${this.port}>\r\nContent-Type: application/sdp\r\n`
          : '') +
        `Content-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
      this.proxyPort,
    );
    return viaBranch;
  }

  /**
   * Sends `method` (CSeq `seq`) in the dialog of `call`; resolves with its final status (undefined:
   * none within `timeoutMs`). A re-INVITE refused gets its ACK (same branch, RFC 3261 §17.1.1.3).
   */
  async request(call: PlacedCall, method: string, seq: number, timeoutMs = 10_000): Promise<number | undefined> {
    const viaBranch = await this.inDialog(call, method, seq);
    const [r] = await this.peer.waitFor(
      (d) =>
        d.text.includes(`Call-ID: ${call.callId}\r\n`) &&
        new RegExp(`^CSeq: ${seq} ${method}\\r?$`, 'm').test(d.text) &&
        (statusOf(d.text) ?? 0) >= 200,
      1,
      timeoutMs,
    );
    const status = r ? statusOf(r.text) : undefined;
    if (method === 'INVITE' && status !== undefined && status >= 300) {
      await this.peer.send(
        `ACK ${call.contact} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${viaBranch};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: ${call.from}\r\nTo: ${headerValues(r!.text, 'To', 't')[0]}\r\nCall-ID: ${call.callId}\r\n` +
          `CSeq: ${seq} ACK\r\n${call.routes.map((x) => `Route: ${x}\r\n`).join('')}Content-Length: 0\r\n\r\n`,
        this.proxyPort,
      );
    }
    return status;
  }

  /** Hangs `call` up (BYE with CSeq `seq`); resolves with the BYE's final status. */
  hangUp(call: PlacedCall, seq = 2, timeoutMs = 10_000): Promise<number | undefined> {
    return this.request(call, 'BYE', seq, timeoutMs);
  }

  async close(): Promise<void> {
    this.peer.onDatagram(undefined);
    await this.peer.close();
  }
}
