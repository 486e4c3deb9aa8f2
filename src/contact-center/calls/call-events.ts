/**
 * The T-Library call events of call control (behaviour §8.3, §11.2, interfaces §4): every step
 * of a call is published on the DN of each internal party it concerns; external parties get
 * none. Each event also tells the journal that the call's parties may have changed.
 */
import type { CallEventName, ContactCenterEventBus, EventOrigin } from '../events.js';
import { CallState, type Call } from './call.js';
import type { CallJournal } from './call-journal.js';
import type { CallLeg } from './call-leg.js';

/** Publishes call events on the contact-center bus. */
export class CallEvents {
  constructor(
    private readonly bus: ContactCenterEventBus,
    private readonly journal: CallJournal,
  ) {}

  /** Publish a call event on `leg`'s DN (external parties get none). */
  emit(
    name: CallEventName,
    call: Call,
    leg: CallLeg,
    otherDN?: string,
    origin?: EventOrigin,
    extra?: { transferConnId?: string },
  ): void {
    this.journal.changed(call); // parties may have changed (answer, transfer, conference)
    if (!leg.dn) return;
    const other = otherDN ?? call.other(leg)?.address ?? call.legs.find((l) => l !== leg)?.address;
    this.bus.publish({
      kind: 'call',
      name,
      thisDN: leg.dn,
      connId: call.connId,
      otherDN: other,
      callType: call.callType,
      ani: call.ani,
      dnis: call.dnis,
      userData: call.userDataView,
      routed: leg.routed || undefined,
      origin,
      transferConnId: extra?.transferConnId,
    });
  }

  /** A dialled party rings: EventRinging on its DN, or EventNetworkReached on the calling DNs for an external party. */
  ringing(call: Call, leg: CallLeg, origin?: EventOrigin): void {
    if (leg.dn) this.emit('EventRinging', call, leg, undefined, origin);
    // The calling DN hears that the network (an external party) was reached.
    if (!leg.dn) {
      for (const other of call.others(leg))
        if (other.dn) this.emit('EventNetworkReached', call, other, leg.address, origin);
    }
  }

  /** Both legs are up: the call is established, EventEstablished on both parties. */
  established(call: Call, a: CallLeg, b: CallLeg, origin?: EventOrigin): void {
    call.state = CallState.Established;
    this.emit('EventEstablished', call, b, a.address, origin);
    this.emit('EventEstablished', call, a, b.address, origin);
  }
}
