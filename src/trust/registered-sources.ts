/**
 * The source IP addresses registered phones send from (their bindings' `source`), kept up to date
 * from the registrar's change notifications: the flood guard never bans them (docs/security.md,
 * "Flood limits").
 */
import type { Registrar } from '../registrar/registrar-module.js';
import { normaliseIp } from '../util/address-list.js';

/** Which source IPs have a registered binding now. */
export class RegisteredSources {
  /** DN → the IPs its bindings came from. */
  private readonly byDn = new Map<string, Set<string>>();
  /** IP → number of DNs with a binding from it. */
  private readonly refs = new Map<string, number>();
  private readonly off: () => void;

  constructor(private readonly registrar: Pick<Registrar, 'bindings' | 'addListener' | 'status'>) {
    for (const dn of new Set(registrar.status().map((s) => s.dn))) this.update(dn);
    this.off = registrar.addListener({ bindingsChanged: (dn) => this.update(dn) });
  }

  /** Whether a binding was registered from `ip`. */
  has(ip: string): boolean {
    return this.refs.has(normaliseIp(ip) ?? ip.toLowerCase());
  }

  /** Stop following the registrar. */
  close(): void {
    this.off();
  }

  private update(dn: string): void {
    const old = this.byDn.get(dn);
    for (const ip of old ?? []) {
      const n = (this.refs.get(ip) ?? 1) - 1;
      if (n <= 0) this.refs.delete(ip);
      else this.refs.set(ip, n);
    }
    const now = new Set(
      this.registrar.bindings(dn).map((b) => normaliseIp(b.source.host) ?? b.source.host.toLowerCase()),
    );
    if (now.size === 0) this.byDn.delete(dn);
    else this.byDn.set(dn, now);
    for (const ip of now) this.refs.set(ip, (this.refs.get(ip) ?? 0) + 1);
  }
}
