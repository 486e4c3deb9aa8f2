import { describe, expect, it } from 'vitest';
import {
  ChangeSetQueue,
  QueueFullError,
  type ChangeSetQueueSettings,
} from '../../../src/api/admin/change-set-queue.js';
import { waitFor } from '../../helpers/wait.js';

/** A queue whose lag and settings the test sets. */
function queue(settings: Partial<ChangeSetQueueSettings> = {}): {
  q: ChangeSetQueue;
  lag: { ms: number };
  ran: string[];
  full: number[];
} {
  const lag = { ms: 0 };
  const s: ChangeSetQueueSettings = { maxLagMs: 50, maxWaitMs: 60_000, size: 16, ...settings };
  const q = new ChangeSetQueue({ lagMs: () => lag.ms, settings: () => s, version: () => 7, pollMs: 5 });
  const full: number[] = [];
  q.observe({ onRun: () => undefined, onFull: () => full.push(q.depth) });
  return { q, lag, ran: [], full };
}

describe('ChangeSetQueue (behaviour §13)', () => {
  it('runs jobs one at a time in submission order; a throwing job rejects only its own promise', async () => {
    const { q, ran } = queue();
    const results = [
      q.submit(() => (ran.push('a'), 'A')),
      q.submit(() => {
        ran.push('b');
        throw new Error('refused');
      }),
      q.submit(() => (ran.push('c'), 'C')),
    ];
    expect(q.depth).toBe(3);
    const settled = await Promise.allSettled(results);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'A',
      'refused',
      'C',
    ]);
    expect(q.status()).toMatchObject({ version: 7, queueDepth: 0, applying: false, appliedChangeSets: 2 });
  });

  it('an asynchronous job (applyAsync) keeps the next one waiting until it settled; its turns are the figures', async () => {
    const { q, ran } = queue();
    let finish!: () => void;
    const first = q.submit(async () => {
      ran.push('a start');
      await new Promise<void>((r) => (finish = r));
      ran.push('a end');
      return { busyMs: 12.5, longestTurnMs: 3.25 };
    });
    const second = q.submit(async () => {
      ran.push('b');
      await Promise.resolve();
      throw new Error('refused');
    });
    await waitFor(() => ran.length === 1, { what: 'first job started' });
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual(['a start']);
    expect(q.status()).toMatchObject({ queueDepth: 1, applying: true });
    finish();
    expect(await first).toEqual({ busyMs: 12.5, longestTurnMs: 3.25 });
    expect(q.status()).toMatchObject({ lastApplyMs: 12.5, lastApplyLongestTurnMs: 3.25 });
    await expect(second).rejects.toThrow('refused');
    expect(ran).toEqual(['a start', 'a end', 'b']);
    expect(q.status()).toMatchObject({ queueDepth: 0, applying: false, appliedChangeSets: 1 });
  });

  it('holds the head while the lag is over the limit, and lets it go when the lag falls', async () => {
    const { q, lag, ran } = queue({ maxLagMs: 10 });
    lag.ms = 30;
    const p = q.submit(() => ran.push('a'));
    await new Promise((r) => setTimeout(r, 60));
    expect(ran).toEqual([]);
    expect(q.status()).toMatchObject({ queueDepth: 1, applying: true });
    lag.ms = 5;
    await p;
    expect(ran).toEqual(['a']);
  });

  it('applies a held change-set anyway after max-wait from its arrival', async () => {
    const { q, lag, ran } = queue({ maxLagMs: 10, maxWaitMs: 80 });
    lag.ms = 1000;
    const t0 = Date.now();
    await q.submit(() => ran.push('a'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect(ran).toEqual(['a']);
  });

  it('maxLagMs 0 never waits', async () => {
    const { q, lag, ran } = queue({ maxLagMs: 0 });
    lag.ms = 1000;
    await q.submit(() => ran.push('a'));
    expect(ran).toEqual(['a']);
  });

  it('refuses a change-set when size are already waiting, and accepts again once one ran', async () => {
    const { q, lag, full } = queue({ maxLagMs: 10, size: 2 });
    lag.ms = 100;
    const held = [q.submit(() => 1), q.submit(() => 2)];
    await expect(q.submit(() => 3)).rejects.toBeInstanceOf(QueueFullError);
    expect(full).toEqual([2]);
    lag.ms = 0;
    expect(await Promise.all(held)).toEqual([1, 2]);
    await waitFor(() => q.depth === 0, 'an empty queue');
    expect(await q.submit(() => 4)).toBe(4);
  });

  it('close rejects what waits', async () => {
    const { q, lag } = queue({ maxLagMs: 10 });
    lag.ms = 100;
    const p = q.submit(() => 1);
    q.close();
    await expect(p).rejects.toThrow('the server is stopping');
    await expect(q.submit(() => 2)).rejects.toThrow('the server is stopping');
  });
});
