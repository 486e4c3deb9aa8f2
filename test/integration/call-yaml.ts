/**
 * Builders of the configuration YAML the call integration tests start their servers with: one
 * server block, the DNs (softswitches, extensions, routing points) and the agents, so that each
 * test names only what differs.
 */

/** Options of a DN, each written as a quoted string. */
export type DnOptions = Record<string, string>;

/** One entry of `dns:`. */
export interface TestDn {
  number: string;
  type: 'extension' | 'voip-service' | 'routing-point';
  options: DnOptions;
}

/** An agent of `agents:`. */
export interface TestAgent {
  id: string;
  name: string;
  password: string;
  dn: string;
}

/** What {@link callYaml} writes besides the DNs. */
export interface CallYamlOptions {
  /** `server.name` (default `CallTest`). */
  name?: string;
  /** `server.options`. */
  serverOptions?: DnOptions;
  agents?: TestAgent[];
  /** Text appended verbatim after the DNs (and agents). */
  extra?: string;
}

/** A softswitch (`voip-service`) at 127.0.0.1:`port` taking numbers that start with `prefix`. */
export function softswitchDn(port: number, prefix = '9', options: DnOptions = {}, number = 'Softswitch'): TestDn {
  return {
    number,
    type: 'voip-service',
    options: { contact: `127.0.0.1:${port}`, 'service-type': 'softswitch', prefix, ...options },
  };
}

/** An extension, with a static contact at 127.0.0.1:`port` when `port` is given. */
export function extensionDn(number: string, port?: number, options: DnOptions = {}): TestDn {
  return {
    number,
    type: 'extension',
    options: { ...(port === undefined ? {} : { contact: `127.0.0.1:${port}` }), ...options },
  };
}

/** A routing point distributing to `group`. */
export function routingPointDn(number: string, group: string): TestDn {
  return { number, type: 'routing-point', options: { 'agent-group': group } };
}

/** Joe, the remote agent of the nailed-up tests, on `dn`. */
export const joe = (dn: string): TestAgent => ({ id: 'joe', name: 'Joe', password: 'joe-secret', dn });

const optionLines = (options: DnOptions, indent: string): string =>
  Object.entries(options)
    .map(([k, v]) => `${indent}${k}: "${v}"\n`)
    .join('');

/** The configuration: server on UDP 127.0.0.1:5060 (the harness rebinds it), `dns`, then `agents` and `extra`. */
export function callYaml(dns: TestDn[], o: CallYamlOptions = {}): string {
  const serverOptions = o.serverOptions ? `  options:\n${optionLines(o.serverOptions, '    ')}` : '';
  const dnText = dns
    .map((d) => {
      const options = Object.keys(d.options).length > 0 ? `    options:\n${optionLines(d.options, '      ')}` : '';
      return `  - number: "${d.number}"\n    type: ${d.type}\n${options}`;
    })
    .join('');
  const agents = o.agents?.length
    ? `agents:\n${o.agents.map((a) => `  - { id: ${a.id}, name: ${a.name}, password: "${a.password}", dn: "${a.dn}" }\n`).join('')}`
    : '';
  return `server:
  name: ${o.name ?? 'CallTest'}
${serverOptions}  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
${dnText}${agents}${o.extra ?? ''}`;
}
