/**
 * The configuration as every layer reads it, synchronously (behaviour §2.3): the lookups, pages,
 * searches and effective options of the in-memory configuration a {@link ConfigStore} keeps.
 */
import type { AgentConfig, AgentGroupConfig, ConfigModel, DnConfig, ServerConfig } from './config-model.js';
import { ConfigState } from './config-state.js';
import type { ResolvedOption } from './option-resolution.js';
import type { SoftswitchCandidate } from './softswitch-prefix-table.js';

/** The read side of the configuration store. Objects it hands out are shared: treat them as read-only. */
export class ConfigView {
  protected readonly state = new ConfigState();
  protected currentVersion = 0;

  /** The version of the last committed change-set (0 for a new store). */
  get version(): number {
    return this.currentVersion;
  }

  /** The server section. */
  get server(): ServerConfig {
    return this.state.server;
  }

  /** A DN by number, as written or normalised. */
  getDn(number: string): DnConfig | undefined {
    return this.state.dns.get(number);
  }

  /** An agent by id (includes the password: never send it out). */
  getAgent(id: string): AgentConfig | undefined {
    return this.state.agents.get(id);
  }

  /** An agent group by name. */
  getAgentGroup(name: string): AgentGroupConfig | undefined {
    return this.state.groups.get(name);
  }

  /** Number of DNs. */
  get dnCount(): number {
    return this.state.dns.size;
  }

  /** DNs in configuration order, a page at a time. */
  listDns(offset = 0, limit = 1000): { items: DnConfig[]; total: number } {
    return page(this.state.dns.values(), this.state.dns.size, offset, limit);
  }

  /**
   * DNs whose number or type contains `q` (case-insensitive; spaces in `q` ignored for the
   * number), in configuration order, a page at a time; `total` counts every match.
   */
  searchDns(q: string, offset = 0, limit = 1000): { items: DnConfig[]; total: number } {
    const needle = q.trim().toLowerCase();
    const compact = needle.replace(/\s+/g, '');
    const items: DnConfig[] = [];
    let total = 0;
    for (const d of this.state.dns.values()) {
      const n = d.number.toLowerCase();
      if (!(n.includes(compact) || n.includes(needle) || d.type.toLowerCase().includes(needle))) continue;
      if (total++ >= offset && items.length < limit) items.push(d);
    }
    return { items, total };
  }

  /** Agents in configuration order, a page at a time. */
  listAgents(offset = 0, limit = 1000): { items: AgentConfig[]; total: number } {
    return page(this.state.agents.values(), this.state.agents.size, offset, limit);
  }

  /** Agent groups in configuration order, a page at a time. */
  listAgentGroups(offset = 0, limit = 1000): { items: AgentGroupConfig[]; total: number } {
    return page(this.state.groups.values(), this.state.groups.size, offset, limit);
  }

  /** Agents whose default DN is `dn`. */
  agentsOfDn(dn: string): AgentConfig[] {
    return [...this.state.agentsOfDn(dn)].map((id) => this.state.agents.get(id)!).filter(Boolean);
  }

  /** The whole configuration. */
  exportModel(): ConfigModel {
    return this.state.toModel();
  }

  /**
   * The effective value of an option for a DN (behaviour §2.2): DN → softswitch (DNs without
   * contact) → application → default. O(longest prefix): read it at every call or login so
   * that changes take effect at the next one (behaviour §2.3).
   */
  effectiveOption(dnNumber: string, name: string): string | undefined {
    return this.state.resolveOption(dnNumber, name)?.value;
  }

  /** Like {@link effectiveOption}, with where the value came from. */
  resolveOption(dnNumber: string, name: string): ResolvedOption | undefined {
    return this.state.resolveOption(dnNumber, name);
  }

  /** Softswitches that may serve `number`, best first (behaviour §3.3), ignoring OOS state. */
  softswitchCandidates(number: string): SoftswitchCandidate[] {
    return this.state.prefixTable.candidates(number);
  }
}

function page<T>(it: IterableIterator<T>, total: number, offset: number, limit: number): { items: T[]; total: number } {
  const items: T[] = [];
  let i = 0;
  for (const v of it) {
    if (i++ < offset) continue;
    if (items.length >= limit) break;
    items.push(v);
  }
  return { items, total };
}
