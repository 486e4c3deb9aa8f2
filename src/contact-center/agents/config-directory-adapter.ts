import type { AgentConfig } from '../../config/config-model.js';
import type { ConfigStore } from '../../config/config-store.js';
import { normaliseNumber } from '../../config/number-normalise.js';
import type {
  ContactCenterDirectory,
  DirectoryAgent,
  DirectoryAgentGroup,
  DirectoryDn,
} from './contact-center-directory.js';

function toDirectoryAgent(a: AgentConfig): DirectoryAgent {
  return { id: a.id, password: a.password, dn: a.dn ?? '', options: a.options };
}

/**
 * {@link ContactCenterDirectory} over the configuration store (`src/config`): reads are live
 * (a change applies at the next login / next call, behaviour §2.3) and every committed
 * change-set is forwarded to subscribers.
 */
export class ConfigDirectoryAdapter implements ContactCenterDirectory {
  constructor(private readonly store: ConfigStore) {}

  getAgent(id: string): DirectoryAgent | undefined {
    const a = this.store.getAgent(id);
    return a ? toDirectoryAgent(a) : undefined;
  }

  getDn(number: string): DirectoryDn | undefined {
    return this.store.getDn(number);
  }

  getAgentGroup(name: string): DirectoryAgentGroup | undefined {
    return this.store.getAgentGroup(name);
  }

  effectiveOption(dn: string, name: string): string | undefined {
    return this.store.effectiveOption(dn, name);
  }

  normaliseNumber(raw: string): string {
    return normaliseNumber(raw.trim());
  }

  listAgents(): DirectoryAgent[] {
    return this.store.listAgents(0, Number.MAX_SAFE_INTEGER).items.map(toDirectoryAgent);
  }

  subscribe(listener: () => void): () => void {
    return this.store.subscribe(() => listener());
  }
}
