import type { AgentPhoneReachability } from '../../../src/contact-center/agents/agent-phone-reachability.js';
import {
  type ContactCenterDirectory,
  type DirectoryAgent,
  type DirectoryAgentGroup,
  type DirectoryDn,
  normaliseNumber,
} from '../../../src/contact-center/agents/contact-center-directory.js';

/** In-memory configuration for contact-center unit tests. */
export class MemoryDirectory implements ContactCenterDirectory {
  readonly agents = new Map<string, DirectoryAgent>();
  readonly dns = new Map<string, DirectoryDn>();
  readonly groups = new Map<string, DirectoryAgentGroup>();
  readonly appOptions: Record<string, string> = {};
  private readonly listeners = new Set<() => void>();

  addDn(number: string, type: string, options: Record<string, string> = {}): this {
    this.dns.set(normaliseNumber(number), { number: normaliseNumber(number), type, options });
    return this;
  }
  addAgent(id: string, password: string, dn: string, options: Record<string, string> = {}): this {
    this.agents.set(id, { id, password, dn, options });
    return this;
  }
  addGroup(name: string, agents: string[]): this {
    this.groups.set(name, { name, agents });
    return this;
  }
  changed(): void {
    for (const l of this.listeners) l();
  }
  getAgent(id: string): DirectoryAgent | undefined {
    return this.agents.get(id);
  }
  getDn(number: string): DirectoryDn | undefined {
    return this.dns.get(normaliseNumber(number));
  }
  getAgentGroup(name: string): DirectoryAgentGroup | undefined {
    return this.groups.get(name);
  }
  effectiveOption(dn: string, name: string): string | undefined {
    return this.getDn(dn)?.options[name] ?? this.appOptions[name];
  }
  normaliseNumber(raw: string): string {
    return normaliseNumber(raw);
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Reachability fake: softswitch prefixes, a set of out-of-service DNs, recorded bindings. */
export class FakeReachability implements AgentPhoneReachability {
  readonly bindings = new Map<string, string>();
  readonly outOfService = new Set<string>();
  private readonly listeners = new Set<(dn: string, inService: boolean) => void>();
  constructor(readonly prefixes: string[] = ['+1']) {}
  hasSoftswitchFor(phone: string): boolean {
    return this.prefixes.some((p) => phone.startsWith(p));
  }
  bindAgentPhone(dn: string, phone: string): void {
    this.bindings.set(dn, phone);
  }
  unbindAgentPhone(dn: string): void {
    this.bindings.delete(dn);
  }
  isAvailable(dn: string): boolean {
    return !this.outOfService.has(dn);
  }
  setInService(dn: string, inService: boolean): void {
    if (inService) this.outOfService.delete(dn);
    else this.outOfService.add(dn);
    for (const l of this.listeners) l(dn, inService);
  }
  onServiceChange(listener: (dn: string, inService: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The guide's home-agent-phone example, plus a second agent and a routing point. */
export function exampleDirectory(): MemoryDirectory {
  return new MemoryDirectory()
    .addDn('Softswitch', 'voip-service', { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix: '+1' })
    .addDn('8888', 'extension', { contact: '*' })
    .addDn('7777', 'extension')
    .addDn('5000', 'routing-point', { 'agent-group': 'Support' })
    .addAgent('jay', 'jay-secret', '8888')
    .addAgent('joe', 'joe-secret', '7777')
    .addGroup('Support', ['jay', 'joe']);
}
