/**
 * The phone numbers an agent logged in with lately, most recent first, kept in the browser's
 * localStorage per agent ID (as Workspace's `nb-dn-less-phone-number-stored`), so that a home
 * agent picks the number again instead of typing it.
 */

/** Numbers kept per agent. */
export const PHONE_HISTORY_SIZE = 5;

const key = (agentId: string) => `sipserver.desktop.phone-numbers.${agentId}`;

/** The numbers `agentId` used, most recent first (none when storage is unavailable). */
export function recentPhones(agentId: string, storage: Storage = localStorage): string[] {
  if (!agentId) return [];
  try {
    const v: unknown = JSON.parse(storage.getItem(key(agentId)) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, PHONE_HISTORY_SIZE) : [];
  } catch {
    return [];
  }
}

/** Records that `agentId` logged in with `phone` (moved to the front, duplicates dropped). */
export function rememberPhone(agentId: string, phone: string, storage: Storage = localStorage): void {
  const p = phone.trim();
  if (!agentId || !p) return;
  const list = [p, ...recentPhones(agentId, storage).filter((x) => x !== p)].slice(0, PHONE_HISTORY_SIZE);
  try {
    storage.setItem(key(agentId), JSON.stringify(list));
  } catch {
    // storage full or disabled: the history is a convenience only
  }
}
