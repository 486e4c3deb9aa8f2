import type { TransportAddress } from '../sip/message/types.js';
import type { SipStack } from '../sip/stack/sip-stack.js';
import type { Logger } from '../util/logger.js';
import type { OptionsResult, OptionsSender } from './options-sender.js';

/**
 * The real {@link OptionsSender}: an OPTIONS in its own non-INVITE client transaction over the
 * SIP stack (behaviour §5.1 probe message; RFC 3261 §11, §17.1.2). The transaction's own Timer F
 * bounds it; the prober's `oos-force` deadline is usually shorter.
 */
export class StackOptionsSender implements OptionsSender {
  constructor(
    private readonly stack: Pick<SipStack, 'createRequest' | 'sendRequest' | 'contactFor'>,
    private readonly logger: Logger,
    /** `oos-options-max-forwards` (default 70). */
    private readonly maxForwards = 70,
  ) {}

  send(
    uri: string,
    dest: TransportAddress,
    _timeoutMs: number,
    maxForwards = this.maxForwards,
  ): Promise<OptionsResult> {
    return new Promise<OptionsResult>((resolve) => {
      let done = false;
      const finish = (r: OptionsResult): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      try {
        const req = this.stack.createRequest({
          method: 'OPTIONS',
          uri,
          to: `<${uri}>`,
          contact: this.stack.contactFor(dest),
          maxForwards,
          headers: [['Accept', 'application/sdp']],
        });
        this.stack.sendRequest(req, dest, {
          onFinal: (res) => finish({ kind: 'final', status: res.status }),
          onTimeout: () => finish({ kind: 'timeout' }),
          onTransportError: (err) => finish({ kind: 'transport-error', error: err.message }),
        });
      } catch (err) {
        this.logger.debug({ err, uri }, 'OPTIONS probe could not be sent');
        finish({ kind: 'transport-error', error: err instanceof Error ? err.message : String(err) });
      }
    });
  }
}
