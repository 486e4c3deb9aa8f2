import type { NameAddr, ParamList, SipUri, TransportAddress } from '../../../src/sip/message/types.js';
import type { RegisterInput } from '../../../src/registrar/register-processor.js';

/** A tiny SIP URI builder for unit tests (the real parser is tested elsewhere). */
export function uri(raw: string): SipUri {
  const m = /^([a-z][a-z0-9+.-]*):(?:([^@;?]+)@)?(\[[^\]]+\]|[^:;?]*)(?::(\d+))?((?:;[^;?]*)*)/i.exec(raw);
  if (!m) throw new Error(`bad test uri ${raw}`);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips')
    return { scheme, host: '', params: [], headers: [], opaque: raw.slice(scheme.length + 1), raw };
  const params: ParamList = (m[5] ?? '')
    .split(';')
    .filter((p) => p)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p, null] : [p.slice(0, i), p.slice(i + 1)];
    });
  return { scheme, user: m[2], host: m[3], port: m[4] ? Number(m[4]) : undefined, params, headers: [], raw };
}

export function contact(raw: string, params: ParamList = []): NameAddr {
  return { uri: uri(raw), params };
}

export const SRC: TransportAddress = { transport: 'udp', host: '127.0.0.1', port: 5062 };

export function reg(over: Partial<RegisterInput> = {}): RegisterInput {
  return {
    toUri: uri('sip:8888@127.0.0.1'),
    callId: 'call-1',
    cseq: 1,
    contactStar: false,
    contacts: [contact('sip:8888@127.0.0.1:5062')],
    credentials: [],
    source: SRC,
    ...over,
  };
}
