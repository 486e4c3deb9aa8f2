/**
 * Generated office worlds for the migration test and benchmark (issue 19, behaviour §13): an
 * office configuration of N agents shaped like `examples/office.yaml` at scale, and the migration
 * CSV (`agent_id,home_number,mode`) that moves them to home.
 *
 * - Agents alternate between an extension DN whose phone registers (`contact: "*"`, digest
 *   password, numbers `8xxxxx`, like Joe's 8888) and an extension behind the office PBX (numbers
 *   `7xxxxx`, like Jay's 7777), reached through the `OfficePBX` softswitch (prefix `7`).
 * - `HomeSBC`, the home SBC softswitch (prefix `+1`, the guide's options as in `examples/home.yaml`),
 *   unless `sbc` is omitted (then `sipserver migrate plan --contact --prefix` creates it).
 * - Routing point `5000` with agent group `Support` (every agent).
 * - Home numbers `+1555xxxxxxx`, modes in turn `extension`, `nailed-up`, `agent-phone`.
 *
 * Everything is on loopback; the PBX and SBC addresses are SIPp peers the caller started.
 */

/** Migration mode of one agent (the CSV's third column). */
export type MigrationMode = 'extension' | 'nailed-up' | 'agent-phone';

/** One generated agent. */
export interface OfficeAgent {
  id: string;
  /** The office DN (the agent's default `dn`). */
  officeDn: string;
  /** True: a registered phone (`contact: "*"`); false: behind the office PBX. */
  registered: boolean;
  /** Digest password of the registered phone (undefined behind the PBX). */
  phonePassword?: string;
  /** Normalised home number (`+1555…`). */
  homeNumber: string;
  mode: MigrationMode;
}

/** What {@link generateOffice} builds. */
export interface OfficeSpec {
  /** Number of agents. */
  agents: number;
  /** `host:port` of the office PBX (SIPp UAS answering OPTIONS and INVITEs). */
  pbx: string;
  /** `host:port` of the home SBC; omitted: no `HomeSBC` in the configuration. */
  sbc?: string;
  /** `server.http.admin-token`. */
  token: string;
}

/** A generated office. */
export interface OfficeWorld {
  agents: OfficeAgent[];
  /** The configuration file (YAML, one object per line). */
  yaml: string;
  /** The migration CSV, header `agent_id,home_number,mode`. */
  csv: string;
  /**
   * SIPp `-inf` file of the registered phones (`SEQUENTIAL`, then
   * `number;[authentication username=number password=…]`), for `bench/helpers/register-inf.xml`.
   */
  phonesInf: string;
  /** Agents behind the PBX, in order: the ones a load harness logs in (their calls reach the PBX SIPp). */
  pbxAgents: OfficeAgent[];
}

/** Name of the office PBX softswitch. */
export const OFFICE_PBX = 'OfficePBX';
/** Name of the home SBC softswitch. */
export const HOME_SBC = 'HomeSBC';
/** Prefix of the home SBC (and of every home number). */
export const HOME_PREFIX = '+1';
/** The routing point customers call. */
export const ROUTING_POINT = '5000';

const MODES: readonly MigrationMode[] = ['extension', 'nailed-up', 'agent-phone'];

/** Agent `i` of a generated office. */
export function officeAgent(i: number): OfficeAgent {
  const registered = i % 2 === 1;
  const serial = String(i).padStart(5, '0');
  return {
    id: `agent${serial}`,
    officeDn: `${registered ? '8' : '7'}${serial}`,
    registered,
    ...(registered ? { phonePassword: `pw-${serial}-secret` } : {}),
    homeNumber: `+1555${String(2_000_000 + i)}`,
    mode: MODES[i % MODES.length]!,
  };
}

/** The softswitch DN line of the configuration (the guide's options). */
function softswitchLine(name: string, contact: string, prefix: string): string {
  return (
    `  - { number: ${name}, type: voip-service, options: { contact: "${contact}", service-type: softswitch, ` +
    `prefix: "${prefix}", dual-dialog-enabled: "false", make-call-rfc3725-flow: "1", oos-check: "5", oos-force: "2" } }`
  );
}

/** Build the office configuration, the migration CSV and the phones' SIPp injection file. */
export function generateOffice(spec: OfficeSpec): OfficeWorld {
  const agents = Array.from({ length: spec.agents }, (_, i) => officeAgent(i));
  const lines = [
    'server:',
    '  name: Office_SIP_Server',
    '  sip:',
    '    listen: ["udp:127.0.0.1:0"]',
    '  http:',
    '    listen: "127.0.0.1:0"',
    `    admin-token: "${spec.token}"`,
    // Phones and customers all send from 127.0.0.1: no per-source flood limit (docs/security.md).
    '  options:',
    '    pike-requests-per-second: "0"',
    'dns:',
    softswitchLine(OFFICE_PBX, spec.pbx, '7'),
    ...(spec.sbc ? [softswitchLine(HOME_SBC, spec.sbc, HOME_PREFIX)] : []),
    `  - { number: "${ROUTING_POINT}", type: routing-point, options: { agent-group: Support } }`,
  ];
  for (const a of agents) {
    lines.push(
      a.registered
        ? `  - { number: "${a.officeDn}", type: extension, options: { contact: "*", password: "${a.phonePassword}" } }`
        : `  - { number: "${a.officeDn}", type: extension }`,
    );
  }
  lines.push('agents:');
  for (const a of agents)
    lines.push(`  - { id: ${a.id}, name: "${a.id}", password: "${a.id}-secret", dn: "${a.officeDn}" }`);
  lines.push('agent-groups:', '  - name: Support', '    agents:');
  for (const a of agents) lines.push(`      - ${a.id}`);
  const inf = ['SEQUENTIAL'];
  for (const a of agents) {
    if (a.registered) inf.push(`${a.officeDn};[authentication username=${a.officeDn} password=${a.phonePassword}]`);
  }
  return {
    agents,
    yaml: lines.join('\n') + '\n',
    csv: ['agent_id,home_number,mode', ...agents.map((a) => `${a.id},${a.homeNumber},${a.mode}`)].join('\n') + '\n',
    phonesInf: inf.join('\n') + '\n',
    pbxAgents: agents.filter((a) => !a.registered),
  };
}
