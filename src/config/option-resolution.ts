/**
 * Option resolution (behaviour §2.2): where the effective value of an option for a DN comes
 * from — the DN itself, the softswitch it falls behind, the application, the built-in default.
 */
import { isAgentDnType } from './config-model.js';
import type { ConfigState } from './config-state.js';
import { optionSpec } from './option-table.js';
import { normaliseNumber } from './number-normalise.js';

/** Where an effective option value came from (behaviour §2.2). */
export type OptionSource = 'dn' | 'softswitch' | 'application' | 'default';

/** An effective option value and where it was found. */
export interface ResolvedOption {
  value: string;
  source: OptionSource;
  /** The softswitch DN, when `source` is `softswitch`. */
  via?: string;
}

/**
 * The effective value of option `name` for the DN `number` in the configuration `s` (behaviour
 * §2.2): the DN's own value; else, if the DN is an extension or ACD position without `contact`,
 * the value on the softswitch its number falls behind (longest prefix); else the application
 * option; else the built-in default. An empty value counts as not set. A number that is no DN
 * (e.g. an `agent-phone`) resolves like a DN without options. Costs a few map lookups.
 */
export function resolveOption(
  s: Pick<ConfigState, 'dns' | 'prefixTable' | 'server'>,
  number: string,
  name: string,
): ResolvedOption | undefined {
  const spec = optionSpec(name);
  const dn = s.dns.get(number);
  const own = dn?.options[name];
  if (own !== undefined && own !== '') return { value: own, source: 'dn' };
  const inherit = spec ? spec.inheritFromSoftswitch : true;
  const hasContact = dn !== undefined && (dn.options.contact ?? '') !== '';
  // Only agent devices sit behind a softswitch (behaviour §3.1): extensions, ACD positions,
  // and numbers that are no DN (agent-phone); never routing points, queues, trunks or the
  // softswitch itself.
  const device = dn === undefined || isAgentDnType(dn.type);
  if (inherit && device && !hasContact) {
    const ssName = s.prefixTable.select(dn !== undefined ? dn.number : normaliseNumber(number));
    const ss = ssName !== undefined ? s.dns.get(ssName) : undefined;
    const v = ss?.options[name];
    if (v !== undefined && v !== '') return { value: v, source: 'softswitch', via: ss!.number };
  }
  if (!spec || spec.appliesTo.includes('application')) {
    const v = s.server.options[name];
    if (v !== undefined && v !== '') return { value: v, source: 'application' };
  }
  if (spec?.default !== undefined) return { value: spec.default, source: 'default' };
  return undefined;
}
