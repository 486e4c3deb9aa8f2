/**
 * The option reference table (behaviour §4, §5, §9, §10, §14). It drives validation of option
 * values, the effective-option lookup levels (behaviour §2.2) and generates `docs/options.md`
 * (`sipserver config options-doc`).
 */
import { isIP } from 'node:net';
import { AGENT_DN_TYPES, type DnType } from './config-model.js';
import { parseAddressList } from '../util/address-list.js';
import { isPhoneNumber, normaliseNumber } from './number-normalise.js';
import { parsePortRange } from '../media/builtin/settings.js';
import { readWavFile, WavFormatError } from '../media/builtin/wav.js';
import { parseNgAddress } from '../media/rtpengine/ng-address.js';

/** Where an option may be set: a DN type, the application (`server.options`) or an agent. */
export type OptionTarget = DnType | 'application' | 'agent';

/** The value syntax of an option. */
export type OptionValueType =
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number; allowEmpty?: boolean }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'contact' }
  | { kind: 'prefix-list' }
  | { kind: 'address-list' }
  | { kind: 'status-code-list' }
  | { kind: 'token-list'; values?: readonly string[] }
  | { kind: 'token' }
  | { kind: 'number' }
  | { kind: 'nailedup-target' }
  | { kind: 'port-range' }
  | { kind: 'ip-address'; allowEmpty: boolean }
  | { kind: 'wav-file' }
  | { kind: 'ng-address-list' }
  | { kind: 'string'; allowEmpty: boolean };

/** One row of the option reference. */
export interface OptionSpec {
  /** Genesys option name, exactly. */
  name: string;
  /** Objects the option is read from. */
  appliesTo: readonly OptionTarget[];
  /** Value syntax. */
  type: OptionValueType;
  /** Built-in default (behaviour §2.2 step 4); undefined = none. */
  default?: string;
  /**
   * True when a DN without `contact` inherits the value from the softswitch it sits behind
   * (behaviour §2.2 step 2). Application-level lookup is given by `appliesTo` holding
   * `application`.
   */
  inheritFromSoftswitch: boolean;
  /** What the option does. */
  effect: string;
  /** When a change takes effect (behaviour §2.3). */
  takesEffect: string;
  /** Where the rule comes from (behaviour spec tags). */
  source: string;
  /**
   * A credential: write-only through the API and in exports (docs/admin-api.md "Secrets"). Read
   * endpoints, the change feed and `config export` (without `--with-secrets`) leave it out; a
   * write that leaves it out keeps the stored value.
   */
  secret?: boolean;
}

const AGENT_DNS: readonly OptionTarget[] = [...AGENT_DN_TYPES, 'voip-service'];
const DEVICE_DNS: readonly OptionTarget[] = [...AGENT_DNS, 'trunk'];

/** The reference table, in documentation order. */
export const OPTION_TABLE: readonly OptionSpec[] = [
  {
    name: 'contact',
    appliesTo: DEVICE_DNS,
    type: { kind: 'contact' },
    inheritFromSoftswitch: false,
    effect:
      'Where calls to the DN go: `*` = the phone registers on this server; `host[:port]` or a SIP URI = static address; empty or absent = behind the softswitch chosen by `prefix`.',
    takesEffect: 'next call (a registered binding is dropped when `*` is removed)',
    source: 'behaviour §3.1',
  },
  {
    name: 'service-type',
    appliesTo: ['voip-service'],
    type: { kind: 'token' },
    inheritFromSoftswitch: false,
    effect:
      '`softswitch` makes the VoIP Service DN a softswitch: DNs without `contact` whose number starts with one of its `prefix` values are reached through it. Other values are accepted and ignored.',
    takesEffect: 'next call',
    source: 'behaviour §3.1, §4',
  },
  {
    name: 'prefix',
    appliesTo: ['voip-service', 'trunk'],
    type: { kind: 'prefix-list' },
    inheritFromSoftswitch: false,
    effect:
      'Comma-separated leading characters of the numbers this softswitch serves (normalised like DN numbers). The longest matching prefix wins, then `priority`, then DN name.',
    takesEffect: 'next call',
    source: 'behaviour §3.3',
  },
  {
    name: 'priority',
    appliesTo: ['voip-service', 'trunk'],
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    inheritFromSoftswitch: false,
    effect: 'Among softswitches with equally long matching prefixes, the lower value is preferred; absent = last.',
    takesEffect: 'next call',
    source: 'behaviour §3.3 [I]',
  },
  {
    name: 'oos-check',
    appliesTo: DEVICE_DNS,
    type: { kind: 'integer', min: 0, max: 86_400 },
    default: '0',
    inheritFromSoftswitch: false,
    effect: 'Seconds between SIP OPTIONS probes of a static-contact device; 0 = no probing.',
    takesEffect: 'next probe cycle',
    source: 'behaviour §5.1',
  },
  {
    name: 'oos-force',
    appliesTo: DEVICE_DNS,
    type: { kind: 'integer', min: 0, max: 3_600 },
    default: '0',
    inheritFromSoftswitch: false,
    effect:
      'Seconds to wait for a final answer to a probe before the device is declared out of service; 0 or ≥ 32 = Timer F (32 s).',
    takesEffect: 'next probe',
    source: 'behaviour §5.1',
  },
  {
    name: 'oos-failure-codes',
    appliesTo: DEVICE_DNS,
    type: { kind: 'status-code-list' },
    default: '',
    inheritFromSoftswitch: false,
    effect:
      'Comma-separated final response codes (e.g. `503`) that count as a failed probe; any other final answer means alive.',
    takesEffect: 'next probe',
    source: 'behaviour §5.1',
  },
  {
    name: 'oos-recovery-count',
    appliesTo: DEVICE_DNS,
    type: { kind: 'integer', min: 1, max: 100 },
    default: '1',
    inheritFromSoftswitch: false,
    effect: 'Answered probes needed in a row before an out-of-service device is back in service.',
    takesEffect: 'next probe',
    source: 'behaviour §5.1 [I]',
  },
  {
    name: 'oos-options-max-forwards',
    appliesTo: DEVICE_DNS,
    type: { kind: 'integer', min: 0, max: 255 },
    default: '70',
    inheritFromSoftswitch: false,
    effect: 'Max-Forwards of the OPTIONS probes.',
    takesEffect: 'next probe',
    source: 'behaviour §5.1 [R]',
  },
  {
    name: 'oos-propagate-to-dns',
    appliesTo: ['voip-service', 'trunk'],
    type: { kind: 'boolean' },
    default: 'true',
    inheritFromSoftswitch: false,
    effect: 'Also report EventDNOutOfService/EventDNBackInService on the DNs routed through this device.',
    takesEffect: 'next state change',
    source: 'behaviour §5.1 [I]',
  },
  {
    name: 'dual-dialog-enabled',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'boolean' },
    default: 'true',
    inheritFromSoftswitch: true,
    effect:
      "`false` = keep at most one INVITE dialog with the device (consultation borrows the agent's dialog); required for PSTN/remote agents.",
    takesEffect: 'next call',
    source: 'behaviour §6',
  },
  {
    name: 'make-call-rfc3725-flow',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'enum', values: ['1', '2'] },
    default: '2',
    inheritFromSoftswitch: true,
    effect:
      '3pcc make-call flow: `1` = RFC 3725 Flow I (no re-INVITE to the agent), `2` = re-INVITE flow (RFC 3725 Flow IV).',
    takesEffect: 'next call',
    source: 'behaviour §8',
  },
  {
    name: 'rfc3725-flow1-max-wait',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'integer', min: 1, max: 31 },
    default: '28',
    inheritFromSoftswitch: true,
    effect: 'Seconds Flow I waits for the destination before falling back to the re-INVITE flow.',
    takesEffect: 'next call',
    source: 'behaviour §8.1 [I]',
  },
  {
    name: 'refer-enabled',
    appliesTo: [...AGENT_DNS, 'trunk', 'application'],
    type: { kind: 'boolean' },
    default: 'true',
    inheritFromSoftswitch: true,
    effect: '`false` = never send REFER to the device; transfers are done by re-INVITE with the server in the path.',
    takesEffect: 'next call',
    source: 'behaviour §9',
  },
  {
    name: 'reject-call-notready',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'boolean' },
    default: 'false',
    inheritFromSoftswitch: true,
    effect: '`true` = routed/transferred calls are not delivered to the DN while its agent is NotReady or logged out.',
    takesEffect: 'next call',
    source: 'behaviour §9',
  },
  {
    name: 'sip-cti-control',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'token-list', values: ['talk', 'hold', 'dtmf', 'mute'] },
    default: '',
    inheritFromSoftswitch: true,
    effect: 'Remote control of the phone by NOTIFY (e.g. `talk,hold`); must be absent for PSTN agents.',
    takesEffect: 'next call',
    source: 'behaviour §9',
  },
  {
    name: 'line-type',
    appliesTo: AGENT_DNS,
    type: { kind: 'enum', values: ['0', '1'] },
    default: '0',
    inheritFromSoftswitch: true,
    effect: '`1` = nailed-up connection: one long-lived call to the agent carries many customer calls.',
    takesEffect: 'next login session',
    source: 'behaviour §10',
  },
  {
    name: 'connect-nailedup-on-login',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'nailedup-target' },
    default: '',
    inheritFromSoftswitch: true,
    effect:
      'At agent login: `gcti::park` = call the agent and park the leg; a Routing Point number = connect the agent to it; empty = nothing.',
    takesEffect: 'next login session',
    source: 'behaviour §10 [C:S7]',
  },
  {
    name: 'disconnect-nailedup-timeout',
    appliesTo: [...AGENT_DNS, 'application'],
    type: { kind: 'integer', min: 0, max: 86_400 },
    default: '0',
    inheritFromSoftswitch: true,
    effect: 'Seconds of agent inactivity after which the nailed-up connection is ended; 0 = never.',
    takesEffect: 'next nailed-up connection',
    source: 'behaviour §10 [C:S7]',
  },
  {
    name: 'sip-trying-timeout',
    appliesTo: DEVICE_DNS,
    type: { kind: 'integer', min: 0, max: 256, allowEmpty: true },
    inheritFromSoftswitch: true,
    effect:
      'Seconds an INVITE may stay without a provisional response other than 100 Trying (behaviour §14): with no response at all the next route (softswitch) is tried, as on a Timer B timeout but without waiting 32 s; with only 100 Trying, or no route left, the call goes to `no-response-dn` or is released (408). Empty = use `sip-invite-timeout` when it is set; 0 = off (Timer B alone).',
    takesEffect: 'next call',
    source: 'behaviour §14 [C:S12]',
  },
  {
    name: 'no-response-dn',
    appliesTo: DEVICE_DNS,
    type: { kind: 'number' },
    inheritFromSoftswitch: true,
    effect:
      "Where an inbound call goes when `sip-trying-timeout` expires on its destination (the DN's value, else its softswitch's); absent = the caller is released (408). Applied once per call.",
    takesEffect: 'next call',
    source: 'behaviour §14 [C:S12]',
  },
  {
    name: 'sip-t1',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 50, max: 10_000 },
    default: '500',
    inheritFromSoftswitch: false,
    effect:
      'SIP timer T1 in ms (RTT estimate): base of retransmission timers A, E, G and of the 64·T1 transaction timeouts B, F, H, J.',
    takesEffect: 'restart',
    source: 'RFC 3261 §17.1.1.1, table 4',
  },
  {
    name: 'sip-t2',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 100, max: 60_000 },
    default: '4000',
    inheritFromSoftswitch: false,
    effect: 'SIP timer T2 in ms: the cap of retransmission intervals for non-INVITE requests and INVITE responses.',
    takesEffect: 'restart',
    source: 'RFC 3261 §17.1.2.2, table 4',
  },
  {
    name: 'sip-t4',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 100, max: 60_000 },
    default: '5000',
    inheritFromSoftswitch: false,
    effect: 'SIP timer T4 in ms: how long a message may stay in the network (timers I and K on UDP).',
    takesEffect: 'restart',
    source: 'RFC 3261 §17.2.1, table 4',
  },
  {
    name: 'sip-max-connections',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '10000',
    inheritFromSoftswitch: false,
    effect:
      'Most open TCP/TLS/WebSocket connections per transport (inbound and outbound); a new inbound connection over the limit is refused.',
    takesEffect: 'restart',
    source: 'ours (bad-input protection)',
  },
  {
    name: 'sip-max-connections-per-ip',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '200',
    inheritFromSoftswitch: false,
    effect:
      'Most inbound stream connections from one source IP address (a peer opening thousands of idle connections is refused past it).',
    takesEffect: 'restart',
    source: 'ours (bad-input protection)',
  },
  {
    name: 'config-apply-max-lag',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 60_000 },
    default: '50',
    inheritFromSoftswitch: false,
    effect:
      'Event-loop lag (ms, mean over the last ~100 ms) above which an admin-API change-set waits in the configuration queue before it is applied, so that a bulk reconfiguration cannot starve call handling; 0 = never wait (docs/admin-api.md "Change-set queue").',
    takesEffect: 'next change-set',
    source: 'behaviour §13',
  },
  {
    name: 'config-apply-max-wait',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 600_000 },
    default: '5000',
    inheritFromSoftswitch: false,
    effect:
      'Longest time (ms, from its arrival) a change-set waits for the lag to fall under `config-apply-max-lag`; then it is applied anyway.',
    takesEffect: 'next change-set',
    source: 'behaviour §13',
  },
  {
    name: 'config-queue-size',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 100_000 },
    default: '16',
    inheritFromSoftswitch: false,
    effect:
      'Change-sets that may wait in the configuration queue at once; one more is answered 503 with `Retry-After: 1`.',
    takesEffect: 'next change-set',
    source: 'behaviour §13',
  },
  {
    name: 'pike-requests-per-second',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    default: '100',
    inheritFromSoftswitch: false,
    effect:
      'Flood limit (Kamailio pike): most SIP requests one source IP may send over UDP in one second; a source over it is banned for `pike-ban-seconds` and its datagrams are dropped unparsed. Trusted peers (softswitch/trunk contact hosts, `trusted-sources`) and registered phones are never banned. 0 = no limit (docs/security.md).',
    takesEffect: 'within 1 s',
    source: 'ours (bad-input protection)',
  },
  {
    name: 'pike-ban-seconds',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 86_400 },
    default: '60',
    inheritFromSoftswitch: false,
    effect:
      'How long a source that went over `pike-requests-per-second` stays banned; then it is forgiven and counted afresh.',
    takesEffect: 'next ban',
    source: 'ours (bad-input protection)',
  },
  {
    name: 'sip-connection-idle-timeout',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 86_400 },
    default: '120',
    inheritFromSoftswitch: false,
    effect:
      'Seconds without traffic after which a stream connection is closed (phones keep theirs open with CRLF keepalives or re-REGISTER).',
    takesEffect: 'restart',
    source: 'ours (bad-input protection), RFC 5626 §3.5.1 keepalives',
  },
  {
    name: 'media-address',
    appliesTo: ['application'],
    type: { kind: 'ip-address', allowEmpty: true },
    default: '',
    inheritFromSoftswitch: false,
    effect:
      'The address the built-in media server puts in SDP (`c=`) for park, ringback, music on hold and conferences; empty = the host of the first `server.sip.listen` entry (for `0.0.0.0`, the first external IPv4 address). Never 0.0.0.0. RTP sockets bind to the first SIP listen host. See docs/media.md.',
    takesEffect: 'restart',
    source: 'behaviour §6, §10 (media endpoint)',
  },
  {
    name: 'rtp-port-range',
    appliesTo: ['application'],
    type: { kind: 'port-range' },
    default: '20000-29999',
    inheritFromSoftswitch: false,
    effect:
      'UDP ports of the built-in media server: each endpoint takes an even RTP port and the next odd port for RTCP (RFC 3550 §11), starting at a random pair and skipping ports in use.',
    takesEffect: 'restart',
    source: 'RFC 3550 §11; docs/media.md',
  },
  {
    name: 'ringback-tone',
    appliesTo: ['application'],
    type: { kind: 'enum', values: ['us', 'uk', 'eu'] },
    default: 'us',
    inheritFromSoftswitch: false,
    effect:
      'Cadence of the ringback the media server plays (to an agent while a consultation target rings): `us` 440 + 480 Hz 2 s on 4 s off; `uk` 400 + 450 Hz 0.4 on 0.2 off 0.4 on 2.0 off; `eu` 425 Hz 1 s on 4 s off.',
    takesEffect: 'restart',
    source: 'behaviour §6; docs/media.md',
  },
  {
    name: 'music-on-hold-file',
    appliesTo: ['application'],
    type: { kind: 'wav-file' },
    default: '',
    inheritFromSoftswitch: false,
    effect:
      'WAV file played, looped, to a held customer: RIFF WAVE, 8000 Hz mono, 16-bit PCM or G.711 µ-law/A-law (a relative path is read from the working directory). Empty = silence. Another format is a configuration error naming the file and the problem.',
    takesEffect: 'restart',
    source: 'behaviour §6; docs/media.md',
  },
  {
    name: 'media-server',
    appliesTo: ['application'],
    type: { kind: 'enum', values: ['builtin', 'rtpengine'] },
    default: 'builtin',
    inheritFromSoftswitch: false,
    effect:
      'Where park, ringback and music on hold play: `builtin` = the built-in media server (RTP in a worker thread of this process); `rtpengine` = rtpengine daemons driven over their ng protocol (`rtpengine-ng`), which cannot mix: conference requests are refused (NOT_SUPPORTED) with `media-server = rtpengine`. `ringback-tone` and `music-on-hold-file` apply to both; `media-address` and `rtp-port-range` to the built-in one only (rtpengine has its own `interface` and ports). See docs/media.md.',
    takesEffect: 'restart',
    source: 'ours (issue 21, media at scale); docs/media.md',
  },
  {
    name: 'rtpengine-ng',
    appliesTo: ['application'],
    type: { kind: 'ng-address-list' },
    default: 'udp:127.0.0.1:2223',
    inheritFromSoftswitch: false,
    effect:
      "The ng control ports of the rtpengines used with `media-server = rtpengine` (rtpengine's `listen-ng`), comma-separated `udp:HOST:PORT`: each new endpoint goes to the next in turn; one that does not answer is skipped for 10 s. At start at least one must answer `ping`.",
    takesEffect: 'restart',
    source: 'ours (issue 21); docs/media.md',
  },
  {
    name: 'agent-desktop-grace',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 86_400 },
    default: '60',
    inheritFromSoftswitch: false,
    effect:
      'Seconds an agent stays logged in after the last CTI connection it opened itself (agent scope: a desktop) closed; a new RequestOpen by the agent within them keeps the login. When they run out the agent is logged out (EventAgentLogout), or, when on a call, right after that call ends. 0 = never log out on disconnect. Logins made by application-scope connections are not affected.',
    takesEffect: 'restart',
    source: 'ours (agent desktop reconnect, docs/agent-desktop.md)',
  },
  {
    name: 'cluster-orphan-check',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 3600 },
    default: '30',
    inheritFromSoftswitch: false,
    effect:
      'In a cluster (`start --redis`): seconds between the in-dialog OPTIONS (RFC 3261 §11) a node sends to each party of the calls it took over from a dead node (docs/cluster.md, "Calls of a dead node"). A party that answers 481 or does not answer no longer has the call: the node sends BYE to the other parties and reports the release, so the agent is not left Busy by a call nobody hangs up. 0: no check.',
    takesEffect: 'next check',
    source: 'ours (cluster, docs/cluster.md)',
  },
  {
    name: 'cluster-node-lease',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 2, max: 300 },
    default: '6',
    inheritFromSoftswitch: false,
    effect:
      "In a cluster (`start --redis`): seconds a node's lease in Redis lasts; the node renews it every third of that. A node that stops renewing is dead after at most this long, and a live node takes over its agent logins at its next renewal. Each probed device's lease (the node that sends its OPTIONS) lasts as long and is renewed as often. Shorter: faster failover, more Redis writes and a higher risk of a busy node being taken for dead.",
    takesEffect: 'restart',
    source: 'ours (cluster, docs/cluster.md)',
  },
  {
    name: 'cti-ping-interval',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 3600 },
    default: '30',
    inheritFromSoftswitch: false,
    effect:
      'Seconds between the WebSocket pings the server sends on every CTI connection; a connection that has not answered the previous ping by the next one is closed, so a desktop whose network vanished silently is seen as gone (and agent-desktop-grace starts). 0 = no pings.',
    takesEffect: 'restart',
    source: 'ours (RFC 6455 §5.5.2 ping/pong; docs/cti-protocol.md)',
  },
  {
    name: 'cti-agent-rate',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '20',
    inheritFromSoftswitch: false,
    effect:
      'Requests per second an agent-scope CTI connection (RequestOpen with agentId and password) may send, sustained; above it the request is answered RATE_LIMITED. Also applies to a connection before RequestOpen.',
    takesEffect: 'restart',
    source: 'interfaces §4; ours (bad-input protection)',
  },
  {
    name: 'cti-agent-burst',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '40',
    inheritFromSoftswitch: false,
    effect: 'Requests an agent-scope CTI connection may send at once above `cti-agent-rate` (token bucket size).',
    takesEffect: 'restart',
    source: 'interfaces §4; ours (bad-input protection)',
  },
  {
    name: 'cti-application-rate',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '5000',
    inheritFromSoftswitch: false,
    effect:
      'Requests per second an application-scope CTI connection (RequestOpen with the admin token: a desktop gateway or a router) may send, sustained; must stay well above 2,000 (a gateway for 2,000 agents).',
    takesEffect: 'restart',
    source: 'interfaces §4; ours (bad-input protection)',
  },
  {
    name: 'cti-application-burst',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '10000',
    inheritFromSoftswitch: false,
    effect:
      'Requests an application-scope CTI connection may send at once above `cti-application-rate` (e.g. a reconnect storm: register, query, login and ready for every agent).',
    takesEffect: 'restart',
    source: 'interfaces §4; ours (bad-input protection)',
  },
  {
    name: 'sip-invite-timeout',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 0, max: 34 },
    default: '0',
    inheritFromSoftswitch: false,
    effect: 'Application-wide INVITE timeout in seconds; 0 = 32 s (Timer B).',
    takesEffect: 'next call',
    source: 'behaviour §14 [C:S12]',
  },
  {
    name: 'registrar-min-expires',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 86_400 },
    default: '60',
    inheritFromSoftswitch: false,
    effect:
      'Shortest accepted registration in seconds; a shorter Expires is answered 423 Interval Too Brief (RFC 3261 §10.3).',
    takesEffect: 'next REGISTER',
    source: 'RFC 3261 §10.3 (registrar)',
  },
  {
    name: 'registrar-max-expires',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 604_800 },
    default: '3600',
    inheritFromSoftswitch: false,
    effect: 'Longest granted registration in seconds; longer requests are shortened.',
    takesEffect: 'next REGISTER',
    source: 'RFC 3261 §10.3 (registrar)',
  },
  {
    name: 'registrar-default-expires',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 604_800 },
    default: '3600',
    inheritFromSoftswitch: false,
    effect: 'Registration time when neither the Contact nor the request gives one.',
    takesEffect: 'next REGISTER',
    source: 'RFC 3261 §10.2.1.1 (registrar)',
  },
  {
    name: 'registrar-max-contacts',
    appliesTo: ['application'],
    type: { kind: 'integer', min: 1, max: 100 },
    default: '10',
    inheritFromSoftswitch: false,
    effect: 'Contacts kept per DN; beyond, the least recently refreshed is dropped.',
    takesEffect: 'next REGISTER',
    source: 'registrar',
  },
  {
    name: 'auth-realm',
    appliesTo: ['application'],
    type: { kind: 'string', allowEmpty: true },
    inheritFromSoftswitch: false,
    effect: "Digest realm of the challenges; empty = the host of the request's To URI.",
    takesEffect: 'next challenge',
    source: 'RFC 3261 §22.1 (registrar)',
  },
  {
    name: 'auth-algorithms',
    appliesTo: ['application'],
    type: { kind: 'token-list', values: ['SHA-256', 'MD5'] },
    default: 'MD5',
    inheritFromSoftswitch: false,
    effect:
      'Digest algorithms challenged with, one WWW-Authenticate header each, in this order. MD5 alone by default: baresip (libre 1.x) fails the whole REGISTER when ANY challenge names an algorithm it lacks, even with an MD5 one beside it, and SIPp 3.6.1 answers only the first; set `SHA-256,MD5` (or `SHA-256`) where every phone supports RFC 8760.',
    takesEffect: 'next challenge',
    source: 'RFC 8760 §2.4 (registrar)',
  },
  {
    name: 'password',
    appliesTo: AGENT_DN_TYPES,
    type: { kind: 'string', allowEmpty: true },
    inheritFromSoftswitch: false,
    effect: 'Digest password the phone must use to REGISTER (RFC 3261 §22); empty = no authentication.',
    takesEffect: 'next REGISTER',
    source: 'behaviour §3.5',
    secret: true,
  },
  {
    name: 'authenticate-requests',
    appliesTo: [...AGENT_DN_TYPES, 'application'],
    type: { kind: 'token-list', values: ['invite', 'register'] },
    default: 'invite,register',
    inheritFromSoftswitch: false,
    effect:
      'Methods a phone of a DN with a `password` must digest-authenticate: `invite` = a new INVITE claiming the DN in its From gets 407 + Proxy-Authenticate (RFC 3261 §22.3); without `invite` such an INVITE is accepted only from a registered (or static) contact address of the DN (see `enable-strict-location-match`). REGISTER of a DN with a password is always challenged (401): `register` is accepted for Genesys compatibility. Not read for a DN without a password (docs/security.md).',
    takesEffect: 'next request',
    source: 'behaviour §3.5 [R]; docs/security.md',
  },
  {
    name: 'enable-strict-location-match',
    appliesTo: [...AGENT_DN_TYPES, 'application'],
    type: { kind: 'boolean' },
    default: 'false',
    inheritFromSoftswitch: false,
    effect:
      'For a new INVITE claiming a DN in its From that is not digest-authenticated (no `password`, or `invite` not in `authenticate-requests`): `false` = accepted when its source IP is the IP a binding of the DN registered from (or the host of its static `contact`); `true` = the source IP, port and transport must all match. Any other source is refused (403).',
    takesEffect: 'next request',
    source: 'Genesys enable-strict-location-match [R]; docs/security.md',
  },
  {
    name: 'sip-trusted-proxies',
    appliesTo: ['application'],
    type: { kind: 'address-list' },
    inheritFromSoftswitch: false,
    effect:
      "IP addresses and CIDR blocks of proxies in front of the server (a cluster's Kamailio, docs/cluster.md). A request from one of them is taken to come from where the proxy received it: the `received`/`rport` (else sent-by) of the Via below the proxy's own (RFC 3261 §18.2.1, RFC 3581). Trust, location match, the registered source of a binding and the digest failure limiter use that address; a phone the server cannot reach directly is reached through the proxy. A proxy is never flood-banned. Never list an address phones or gateways send from directly.",
    takesEffect: 'next request',
    source: 'ours (cluster, docs/cluster.md; Kamailio force_rport/received)',
  },
  {
    name: 'trusted-sources',
    appliesTo: ['voip-service', 'trunk'],
    type: { kind: 'address-list' },
    inheritFromSoftswitch: false,
    effect:
      'IP addresses and CIDR blocks (IPv4 and IPv6, comma-separated, e.g. `192.0.2.10, 198.51.100.0/24, 2001:db8::/32`) a softswitch, trunk or SBC sends requests from, besides the host of its `contact`: new INVITEs from them are trusted like those from the contact host (docs/security.md).',
    takesEffect: 'next request',
    source: 'docs/security.md',
  },
  {
    name: 'agent-group',
    appliesTo: ['routing-point'],
    type: { kind: 'string', allowEmpty: false },
    inheritFromSoftswitch: false,
    effect: 'Name of the agent group whose Ready agents this routing point distributes calls to (must exist).',
    takesEffect: 'next call on the routing point',
    source: 'interfaces §2',
  },
  {
    name: 'default-dn',
    appliesTo: ['routing-point', 'application'],
    type: { kind: 'number' },
    inheritFromSoftswitch: false,
    effect:
      'Where a call waiting on the routing point goes when `router-timeout` expires; absent = the call is released (480).',
    takesEffect: 'next call on the routing point',
    source: 'Genesys routing point default-dn [R]',
  },
  {
    name: 'router-timeout',
    appliesTo: ['routing-point', 'application'],
    type: { kind: 'integer', min: 0, max: 3_600 },
    default: '10',
    inheritFromSoftswitch: false,
    effect: 'Seconds a call may wait on the routing point for a Ready agent; 0 = wait forever.',
    takesEffect: 'next call on the routing point',
    source: 'Genesys router-timeout [R]',
  },
  {
    name: 'agent-phone',
    appliesTo: ['agent'],
    type: { kind: 'number' },
    inheritFromSoftswitch: false,
    effect: "The agent's home number: offered by the desktop at login and used by a login without `agent-phone`.",
    takesEffect: 'next login session',
    source: 'behaviour §7',
  },
  {
    name: 'dr-forward',
    appliesTo: [...DEVICE_DNS, 'application'],
    type: { kind: 'enum', values: ['off', 'no-agent', 'oos'] },
    default: 'off',
    inheritFromSoftswitch: false,
    effect:
      'Business Continuity forwarding (kept for compatibility; this server has no BC pair, the value is only validated).',
    takesEffect: 'next call',
    source: 'behaviour §4 [C:S13]',
  },
];

const BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(OPTION_TABLE.map((o) => [o.name, o]));

/** The spec of a known option, or undefined for an unknown (kept, warned) option name. */
export function optionSpec(name: string): OptionSpec | undefined {
  return BY_NAME.get(name);
}

const TRUE_SPELLING = /^(true|1|yes|on)$/i;
const FALSE_SPELLING = /^(false|0|no|off)$/i;

/**
 * How a value of a `boolean` option reads (trimmed, any case); undefined when it is neither.
 * Validation ({@link checkOptionValue}) accepts `true` and `false` only, which read the same here;
 * the readers have always also taken `1`/`yes`/`on` and `0`/`no`/`off`, and still do.
 */
function readBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (TRUE_SPELLING.test(v)) return true;
  if (FALSE_SPELLING.test(v)) return false;
  return undefined;
}

/**
 * The one reader of boolean options: `value` (an effective option value, or undefined when the
 * configuration gives none) as true or false; absent or unreadable values read as the option's
 * built-in default. Throws for a name the table does not define as `boolean` (a programming error).
 */
export function optionBoolean(name: string, value: string | undefined): boolean {
  const spec = BY_NAME.get(name);
  if (spec?.type.kind !== 'boolean') throw new Error(`option ${name} is not a boolean option`);
  return readBoolean(value) ?? readBoolean(spec.default) ?? false;
}

/**
 * A numeric option's value as a number: `value` (e.g. `server.options[name]`), or the built-in
 * default when it is absent or empty. Throws when neither is a number.
 */
export function optionNumber(name: string, value: string | undefined): number {
  const n = Number(value || BY_NAME.get(name)?.default);
  if (!Number.isFinite(n)) throw new Error(`option ${name} has no numeric value`);
  return n;
}

const HOSTPORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$/;

function checkPort(v: string): boolean {
  const m = /:(\d{1,5})$/.exec(v);
  return !m || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
}

/** Splits a comma-separated option value into trimmed items. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A music file the media server could not play: the error naming the file and the problem. */
function checkWavFile(name: string, file: string): string | undefined {
  try {
    readWavFile(file);
    return undefined;
  } catch (e) {
    return `option ${name}: ${file}: ${e instanceof WavFormatError ? e.problem : String(e)}`;
  }
}

/**
 * Checks one value against the option's syntax. Returns an error message, or undefined when
 * the value is acceptable.
 */
export function checkOptionValue(spec: OptionSpec, value: string): string | undefined {
  const t = spec.type;
  const bad = (what: string): string =>
    spec.secret ? `option ${spec.name}: the value is not ${what}` : `option ${spec.name}: "${value}" is not ${what}`;
  switch (t.kind) {
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : bad('true or false');
    case 'integer': {
      if (value === '' && t.allowEmpty) return undefined;
      if (!/^\d+$/.test(value)) return bad(`an integer from ${t.min} to ${t.max}`);
      const n = Number(value);
      return n >= t.min && n <= t.max ? undefined : bad(`an integer from ${t.min} to ${t.max}`);
    }
    case 'enum':
      return t.values.includes(value) ? undefined : bad(`one of ${t.values.join(', ')}`);
    case 'contact': {
      if (value === '' || value === '*') return undefined;
      if (/^sips?:/i.test(value)) {
        // RFC 3261 §19.1.1: sip:[user@]host[:port][;params]
        const m = /^sips?:(?:[^@\s;]+@)?([^;?\s]+)(?:[;?][^\s]*)?$/i.exec(value);
        return m && HOSTPORT.test(m[1]) && checkPort(m[1]) ? undefined : bad('a SIP URI sip:[user@]host[:port]');
      }
      return HOSTPORT.test(value) && checkPort(value) ? undefined : bad('*, host[:port] or a SIP URI');
    }
    case 'prefix-list': {
      const items = splitList(value);
      if (items.length === 0) return bad('a comma-separated list of prefixes');
      for (const p of items) {
        if (!/^[+A-Za-z0-9*#\s\-.()]+$/.test(p) || normaliseNumber(p) === '')
          return bad('a comma-separated list of prefixes');
      }
      return undefined;
    }
    case 'address-list': {
      const r = parseAddressList(value);
      if (!r.ok) return bad(`a comma-separated list of IP addresses and CIDR blocks ("${r.bad}" is neither)`);
      return r.list.items.length > 0 ? undefined : bad('a comma-separated list of IP addresses and CIDR blocks');
    }
    case 'status-code-list': {
      for (const c of splitList(value)) {
        if (!/^[2-6]\d\d$/.test(c)) return bad('a comma-separated list of SIP status codes 200-699');
      }
      return undefined;
    }
    case 'token-list': {
      for (const c of splitList(value)) {
        if (t.values ? !t.values.includes(c) : !/^[A-Za-z0-9_-]+$/.test(c)) {
          return bad(`a comma-separated list of ${t.values ? t.values.join(', ') : 'names'}`);
        }
      }
      return undefined;
    }
    case 'token':
      return /^[A-Za-z0-9_.-]+$/.test(value) ? undefined : bad('a single word');
    case 'number':
      return isPhoneNumber(normaliseNumber(value)) ? undefined : bad('a telephone number');
    case 'nailedup-target':
      if (value === '' || value === 'gcti::park') return undefined;
      return /^[+A-Za-z0-9_\s\-.()]+$/.test(value) ? undefined : bad('empty, gcti::park or a routing point number');
    case 'string':
      return value === '' && !t.allowEmpty ? bad('a non-empty string') : undefined;
    case 'port-range':
      return parsePortRange(value) ? undefined : bad('a UDP port range min-max (1024–65535, e.g. 20000-29999)');
    case 'ip-address':
      if (value === '' && t.allowEmpty) return undefined;
      return isIP(value) && value !== '0.0.0.0' && value !== '::' ? undefined : bad('an IP address (not 0.0.0.0)');
    case 'wav-file':
      return value === '' ? undefined : checkWavFile(spec.name, value);
    case 'ng-address-list': {
      const items = splitList(value);
      if (items.length === 0) return bad('a comma-separated list of rtpengine ng addresses udp:HOST:PORT');
      for (const a of items) {
        try {
          parseNgAddress(a);
        } catch {
          return bad(`a comma-separated list of rtpengine ng addresses udp:HOST:PORT ("${a}" is not one)`);
        }
      }
      return undefined;
    }
  }
}
