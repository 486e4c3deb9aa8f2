/**
 * Which node owns each agent's login (docs/cluster.md). The node an agent logs in on owns it and
 * keeps its session in Redis: `PREFIX:agent:ID` = `{ owner, session }` (the session as JSON text)
 * and the set `PREFIX:agents:NODE`; every change is announced on `PREFIX:agents` with the agent's
 * DN, whether it is Ready and since when it is idle, so every node knows every owner and every
 * agent's readiness without asking Redis (routing across nodes). A login of an agent a live node owns is refused on the
 * others; when a node dies, the node that wins its takeover moves its agents to itself in one
 * Redis script and adopts them (logged in, in the state they had).
 */
import type { Redis } from 'ioredis';
import type { AgentSession } from '../contact-center/agents/agent-session.js';
import { AgentState } from '../contact-center/agents/agent-state.js';
import type { Logger } from '../util/logger.js';

/** What ownership needs of the agent layer (`AgentService` implements it). */
export interface ClusterAgents {
  sessions(): AgentSession[];
  sessionByAgent(agentId: string): AgentSession | undefined;
  onSessionChange(listener: (agentId: string, session: AgentSession | undefined) => void): () => void;
  adopt(sessions: readonly AgentSession[], liveCall?: (connId: string) => boolean): AgentSession[];
  forget(agentId: string): void;
  useLoginGuard(guard: ((agentId: string) => string | undefined) | undefined): void;
}

/** Options of {@link AgentOwnership}. */
export interface AgentOwnershipOptions {
  readonly redis: Redis;
  /** A second connection, for the subscription. */
  readonly sub: Redis;
  readonly prefix: string;
  readonly self: string;
  readonly isAlive: (node: string) => boolean;
  readonly logger: Logger;
}

interface Announcement {
  id: string;
  /** The new owner; null: logged out. */
  owner: string | null;
  /** The node that announces. */
  from: string;
  /** With an owner: the agent's DN, whether it is Ready, and its `idleSince` (wall clock, ms). */
  dn?: string;
  ready?: boolean;
  idleSince?: number;
}

/** What a node knows of an agent of the cluster, from the announcements. */
export interface AgentReadiness {
  readonly owner: string;
  readonly dn: string;
  readonly ready: boolean;
  readonly idleSince: number;
}

function readinessOf(owner: string, session: AgentSession): AgentReadiness {
  return {
    owner,
    dn: session.dn,
    ready: session.status.state === AgentState.Ready,
    idleSince: session.idleSince,
  };
}

/**
 * Moves every agent record of a dead node that it still owns to the taker, drops its set, and
 * answers the moved records. KEYS: agents:DEAD, agents:TAKER. ARGV: agent key prefix, DEAD, TAKER.
 */
const TAKEOVER_SCRIPT = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[1] .. id
  local v = redis.call('GET', k)
  if v then
    local rec = cjson.decode(v)
    if rec.owner == ARGV[2] then
      rec.owner = ARGV[3]
      local nv = cjson.encode(rec)
      redis.call('SET', k, nv)
      redis.call('SADD', KEYS[2], id)
      table.insert(out, nv)
    end
  end
end
redis.call('DEL', KEYS[1])
return out`;

/** Deletes an agent record only while OWNER owns it (1: deleted). KEYS: agent key, agents:OWNER. ARGV: OWNER, id. */
const RELEASE_SCRIPT = `
redis.call('SREM', KEYS[2], ARGV[2])
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).owner == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/** This node's side of agent ownership. */
export class AgentOwnership {
  private readonly owners = new Map<string, string>();
  private readonly readiness = new Map<string, AgentReadiness>();
  private readonly readyListeners = new Set<() => void>();
  private agents: ClusterAgents | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: AgentOwnershipOptions) {}

  private agentKey(id: string): string {
    return `${this.o.prefix}:agent:${id}`;
  }

  private setKey(node: string): string {
    return `${this.o.prefix}:agents:${node}`;
  }

  private get channel(): string {
    return `${this.o.prefix}:agents`;
  }

  /**
   * Loads every owner, settles this node's restored logins (one a live node owns now is
   * forgotten here; the others are claimed), then mirrors every change and guards logins.
   */
  async attach(agents: ClusterAgents): Promise<void> {
    this.agents = agents;
    await this.o.sub.subscribe(this.channel);
    this.o.sub.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.onAnnouncement(text);
    });
    await this.loadOwners();
    for (const s of agents.sessions()) {
      const owner = this.owners.get(s.agentId);
      if (owner !== undefined && owner !== this.o.self && this.o.isAlive(owner)) {
        this.o.logger.warn({ agentId: s.agentId, owner }, 'login restored here is owned by another node: dropped');
        agents.forget(s.agentId);
      } else {
        this.write(s);
      }
    }
    agents.useLoginGuard((id) => {
      const owner = this.owners.get(id);
      return owner !== undefined && owner !== this.o.self && this.o.isAlive(owner)
        ? `agent ${id} is logged in on node ${owner}`
        : undefined;
    });
    this.unsubscribe = agents.onSessionChange((id, session) => {
      if (session) this.write(session);
      else this.release(id);
    });
  }

  /** Agent id → owning node, as this node knows it. */
  ownerMap(): ReadonlyMap<string, string> {
    return this.owners;
  }

  /** What this node knows of an agent of the cluster (its own ones included). */
  readinessOf(agentId: string): AgentReadiness | undefined {
    const r = this.readiness.get(agentId);
    return r && this.owners.get(agentId) === r.owner ? r : undefined;
  }

  /** Called when another node announces one of its agents Ready. */
  onRemoteReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  /** Writes every login of this node again (after Redis came back empty). */
  async rewrite(): Promise<void> {
    await this.loadOwners();
    for (const s of this.agents?.sessions() ?? []) this.write(s);
  }

  /**
   * Takes the agents of a dead node: moved in Redis, then adopted here; an agent stays Busy on
   * the routed calls of `liveCall` (the dead node's calls taken over with it).
   * @returns the adopted logins
   */
  async takeOver(dead: string, liveCall?: (connId: string) => boolean): Promise<AgentSession[]> {
    const moved = (await this.o.redis.eval(
      TAKEOVER_SCRIPT,
      2,
      this.setKey(dead),
      this.setKey(this.o.self),
      `${this.o.prefix}:agent:`,
      dead,
      this.o.self,
    )) as string[];
    const sessions: AgentSession[] = [];
    for (const text of moved) {
      try {
        const rec = JSON.parse(text) as { session: string };
        sessions.push(JSON.parse(rec.session) as AgentSession);
      } catch {
        // a record this version cannot read: left to expire with its agent's next login
      }
    }
    for (const s of sessions) {
      this.owners.set(s.agentId, this.o.self);
      this.readiness.set(s.agentId, readinessOf(this.o.self, s));
    }
    const adopted = this.agents?.adopt(sessions, liveCall) ?? [];
    this.o.logger.warn({ node: dead, agents: adopted.length }, 'agents of a dead node taken over');
    return adopted;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.agents?.useLoginGuard(undefined);
  }

  private write(session: AgentSession): void {
    this.owners.set(session.agentId, this.o.self);
    const readiness = readinessOf(this.o.self, session);
    this.readiness.set(session.agentId, readiness);
    const record = JSON.stringify({ owner: this.o.self, session: JSON.stringify(session) });
    this.o.redis
      .multi()
      .set(this.agentKey(session.agentId), record)
      .sadd(this.setKey(this.o.self), session.agentId)
      .publish(this.channel, this.announcement(session.agentId, this.o.self, readiness))
      .exec()
      .catch((err: unknown) => this.o.logger.warn({ err }, 'agent login not shared (Redis)'));
  }

  private release(id: string): void {
    if (this.owners.get(id) === this.o.self) {
      this.owners.delete(id);
      this.readiness.delete(id);
    }
    this.o.redis
      .eval(RELEASE_SCRIPT, 2, this.agentKey(id), this.setKey(this.o.self), this.o.self, id)
      .then((deleted) => (deleted === 1 ? this.o.redis.publish(this.channel, this.announcement(id, null)) : 0))
      .catch((err: unknown) => this.o.logger.warn({ err }, 'agent logout not shared (Redis)'));
  }

  private announcement(id: string, owner: string | null, r?: AgentReadiness): string {
    const a: Announcement = r
      ? { id, owner, from: this.o.self, dn: r.dn, ready: r.ready, idleSince: r.idleSince }
      : { id, owner, from: this.o.self };
    return JSON.stringify(a);
  }

  private onAnnouncement(text: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(text) as Announcement;
    } catch {
      return;
    }
    if (typeof a.id !== 'string' || a.from === this.o.self) return;
    if (a.owner === null) {
      // A logout only clears the owner it came from (a late one must not clear a new login).
      if (this.owners.get(a.id) === a.from) {
        this.owners.delete(a.id);
        this.readiness.delete(a.id);
      }
      return;
    }
    this.owners.set(a.id, a.owner);
    if (typeof a.dn === 'string' && typeof a.idleSince === 'number') {
      const ready = a.ready === true;
      this.readiness.set(a.id, { owner: a.owner, dn: a.dn, ready, idleSince: a.idleSince });
      if (ready) for (const l of this.readyListeners) l();
    } else {
      this.readiness.delete(a.id);
    }
    // The same agent logged in on another node in the same instant: the last login wins.
    if (this.agents?.sessionByAgent(a.id)) {
      this.o.logger.warn({ agentId: a.id, owner: a.owner }, 'agent logged in on another node too: dropped here');
      this.agents.forget(a.id);
    }
  }

  private async loadOwners(): Promise<void> {
    let cursor = '0';
    for (let guard = 0; guard < 1_000_000; guard++) {
      const [next, keys] = await this.o.redis.scan(cursor, 'MATCH', `${this.o.prefix}:agent:*`, 'COUNT', 1000);
      if (keys.length > 0) {
        const values = await this.o.redis.mget(...keys);
        values.forEach((v, i) => {
          if (!v) return;
          try {
            const rec = JSON.parse(v) as { owner?: unknown; session?: unknown };
            const id = keys[i].slice(`${this.o.prefix}:agent:`.length);
            if (typeof rec.owner !== 'string') return;
            this.owners.set(id, rec.owner);
            if (typeof rec.session === 'string')
              this.readiness.set(id, readinessOf(rec.owner, JSON.parse(rec.session) as AgentSession));
          } catch {
            // unreadable record: ignored
          }
        });
      }
      cursor = next;
      if (cursor === '0') break;
    }
  }
}
