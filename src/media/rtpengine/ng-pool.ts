/**
 * Several rtpengines (option `rtpengine-ng`, comma-separated): each new endpoint goes to the next
 * one in turn (round-robin); one that did not answer is skipped for a while and its endpoint tries
 * the next. An endpoint stays on the rtpengine that took its first request (its call lives there).
 */
import { NgTimeoutError, type NgClient, type NgReply } from './ng-client.js';

/** The rtpengines of one media server. */
export class NgPool {
  private next = 0;
  private readonly deadUntil = new Map<NgClient, number>();

  constructor(
    readonly clients: readonly NgClient[],
    /** How long an rtpengine that did not answer is skipped (ms). */
    private readonly skipDeadMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    if (clients.length === 0) throw new Error('no rtpengine given (option rtpengine-ng)');
  }

  /** Whether `client` is being skipped because it did not answer lately. */
  isDead(client: NgClient): boolean {
    return (this.deadUntil.get(client) ?? 0) > this.now();
  }

  /** Marks `client` as not answering (skipped for a while) or answering again. */
  mark(client: NgClient, answering: boolean): void {
    if (answering) this.deadUntil.delete(client);
    else this.deadUntil.set(client, this.now() + this.skipDeadMs);
  }

  /**
   * The next rtpengine in turn that is not in `tried`, preferring the ones not marked dead (a dead
   * one is still tried when nothing else is left); undefined when every one was tried.
   */
  pick(tried: ReadonlySet<NgClient>): NgClient | undefined {
    const n = this.clients.length;
    let fallback: NgClient | undefined;
    for (let i = 0; i < n; i++) {
      const c = this.clients[(this.next + i) % n]!;
      if (tried.has(c)) continue;
      if (!this.isDead(c)) {
        this.next = (this.next + i + 1) % n;
        return c;
      }
      fallback ??= c;
    }
    if (fallback) this.next = (this.clients.indexOf(fallback) + 1) % n;
    return fallback;
  }

  /**
   * Sends a request that starts something new (an endpoint's first `offer`) to the next rtpengine
   * that answers: one that times out is marked dead and the next is tried. Resolves with the reply
   * and the rtpengine that gave it; rejects with the last timeout when none answered, or at once
   * with a refusal (`result: error`).
   */
  async requestAny(command: string, args: Record<string, unknown>): Promise<{ client: NgClient; reply: NgReply }> {
    const tried = new Set<NgClient>();
    let last: Error | undefined;
    for (let c = this.pick(tried); c; c = this.pick(tried)) {
      tried.add(c);
      try {
        const reply = await c.request(command, args);
        this.mark(c, true);
        return { client: c, reply };
      } catch (e) {
        if (!(e instanceof NgTimeoutError)) throw e;
        this.mark(c, false);
        last = e;
      }
    }
    throw last ?? new Error('no rtpengine to ask');
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients) c.close();
  }
}
