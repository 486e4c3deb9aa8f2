/**
 * The built-in media server's settings from the application options `media-address`,
 * `rtp-port-range`, `ringback-tone` and `music-on-hold-file` (docs/media.md, docs/options.md).
 */
import { networkInterfaces } from 'node:os';
import { parseListenSpec } from '../../sip/transport/listen-spec.js';
import { RINGBACK_TONES, type RingbackTone } from './tones.js';

/** What {@link createBuiltinMediaServer} needs. */
export interface BuiltinMediaSettings {
  /** Address the RTP sockets bind to. */
  readonly bindAddress: string;
  /** Address written in SDP (never 0.0.0.0). */
  readonly mediaAddress: string;
  readonly portMin: number;
  readonly portMax: number;
  readonly ringbackTone: RingbackTone;
  /** The music-on-hold WAV file, if any. */
  readonly musicFile: string | undefined;
}

/** The default of `rtp-port-range`. */
export const DEFAULT_RTP_PORT_RANGE = '20000-29999';

/** `min-max` with 1024 ≤ min < max ≤ 65535 and room for one even/odd pair; undefined if not. */
export function parsePortRange(value: string): { min: number; max: number } | undefined {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2]);
  const firstEven = min % 2 === 0 ? min : min + 1;
  return min >= 1024 && max <= 65535 && firstEven + 1 <= max ? { min, max } : undefined;
}

function isAny(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A non-internal IPv4 address of this host, else 127.0.0.1 (for SDP when we listen on 0.0.0.0). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Settings from application options and the SIP listen addresses: RTP binds to the first SIP
 * listen host; SDP carries `media-address`, by default that host (or, when it is 0.0.0.0, the
 * first external IPv4 address of the machine). Throws on a bad `rtp-port-range` or `ringback-tone`.
 */
export function mediaSettingsFromOptions(
  options: Readonly<Record<string, string | undefined>>,
  sipListen: readonly string[],
): BuiltinMediaSettings {
  const listenHost = sipListen.length > 0 ? parseListenSpec(sipListen[0]).host : '127.0.0.1';
  const configured = options['media-address']?.trim();
  const mediaAddress = configured || (isAny(listenHost) ? hostAddress() : listenHost);
  const rangeText = options['rtp-port-range']?.trim() || DEFAULT_RTP_PORT_RANGE;
  const range = parsePortRange(rangeText);
  if (!range) throw new Error(`option rtp-port-range: "${rangeText}" is not a port range such as 20000-29999`);
  const tone = (options['ringback-tone']?.trim() || 'us') as RingbackTone;
  if (!RINGBACK_TONES.includes(tone)) throw new Error(`option ringback-tone: "${tone}" is not one of us, uk, eu`);
  const musicFile = options['music-on-hold-file']?.trim() || undefined;
  return {
    bindAddress: listenHost,
    mediaAddress,
    portMin: range.min,
    portMax: range.max,
    ringbackTone: tone,
    musicFile,
  };
}
