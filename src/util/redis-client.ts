/**
 * Redis connections of a cluster node (docs/cluster.md), through `ioredis`: reconnecting by
 * themselves with a bounded backoff, and a clear error when Redis does not answer at first.
 */
import { Redis } from 'ioredis';
import { redactUrl } from './url.js';

/** Options of {@link connectRedis}. */
export interface RedisConnectOptions {
  /** How long the first connection may take, ms (default 5,000). */
  readonly connectTimeoutMs?: number;
}

/**
 * Opens a connection to `url` (`redis://[user:password@]host:port[/db]`) and waits for it.
 * Errors after the first connection are the caller's to log (`on('error')`); ioredis retries with
 * a backoff of at most 2 s and replays subscriptions.
 * @throws Error `cannot reach Redis at URL: …` (password hidden)
 */
export async function connectRedis(url: string, options: RedisConnectOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${why}`);
  }
  return client;
}

/**
 * Runs a last write (giving a lease back) for at most `ms`, then closes the connections: a stop
 * never waits for a Redis that is away.
 */
export async function closeRedis(
  clients: readonly Redis[],
  lastWrite?: () => Promise<unknown>,
  ms = 1000,
): Promise<void> {
  if (lastWrite) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      lastWrite().catch(() => undefined),
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
  }
  for (const c of clients) c.disconnect();
}

/**
 * Two connections to `url`: one for commands, one for a subscription (a subscribed connection
 * takes no other command). Both or neither: the first is closed when the second fails.
 */
export async function connectRedisPair(url: string, options: RedisConnectOptions = {}): Promise<[Redis, Redis]> {
  const cmd = await connectRedis(url, options);
  try {
    return [cmd, await connectRedis(url, options)];
  } catch (err) {
    cmd.disconnect();
    throw err;
  }
}
