import type { DnConfig } from '../config/config-model.js';
import { isSoftswitch } from '../config/softswitch-prefix-table.js';
import { contactDest, parseDeviceContact } from './device-contact.js';

/**
 * Index softswitch contact address → softswitch DNs, for the reverse lookup of inbound
 * requests (behaviour §3.4). Updated per DN change, never rebuilt.
 */
export class SoftswitchAddressIndex {
  private readonly byHostPort = new Map<string, Set<string>>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly keysOf = new Map<string, [string, string]>();

  /** Apply one DN change (old and new value, null = absent). */
  applyDnChange(old: DnConfig | null, neu: DnConfig | null): void {
    if (old) this.remove(old.number);
    if (neu && isSoftswitch(neu)) {
      const c = parseDeviceContact(neu.options.contact);
      if (!c) return;
      const d = contactDest(c);
      const host = d.host.toLowerCase();
      const hp = `${host}|${d.port}`;
      add(this.byHostPort, hp, neu.number);
      add(this.byHost, host, neu.number);
      this.keysOf.set(neu.number, [hp, host]);
    }
  }

  /**
   * Softswitches whose contact is this source: same host and port first; if none, same host
   * (a softswitch may send from another port than it listens on, e.g. over TCP).
   */
  lookup(host: string, port: number): string[] {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    const exact = this.byHostPort.get(`${h}|${port}`);
    if (exact && exact.size > 0) return [...exact].sort();
    return [...(this.byHost.get(h) ?? [])].sort();
  }

  private remove(dn: string): void {
    const keys = this.keysOf.get(dn);
    if (!keys) return;
    this.keysOf.delete(dn);
    del(this.byHostPort, keys[0], dn);
    del(this.byHost, keys[1], dn);
  }
}

function add(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function del(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
