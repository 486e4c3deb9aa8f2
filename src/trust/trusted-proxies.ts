import type { ConfigStore } from '../config/config-store.js';
import { type AddressList, parseAddressList } from '../util/address-list.js';

/**
 * `sip-trusted-proxies` (docs/options.md): the proxies whose Via of the previous hop says where a
 * request came from (a cluster's Kamailio). Parsed again when the server object changes.
 */
export class TrustedProxies {
  private list: AddressList | undefined;
  private text: string | undefined;

  constructor(private readonly store: Pick<ConfigStore, 'server'>) {}

  /** Whether `host` (an IP literal) is one of the trusted proxies. */
  has(host: string): boolean {
    const text = this.store.server.options['sip-trusted-proxies'] ?? '';
    if (text !== this.text) {
      this.text = text;
      const r = parseAddressList(text);
      this.list = r.ok && r.list.items.length > 0 ? r.list : undefined;
    }
    return this.list?.has(host) ?? false;
  }
}
