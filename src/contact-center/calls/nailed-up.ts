/**
 * The nailed-up connections of the server (behaviour §10): one {@link NailedUpLine} per agent DN
 * with `line-type = 1`, made when needed. Listens on the contact-centre bus: an agent login with
 * `connect-nailedup-on-login = gcti::park` connects and parks (behaviour §10.2 A), a logout hangs
 * up (§10.2 F), a DN or its softswitch going out of service hangs up (§10.4). `B2bua.dial` asks
 * {@link NailedUpConnections.dialerFor} so that a call for the DN rides the connection.
 */
import type { AgentService } from '../agents/agent-service.js';
import { AgentState } from '../agents/agent-state.js';
import type { AgentEventName, ContactCenterEvent } from '../events.js';
import type { B2buaOptions, NailedUpPort } from './b2bua.js';
import { connectNailedUpOnLogin, isNailedUpLine, PARK_DEVICE, ringTimeoutOf } from './call-options.js';
import { NailedUpLine, type NailedUpState } from './nailed-up-line.js';

export type { NailedUpState } from './nailed-up-line.js';

/** Construction options of {@link NailedUpConnections}: those of the B2BUA it serves, less its call bookkeeping. */
export type NailedUpConnectionsOptions = Pick<
  B2buaOptions,
  'ua' | 'reachability' | 'directory' | 'bus' | 'clock' | 'logger' | 'media'
>;

/** Every nailed-up connection, by agent DN. */
export class NailedUpConnections implements NailedUpPort {
  private readonly lines = new Map<string, NailedUpLine>();
  private readonly unsubscribers: Array<() => void> = [];

  constructor(private readonly opts: NailedUpConnectionsOptions) {
    this.unsubscribers.push(opts.bus.subscribe((e) => this.onEvent(e)));
  }

  /**
   * Logins that arrive without EventAgentLogin get their connection too (behaviour §10.2 A): the
   * logins restored after a restart (connected now) and those taken over from a dead node of a
   * cluster (connected as they are adopted). The leg the other process had is gone with it (the
   * agent's gateway ends it when its session timer or RTP timeout runs out), so a new one is
   * made. A connection already up or being made is left as it is.
   */
  followLogins(agents: Pick<AgentService, 'sessions' | 'onSessionChange'>): void {
    for (const s of agents.sessions()) this.onLogin(s.dn);
    this.unsubscribers.push(
      agents.onSessionChange((_id, session, previous) => {
        if (session && previous.state === AgentState.LoggedOut) this.onLogin(session.dn);
      }),
    );
  }

  /** `line-type = 1` on the (agent) DN `dn`. */
  isNailedUp(dn: string): boolean {
    const d = this.opts.directory.getDn(dn);
    return d !== undefined && isNailedUpLine(this.opts.directory, d.number);
  }

  /** The DN's connection (made on first use), when the DN is nailed-up. */
  dialerFor(dn: string): NailedUpLine | undefined {
    const d = this.opts.directory.getDn(dn);
    if (!d || !isNailedUpLine(this.opts.directory, d.number)) return undefined;
    let line = this.lines.get(d.number);
    if (!line) {
      line = new NailedUpLine(d.number, {
        ua: this.opts.ua,
        reachability: this.opts.reachability,
        directory: this.opts.directory,
        clock: this.opts.clock,
        logger: this.opts.logger,
        media: this.opts.media,
        onState: (n, s) => this.opts.logger.debug({ dn: n, state: s }, 'nailed-up state'),
      });
      this.lines.set(d.number, line);
    }
    return line;
  }

  /** The state of `dn`'s connection (behaviour §10.3); undefined for a DN that is not nailed-up. */
  stateOf(dn: string): NailedUpState | undefined {
    const d = this.opts.directory.getDn(dn);
    if (!d || !isNailedUpLine(this.opts.directory, d.number)) return undefined;
    return this.lines.get(d.number)?.state ?? 'none';
  }

  /**
   * The `nailed-up` extension of an agent event on `dn` (behaviour §10.3). EventAgentLogin is
   * published before this module hears of the login: with `connect-nailedup-on-login =
   * gcti::park` it says `connecting`, which the connect started by that event makes true.
   */
  agentEventExtensions(dn: string, event: AgentEventName): Record<string, string> | undefined {
    const state = this.stateOf(dn);
    if (state === undefined) return undefined;
    if (
      event === 'EventAgentLogin' &&
      state === 'none' &&
      connectNailedUpOnLogin(this.opts.directory, dn) === PARK_DEVICE
    )
      return { 'nailed-up': 'connecting' };
    return { 'nailed-up': state };
  }

  /** Park endpoints held open by parked connections (leak checks). */
  get openEndpoints(): number {
    let n = 0;
    for (const l of this.lines.values()) n += l.openEndpoints;
    return n;
  }

  /** Stop listening and hang up every connection (shutdown). */
  close(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    for (const l of this.lines.values()) l.hangUp('shutdown');
  }

  private onEvent(e: ContactCenterEvent): void {
    if (e.kind === 'agent') {
      if (e.name === 'EventAgentLogin') this.onLogin(e.thisDN);
      else if (e.name === 'EventAgentLogout') this.lines.get(e.thisDN)?.hangUp('logout', true);
    } else if (e.kind === 'dn' && e.name === 'EventDNOutOfService') {
      for (const l of this.lines.values()) if (l.dn === e.thisDN || l.route === e.thisDN) l.hangUp('out of service');
    }
  }

  /** Behaviour §10.2 A: `connect-nailedup-on-login = gcti::park` calls the agent and parks the leg. */
  private onLogin(dn: string): void {
    const target = connectNailedUpOnLogin(this.opts.directory, dn);
    if (target === undefined) return;
    const line = this.dialerFor(dn);
    if (!line) return;
    if (target !== PARK_DEVICE) {
      this.opts.logger.warn(
        { dn, target },
        'connect-nailedup-on-login to a routing point is not supported: not connecting',
      );
      return;
    }
    void line.connect(ringTimeoutOf(this.opts.directory, line.dn)).then((f) => {
      if (f) this.opts.logger.info({ dn, failure: f.kind }, 'nailed-up connection at login failed: state none');
    });
  }
}
