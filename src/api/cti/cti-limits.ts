/** Per-connection limits of the CTI gateway and the application options that set them. */

/** Limits of one connection; defaults in {@link DEFAULT_CTI_LIMITS}. */
export interface CtiLimits {
  /** Largest accepted frame, bytes; a larger one is answered and the connection closed (1009). */
  readonly maxMessageBytes: number;
  /**
   * Token bucket of an agent-scope connection (and of any connection before RequestOpen): burst
   * size and sustained requests per second. A desktop sends a few requests a minute.
   */
  readonly burst: number;
  readonly ratePerSecond: number;
  /**
   * Token bucket of an application-scope connection (RequestOpen with the admin token: a desktop
   * gateway or a router acting for thousands of agents). The default, 5,000/s with a burst of
   * 10,000, is 2.5 times the 2,000 requests/s such a client must sustain, and the burst absorbs a
   * reconnect storm (2,000 agents × register + query + login + ready). It still bounds what one
   * runaway integration can make the server do; beyond it, TCP backpressure (the server reads no
   * faster than it answers) and the slow-reader limit apply.
   */
  readonly applicationBurst: number;
  readonly applicationRatePerSecond: number;
  /** Errors before RequestOpen after which the connection is closed (interfaces §4: 3). */
  readonly maxPreOpenErrors: number;
  /**
   * Protocol errors (garbage, rate limited) in a burst after which the connection is closed:
   * the Nth error closes it. Valid requests do not reset the count (a flood of valid requests
   * above the rate limit is still a flood); time does, at `protocolErrorForgivePerSecond`.
   */
  readonly maxProtocolErrors: number;
  /** Rate at which past protocol errors are forgiven (errors per second). */
  readonly protocolErrorForgivePerSecond: number;
  /** A client whose unsent backlog exceeds this many bytes is dropped (it does not read). */
  readonly maxBufferedBytes: number;
  /** Failed RequestOpens from one address within `openFailureWindowMs` after which it is refused for that window. */
  readonly maxOpenFailuresPerAddress: number;
  readonly openFailureWindowMs: number;
}

/** Default connection limits. */
export const DEFAULT_CTI_LIMITS: CtiLimits = {
  maxMessageBytes: 64 * 1024,
  burst: 40,
  ratePerSecond: 20,
  applicationBurst: 10_000,
  applicationRatePerSecond: 5_000,
  maxPreOpenErrors: 3,
  maxProtocolErrors: 10,
  protocolErrorForgivePerSecond: 0.1,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxOpenFailuresPerAddress: 10,
  openFailureWindowMs: 60_000,
};

/** Application options (docs/options.md) that set the per-scope request rates. */
const RATE_OPTIONS = [
  ['cti-agent-burst', 'burst'],
  ['cti-agent-rate', 'ratePerSecond'],
  ['cti-application-burst', 'applicationBurst'],
  ['cti-application-rate', 'applicationRatePerSecond'],
] as const;

/**
 * The request rates set in the application options `cti-agent-rate`, `cti-agent-burst`,
 * `cti-application-rate` and `cti-application-burst` (`server.options`, read at start); an
 * option not set (or empty) is left out, so the default applies.
 */
export function ctiLimitsFromOptions(options: Readonly<Record<string, string>>): Partial<CtiLimits> {
  const out: { -readonly [K in keyof CtiLimits]?: number } = {};
  for (const [name, key] of RATE_OPTIONS) {
    const raw = options[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (Number.isFinite(n) && n > 0) out[key] = n;
  }
  return out;
}
