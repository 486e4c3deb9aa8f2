/**
 * A test reader of the admin console's live stream (`GET /api/events`): fetch with the bearer
 * token, the console's own parser (web/src/shared/sse-parser.ts), every event kept in order.
 */
import { readSse } from '../../web/src/shared/sse-parser.js';
import type { LiveEvents } from '../../src/api/admin/live-types.js';
import type { LiveSources } from '../../src/api/admin/live-hub.js';
import type { ContactCenterEvent } from '../../src/contact-center/events.js';
import type { CommittedChangeSet } from '../../src/config/change-set.js';
import { waitFor } from './wait.js';

/** One received event, its data parsed, and when it arrived (ms, `Date.now()`). */
export type LiveEvent = { [K in keyof LiveEvents]: { event: K; data: LiveEvents[K]; at: number } }[keyof LiveEvents];

/** An open stream. */
export class LiveStreamReader {
  readonly events: LiveEvent[] = [];
  /** Resolves when the stream ends (server closed it), rejects on an error other than our abort. */
  readonly ended: Promise<void>;

  private constructor(
    readonly status: number,
    readonly contentType: string | null,
    body: ReadableStream<Uint8Array> | null,
    private readonly abort: AbortController,
  ) {
    this.ended = body
      ? readSse(body, (e) =>
          this.events.push({ event: e.event, data: JSON.parse(e.data), at: Date.now() } as LiveEvent),
        ).catch((err: unknown) => {
          if (!this.abort.signal.aborted) throw err;
        })
      : Promise.resolve();
  }

  /** Opens `baseUrl/api/events` with `token` (no header when undefined). */
  static async open(baseUrl: string, token: string | undefined): Promise<LiveStreamReader> {
    const abort = new AbortController();
    const res = await fetch(`${baseUrl}/api/events`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    return new LiveStreamReader(res.status, res.headers.get('content-type'), res.ok ? res.body : null, abort);
  }

  /** The events named `name`, in order. */
  of<K extends keyof LiveEvents>(name: K): Array<{ data: LiveEvents[K]; at: number }> {
    return this.events.filter((e) => e.event === name) as unknown as Array<{ data: LiveEvents[K]; at: number }>;
  }

  /** Waits for the first event named `name` (after `from` events) whose data satisfies `match`. */
  async next<K extends keyof LiveEvents>(
    name: K,
    match: (d: LiveEvents[K]) => boolean,
    opts: { from?: number; timeoutMs?: number } = {},
  ): Promise<{ data: LiveEvents[K]; at: number; index: number }> {
    return waitFor(
      () => {
        for (let i = opts.from ?? 0; i < this.events.length; i++) {
          const e = this.events[i];
          if (e.event === name && match(e.data as LiveEvents[K]))
            return { data: e.data as LiveEvents[K], at: e.at, index: i };
        }
        return undefined;
      },
      { what: `live event ${name}`, timeoutMs: opts.timeoutMs ?? 10_000, detail: () => this.describe() },
    );
  }

  /** The event names received, for failure messages. */
  describe(): string {
    return `received: ${this.events.map((e) => e.event).join(', ')}`;
  }

  /** Closes the stream. */
  close(): void {
    this.abort.abort();
  }
}

/**
 * {@link LiveSources} without a server: agents read on demand (counted), the bus, agent changes
 * and change-sets fed by hand; no registration or device.
 */
export function fakeLiveSources(): {
  sources: LiveSources;
  agentChange: (id: string) => void;
  bus: (e: ContactCenterEvent) => void;
  changeSet: (cs: CommittedChangeSet) => void;
  agentReads: () => number;
} {
  let onAgent: (id: string) => void = () => {};
  let onBus: (e: ContactCenterEvent) => void = () => {};
  let onCs: (cs: CommittedChangeSet) => void = () => {};
  let reads = 0;
  const none = (): (() => void) => () => {};
  const sources: LiveSources = {
    status: () => ({
      registrations: [],
      devices: [],
      agents: [],
      calls: { active: 0, waiting: 0 },
      lostCalls: [],
      load: { cpuPercent: 0, cpuCount: 1, eventLoopLagMs: 0, eventLoopLagMaxMs: 0 },
    }),
    agent: (id) => {
      reads++;
      return { id, dn: id, state: 'Ready', workMode: 'AutoIn' };
    },
    registrations: () => [],
    devices: () => [],
    callCounts: () => ({ active: 1, waiting: 0 }),
    load: () => ({ cpuPercent: 0, cpuCount: 1, eventLoopLagMs: 0, eventLoopLagMaxMs: 0 }),
    onContactCenterEvent: (l) => ((onBus = l), none()),
    onAgentChange: (l) => ((onAgent = l), none()),
    onChangeSet: (l) => ((onCs = l), none()),
    onBindingsChange: none,
    onDevice: none,
  };
  return {
    sources,
    agentChange: (id) => onAgent(id),
    bus: (e) => onBus(e),
    changeSet: (cs) => onCs(cs),
    agentReads: () => reads,
  };
}
