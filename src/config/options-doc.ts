/**
 * Renders `docs/options.md` from the option reference table, so the documentation cannot
 * drift from the validator (`sipserver config options-doc --check` and a unit test compare).
 */
import { OPTION_TABLE, type OptionSpec, type OptionValueType } from './option-table.js';

function typeText(t: OptionValueType): string {
  switch (t.kind) {
    case 'boolean':
      return '`true` \\| `false`';
    case 'integer':
      return `integer ${t.min}–${t.max}${t.allowEmpty ? ', or empty' : ''}`;
    case 'enum':
      return t.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'contact':
      return '`*` \\| `host[:port]` \\| SIP URI \\| empty';
    case 'prefix-list':
      return 'comma-separated prefixes';
    case 'address-list':
      return 'comma-separated IP addresses and CIDR blocks';
    case 'status-code-list':
      return 'comma-separated SIP codes 200–699';
    case 'token-list':
      return t.values ? `comma-separated: ${t.values.map((v) => `\`${v}\``).join(', ')}` : 'comma-separated names';
    case 'token':
      return 'one word';
    case 'number':
      return 'telephone number';
    case 'nailedup-target':
      return 'empty \\| `gcti::park` \\| routing point number';
    case 'string':
      return t.allowEmpty ? 'text' : 'non-empty text';
    case 'port-range':
      return 'port range `min-max`';
    case 'ip-address':
      return t.allowEmpty ? 'IP address, or empty' : 'IP address';
    case 'wav-file':
      return 'WAV file path, or empty';
    case 'ng-address-list':
      return 'comma-separated `udp:HOST:PORT`';
  }
}

function levels(o: OptionSpec): string {
  const l = ['DN'];
  if (o.inheritFromSoftswitch) l.push('softswitch');
  if (o.appliesTo.includes('application')) l.push('application');
  if (o.appliesTo.includes('agent')) return 'agent';
  return l.join(' → ');
}

const esc = (s: string): string => s.replace(/\|/g, '\\|');

/** The Markdown text of `docs/options.md`. */
export function renderOptionsDoc(): string {
  const lines: string[] = [];
  lines.push('# Option reference');
  lines.push('');
  lines.push(
    '<!-- Generated from src/config/option-table.ts by `sipserver config options-doc > docs/options.md`. Do not edit by hand. -->',
  );
  lines.push('');
  lines.push("Options are Genesys `[TServer]` options: string keys and string values, set in a DN's `options`,");
  lines.push("an agent's `options` or the application level (`server.options`). A bad value of a known option is");
  lines.push('an error; an unknown option name is kept and reported as a warning.');
  lines.push('');
  lines.push('**Effective value** (behaviour §2.2), for a DN: its own value; else, when the DN is an extension or');
  lines.push('ACD position without `contact` (or a number that is no DN, such as an `agent-phone`) and the option');
  lines.push('is inherited, the value on the softswitch the DN sits behind (the `voip-service` DN');
  lines.push('with `service-type = softswitch` whose `prefix` is the longest prefix of the DN number; ties: lower');
  lines.push('`priority`, then name); else the application value; else the default. An empty value counts as not');
  lines.push('set. "Lookup" below lists the levels read, in order.');
  lines.push('');
  lines.push('**Secret** options are credentials: write-only. The admin API, the change feed and');
  lines.push('`sipserver config export` (without `--with-secrets`) never show their value; a write that leaves');
  lines.push('one out keeps the stored value, `""` removes it (docs/admin-api.md "Secrets").');
  lines.push('');
  lines.push('| Option | Applies to | Values | Default | Lookup | Effect | Takes effect | Source |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const o of OPTION_TABLE) {
    lines.push(
      `| \`${o.name}\` | ${o.appliesTo.join(', ')} | ${typeText(o.type)}${o.secret ? ' (**secret**)' : ''} | ${o.default === undefined ? '—' : o.default === '' ? '(empty)' : `\`${o.default}\``} | ${levels(o)} | ${esc(o.effect)} | ${esc(o.takesEffect)} | ${esc(o.source)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
