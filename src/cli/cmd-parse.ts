/**
 * `sipserver parse FILE…` (interfaces §1): a debug aid that runs the server's message checks on
 * files. Each file is one datagram (RFC 3261 §18.3 framing) unless `--stream` frames it as a TCP
 * byte stream; each message is printed as JSON, or the error and the response the server would
 * answer (parseMessage + checkRequest, RFC 3261 §8.2). Exit 1 if any message was rejected.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  checkRequest,
  parseMessage,
  reasonPhrase,
  SipParseError,
  STANDARD_METHODS,
  type SipRequestMessage,
  type SipResponseMessage,
  StreamFramer,
  type RequestCaps,
  type SipMessage,
} from '../sip/message/index.js';

/** What the server's UAS core checks against (see src/sip/stack/uas-core.ts): every standard method. */
const CLI_CAPS: RequestCaps = {
  methods: [...STANDARD_METHODS],
  supported: [],
  schemes: ['sip', 'sips', 'tel'],
};

interface ParseCliOptions {
  stream?: boolean;
  crlf?: boolean;
  compact?: boolean;
  supported?: string;
}

/** JSON form of a message: start line, headers in order, body. */
function describe(m: SipMessage): Record<string, unknown> {
  const start = m.kind === 'request' ? { method: m.method, uri: m.uri } : { status: m.status, reason: m.reason };
  const body = m.body;
  const text = body.toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what makes a body unprintable
  const printable = !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]/.test(text);
  return {
    kind: m.kind,
    startLine: (m as SipRequestMessage | SipResponseMessage).startLine(),
    ...start,
    headers: m.headers.map((h) => ({ name: h.name, value: h.value })),
    body: printable ? { length: body.length, text } : { length: body.length, base64: body.toString('base64') },
  };
}

/** Verdict on one message: JSON record and whether it was rejected. */
function judge(
  file: string,
  result: { message?: SipMessage; error?: SipParseError },
  caps: RequestCaps,
): { record: Record<string, unknown>; rejected: boolean } {
  if (result.error) {
    const e = result.error;
    const record: Record<string, unknown> = {
      file,
      verdict: e.status === 0 ? 'dropped' : 'rejected',
      error: e.message,
    };
    if (e.status !== 0) record.response = { status: e.status, reason: reasonPhrase(e.status) };
    if (e.partial) record.message = describe(e.partial);
    return { record, rejected: true };
  }
  const m = result.message as SipMessage;
  if (m.kind === 'request') {
    const v = checkRequest(m, caps);
    if (v) {
      const response: Record<string, unknown> = { status: v.status, reason: v.reason };
      if (v.headers) response.headers = v.headers;
      return { record: { file, verdict: 'rejected', error: v.detail, response, message: describe(m) }, rejected: true };
    }
  }
  return { record: { file, verdict: 'accepted', message: describe(m) }, rejected: false };
}

/** Register `sipserver parse`. */
export function registerParseCommand(program: Command): void {
  program
    .command('parse')
    .description(
      'parse SIP messages from files and print them as JSON, or the error and the response the server would answer',
    )
    .argument('<files...>', 'files holding one SIP message each (raw bytes, CRLF line ends)')
    .option('--stream', 'frame each file as a TCP byte stream (several messages, missing Content-Length = 0)')
    .option('--crlf', 'turn bare LF line ends into CRLF first (for LF-only files such as the RFC 5118 archive)')
    .option('--supported <tags>', 'comma-separated option tags to treat as supported (Require check)', '')
    .option('--compact', 'one JSON object per line instead of pretty-printed')
    .action((files: string[], opts: ParseCliOptions) => {
      const caps: RequestCaps = {
        ...CLI_CAPS,
        supported: (opts.supported ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
      let rejected = 0;
      const print = (rec: Record<string, unknown>): void => {
        process.stdout.write((opts.compact ? JSON.stringify(rec) : JSON.stringify(rec, null, 2)) + '\n');
      };
      for (const file of files) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch (e) {
          print({ file, verdict: 'unreadable', error: (e as Error).message });
          rejected++;
          continue;
        }
        if (opts.crlf) {
          let t = bytes.toString('latin1').replace(/\r?\n/g, '\r\n');
          if (!t.includes('\r\n\r\n')) t += '\r\n';
          bytes = Buffer.from(t, 'latin1');
        }
        if (opts.stream) {
          const framer = new StreamFramer();
          const events = framer.push(bytes);
          for (const ev of events) {
            if (ev.type === 'message' || ev.type === 'invalid') {
              const { record, rejected: r } = judge(
                file,
                ev.type === 'message' ? { message: ev.message } : { error: ev.error },
                caps,
              );
              print(record);
              if (r) rejected++;
            } else if (ev.type === 'fatal') {
              print({ file, verdict: 'connection closed', error: ev.error.message });
              rejected++;
            } else print({ file, keepalive: ev.type });
          }
          if (!framer.closed && framer.buffered > 0) {
            print({ file, verdict: 'incomplete', error: `${framer.buffered} bytes left without a complete message` });
            rejected++;
          }
          continue;
        }
        let result: { message?: SipMessage; error?: SipParseError };
        try {
          result = { message: parseMessage(bytes) };
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
          result = { error: e };
        }
        const { record, rejected: r } = judge(file, result, caps);
        print(record);
        if (r) rejected++;
      }
      if (rejected > 0) process.exitCode = 1;
    });
}
