/** Shared part of the dialog tests' fake stacks: ACKs recorded, CANCEL ignored, a fixed Contact. */
import type { DialogStackPort, SentRequest } from '../../../../src/sip/dialog/dialog-stack-port.js';
import type { SipRequest, TransportAddress } from '../../../../src/sip/message/types.js';
import type { ClientTransactionUser } from '../../../../src/sip/transaction/transaction-types.js';

/** A {@link DialogStackPort} that records the ACKs it is given; subclasses decide what sending a request does. */
export abstract class AckRecordingStack implements DialogStackPort {
  readonly acks: SipRequest[] = [];
  abstract sendRequest(request: SipRequest, dest: TransportAddress, user: ClientTransactionUser): SentRequest;
  sendCancel(): void {}
  sendAck(ack: SipRequest): void {
    this.acks.push(ack);
  }
  localContact(): string {
    return '<sip:sipserver@127.0.0.1:5060>';
  }
}
