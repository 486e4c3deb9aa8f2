/**
 * Making a nailed-up connection (behaviour §10.2 A): one INVITE to the agent's device through the
 * DN's routes (reachability candidates, `agent-phone` included, softswitch failover) following
 * `make-call-rfc3725-flow` (behaviour §8): `1` = no SDP, the 200's offer answered in the ACK by a
 * new park device (RFC 3725 Flow I shape); otherwise the park device's offer in the INVITE.
 */
import type { MediaServer } from '../../media/media-server.js';
import type { SdpOriginKeeper } from '../../media/sdp-origin-keeper.js';
import type { DialogUserAgent } from '../../sip/dialog/dialog-user-agent.js';
import type { InviteSession } from '../../sip/dialog/invite-session.js';
import type { SipResponse } from '../../sip/message/types.js';
import { runDetached } from '../../util/detached.js';
import type { Logger } from '../../util/logger.js';
import { tryingTimeoutOf, usesMakeCallFlow1 } from './call-options.js';
import type { CallDirectory, CallReachability } from './call-ports.js';
import { OutboundAttempt, type AttemptFailure } from './outbound-attempt.js';
import { ParkPoint, refuseOffer } from './park-point.js';

/** What {@link AgentConnect} needs. */
export interface AgentConnectDeps {
  ua: DialogUserAgent;
  reachability: CallReachability;
  directory: Pick<CallDirectory, 'effectiveOption' | 'getDn'>;
  logger: Logger;
  media?: MediaServer;
}

/** How a connect ended. */
export type ConnectOutcome =
  | { kind: 'connected'; session: InviteSession; point: ParkPoint; via: string | undefined }
  | { kind: 'failed'; failure: AttemptFailure };

/** The calling number the agent's device sees for the connection itself. */
const PARK_CALLER = 'park';

const CANCELLED: ConnectOutcome = { kind: 'failed', failure: { kind: 'unreachable', reason: 'cancelled' } };

/** One attempt to connect `dn`'s agent and park the dialog. */
export class AgentConnect {
  private cancelled = false;
  private stop: (() => void) | undefined;

  constructor(
    private readonly deps: AgentConnectDeps,
    private readonly dn: string,
    /** The connection's `o=` keeper (RFC 3264 §8). */
    private readonly origin: SdpOriginKeeper,
    private readonly ringTimeoutMs: number | undefined,
  ) {}

  /** Dial; resolves once connected and parked, or failed (CANCEL included). */
  async run(): Promise<ConnectOutcome> {
    const { ua, reachability, directory, logger } = this.deps;
    const flow1 = usesMakeCallFlow1(directory, this.dn);
    const point = await ParkPoint.open(this.deps.media, `park ${this.dn}`, logger);
    const offer = flow1 ? undefined : this.origin.adapt(await point.offer());
    if (this.cancelled) {
      point.close();
      return CANCELLED;
    }
    return new Promise<ConnectOutcome>((resolve) => {
      const attempt = new OutboundAttempt(
        ua,
        reachability,
        {
          targets: reachability.candidates(this.dn),
          fromUser: PARK_CALLER,
          offer,
          ringTimeoutMs: this.ringTimeoutMs,
          tryingTimeoutMs: (t) => tryingTimeoutOf(directory, this.dn, t.via),
        },
        {
          onAnswered: (session, r, ackAnswer) => {
            this.stop = undefined;
            const via = attempt.current?.via;
            runDetached(
              logger,
              'nailed-up connect',
              () =>
                this.answered(r, point, ackAnswer).then((f) =>
                  resolve(f ?? { kind: 'connected', session, point, via }),
                ),
              (err) => {
                point.close();
                if (session.active) runDetached(logger, 'nailed-up BYE', () => session.bye());
                resolve({ kind: 'failed', failure: { kind: 'unreachable', reason: String(err) } });
              },
            );
          },
          onFailed: (failure) => {
            this.stop = undefined;
            point.close();
            resolve({ kind: 'failed', failure });
          },
        },
      );
      this.stop = () => {
        this.stop = undefined;
        attempt.cancel();
        point.close();
        resolve(CANCELLED);
      };
      attempt.start();
    });
  }

  /** Stop ringing the agent (CANCEL); nothing once the agent answered. */
  cancel(): void {
    this.cancelled = true;
    this.stop?.();
  }

  /** Answer the agent's offer in the ACK (Flow I) or take its answer; a failure when its offer is unusable. */
  private async answered(
    r: SipResponse,
    point: ParkPoint,
    ackAnswer: ((answer: string | Buffer) => void) | undefined,
  ): Promise<ConnectOutcome | undefined> {
    if (!ackAnswer) {
      await point.acceptAnswer(r.body);
      return undefined;
    }
    try {
      ackAnswer(this.origin.adapt(await point.answer(r.body)));
      return undefined;
    } catch (err) {
      ackAnswer(refuseOffer(r.body));
      throw err;
    }
  }
}
