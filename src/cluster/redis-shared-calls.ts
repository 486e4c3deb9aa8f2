/**
 * The call records of the nodes in Redis (docs/cluster.md, "Calls of a dead node"):
 *
 * - `PREFIX:call:CONNID`, a hash: `rec` (the record as JSON: the legs' dialogs), `node` (the node
 *   that holds the call) and, once taken over from a dead node, `orphan` = `1`;
 * - `PREFIX:dialog:CALLID` = CONNID for the Call-ID of each leg (a party's in-dialog request names
 *   its Call-ID only);
 * - `PREFIX:calls:NODE`, the set of the connIds a node holds (for its takeover);
 * - the channel `PREFIX:calls`, where the node that ended an orphan call says so (its connId).
 *
 * Written by the node that holds a call when it is established and when its dialogs change;
 * deleted when it ends; gathered and flushed every 20 ms (a shorter call never reaches Redis). The records have no TTL: an established call lasts as long as its parties
 * want, whatever happens to its node.
 */
import type { Redis } from 'ioredis';
import type { SharedCallRecord, SharedCallStore, StoredCall } from '../contact-center/calls/shared-calls.js';
import type { Logger } from '../util/logger.js';

/** Options of {@link RedisSharedCalls}. */
export interface RedisSharedCallsOptions {
  readonly redis: Redis;
  /**
   * Writes are gathered and sent every `flushMs` (default 20; 0: at once), one pipeline for all: a
   * call that ends sooner never reaches Redis, and a node that dies loses at most the records of
   * the calls established in its last `flushMs` (their BYE then gets 481).
   */
  readonly flushMs?: number;
  /** The subscriber connection (shared with the node's other channels). */
  readonly sub: Redis;
  readonly prefix: string;
  readonly self: string;
  readonly isAlive: (node: string) => boolean;
  readonly logger: Logger;
}

/**
 * Deletes a call record if its text is still ARGV[1], with its dialog keys and its place in its
 * holder's set. KEYS: the call key. ARGV: text, key prefix, connId, Call-IDs….
 */
const CLAIM_SCRIPT = `
if redis.call('HGET', KEYS[1], 'rec') ~= ARGV[1] then return 0 end
local node = redis.call('HGET', KEYS[1], 'node')
redis.call('DEL', KEYS[1])
if node then redis.call('SREM', ARGV[2] .. 'calls:' .. node, ARGV[3]) end
for i = 4, #ARGV do
  if redis.call('GET', ARGV[2] .. 'dialog:' .. ARGV[i]) == ARGV[3] then
    redis.call('DEL', ARGV[2] .. 'dialog:' .. ARGV[i])
  end
end
return 1`;

/**
 * Makes the taker the holder of every record a dead node still holds, as orphans, and answers
 * their texts. KEYS: calls:DEAD, calls:TAKER. ARGV: key prefix, DEAD, TAKER.
 */
const TAKEOVER_SCRIPT = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. 'call:' .. id
  if redis.call('HGET', k, 'node') == ARGV[2] then
    redis.call('HSET', k, 'node', ARGV[3], 'orphan', '1')
    redis.call('SADD', KEYS[2], id)
    table.insert(out, redis.call('HGET', k, 'rec'))
  end
end
redis.call('DEL', KEYS[1])
return out`;

/** {@link SharedCallStore} in Redis. */
export class RedisSharedCalls implements SharedCallStore {
  private readonly listeners = new Set<(connId: string) => void>();
  /** connId → what to write at the next flush. */
  private readonly pending = new Map<
    string,
    { record: SharedCallRecord; stale: string[]; orphan: boolean } | { remove: readonly string[] }
  >();
  /** connIds whose record is in Redis (as far as this node wrote it). */
  private readonly written = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly flushMs: number;

  constructor(private readonly o: RedisSharedCallsOptions) {
    this.flushMs = o.flushMs ?? 20;
  }

  get self(): string {
    return this.o.self;
  }

  private get p(): string {
    return `${this.o.prefix}:`;
  }

  private get channel(): string {
    return `${this.o.prefix}:calls`;
  }

  /** Subscribes to the announcements of ended orphan calls. */
  async start(): Promise<void> {
    await this.o.sub.subscribe(this.channel);
    this.o.sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      for (const l of this.listeners) l(text);
    });
  }

  isAlive(node: string): boolean {
    return this.o.isAlive(node);
  }

  put(record: SharedCallRecord, stale: readonly string[], orphan = false): void {
    const before = this.pending.get(record.connId);
    const keepStale = before && 'record' in before ? before.stale : [];
    this.pending.set(record.connId, { record, stale: [...keepStale, ...stale], orphan });
    this.schedule();
  }

  remove(connId: string, callIds: readonly string[]): void {
    if (this.pending.get(connId) && !this.written.has(connId)) {
      // never written: nothing to remove (most calls shorter than the flush period)
      this.pending.delete(connId);
      return;
    }
    this.pending.set(connId, { remove: callIds });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushMs <= 0) {
      if (this.flushMs <= 0) this.flush();
      return;
    }
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    this.timer.unref?.();
  }

  /**
   * Writes what changed since the last flush in one pipeline: a hash per call put, and one
   * command each for the dialog keys set, the keys deleted, and this node's set.
   */
  flush(): void {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const p = this.o.redis.pipeline();
    const dialogs: string[] = [];
    const del: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    for (const [connId, w] of this.pending) {
      if ('remove' in w) {
        del.push(`${this.p}call:${connId}`, ...w.remove.map((id) => `${this.p}dialog:${id}`));
        removed.push(connId);
        this.written.delete(connId);
        continue;
      }
      const key = `${this.p}call:${connId}`;
      const text = JSON.stringify(w.record);
      if (w.orphan) p.hset(key, 'rec', text, 'node', this.o.self, 'orphan', '1');
      else p.hset(key, 'rec', text, 'node', this.o.self);
      for (const l of w.record.legs) dialogs.push(`${this.p}dialog:${l.dialog.id.callId}`, connId);
      for (const id of w.stale) del.push(`${this.p}dialog:${id}`);
      added.push(connId);
      this.written.add(connId);
    }
    this.pending.clear();
    if (dialogs.length > 0) p.mset(...dialogs);
    if (del.length > 0) p.del(...del);
    if (added.length > 0) p.sadd(`${this.p}calls:${this.o.self}`, ...added);
    if (removed.length > 0) p.srem(`${this.p}calls:${this.o.self}`, ...removed);
    p.exec().catch((err: unknown) => this.o.logger.warn({ err }, 'call records not shared (Redis)'));
  }

  async find(callId: string): Promise<StoredCall | undefined> {
    const connId = await this.o.redis.get(`${this.p}dialog:${callId}`);
    if (!connId) return undefined;
    const h = await this.o.redis.hgetall(`${this.p}call:${connId}`);
    if (!h.rec || !h.node) return undefined;
    try {
      return { record: JSON.parse(h.rec) as SharedCallRecord, text: h.rec, holder: h.node, orphan: h.orphan === '1' };
    } catch {
      return undefined;
    }
  }

  async claim(stored: StoredCall): Promise<boolean> {
    const r = stored.record;
    const won = await this.o.redis.eval(
      CLAIM_SCRIPT,
      1,
      `${this.p}call:${r.connId}`,
      stored.text,
      this.p,
      r.connId,
      ...r.legs.map((l) => l.dialog.id.callId),
    );
    return won === 1;
  }

  async takeOver(dead: string): Promise<SharedCallRecord[]> {
    const texts = (await this.o.redis.eval(
      TAKEOVER_SCRIPT,
      2,
      `${this.p}calls:${dead}`,
      `${this.p}calls:${this.o.self}`,
      this.p,
      dead,
      this.o.self,
    )) as string[];
    const out: SharedCallRecord[] = [];
    for (const t of texts) {
      try {
        out.push(JSON.parse(t) as SharedCallRecord);
      } catch {
        // unreadable: left to its parties' BYE
      }
    }
    return out;
  }

  async exist(connIds: readonly string[]): Promise<boolean[]> {
    const p = this.o.redis.pipeline();
    for (const id of connIds) p.exists(`${this.p}call:${id}`);
    const res = (await p.exec()) ?? [];
    return res.map(([err, n]) => (err ? true : n === 1));
  }

  announceEnded(connId: string): void {
    this.o.redis
      .publish(this.channel, connId)
      .catch((err: unknown) => this.o.logger.warn({ err }, 'end of an orphan call not announced (Redis)'));
  }

  onEnded(listener: (connId: string) => void): void {
    this.listeners.add(listener);
  }
}
