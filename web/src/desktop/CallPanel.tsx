import { useEffect, useState } from 'preact/hooks';
import type { CallView } from './desk-model.js';

/** Props of {@link CallPanel}. */
export interface CallPanelProps {
  readonly calls: readonly CallView[];
  readonly act: (request: string, attributes?: Record<string, unknown>) => Promise<boolean>;
  /** False while the connection is down. */
  readonly online: boolean;
  /**
   * The agent takes calls on a phone the server cannot answer remotely (a home agent's
   * agent-phone on the PSTN, behaviour §9): no Answer button.
   */
  readonly canAnswer: boolean;
}

/** `Date.now()`, refreshed every second while `active` (the call timers). */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  return `${mm}:${String(s % 60).padStart(2, '0')}`;
}

/** Every call of the DN, and Make call. */
export function CallPanel({ calls, act, online, canAnswer }: CallPanelProps) {
  const [number, setNumber] = useState('');
  const now = useNow(calls.length > 0);
  const consult = calls.find((c) => c.callType === 'Consult');
  const main = consult ? calls.find((c) => c !== consult && c.state === 'Held') : undefined;

  const makeCall = (ev: Event) => {
    ev.preventDefault();
    const n = number.trim();
    if (n) void act('RequestMakeCall', { otherDN: n }).then((ok) => ok && setNumber(''));
  };

  return (
    <section class="panel calls" aria-labelledby="calls-title">
      <h2 id="calls-title">Calls</h2>
      <form class="inline" onSubmit={makeCall}>
        <label>
          Number to call
          <input type="tel" value={number} onInput={(e) => setNumber(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={!online || !number.trim()}>
          Make call
        </button>
      </form>
      {calls.length === 0 ? (
        <p class="muted">No call.</p>
      ) : (
        <ul class="call-list">
          {calls.map((c) => (
            <li key={c.connId}>
              <CallCard
                call={c}
                now={now}
                act={act}
                online={online}
                canAnswer={canAnswer}
                consultOf={c === consult ? main : undefined}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

interface CallCardProps {
  readonly call: CallView;
  readonly now: number;
  readonly act: CallPanelProps['act'];
  readonly online: boolean;
  readonly canAnswer: boolean;
  /** For a consultation: the held call it may be transferred into. */
  readonly consultOf: CallView | undefined;
}

function CallCard({ call, now, act, online, canAnswer, consultOf }: CallCardProps) {
  const [target, setTarget] = useState('');
  const conn = { connId: call.connId };
  const party = call.otherDN || call.ani || 'unknown';
  const est = call.state === 'Established';
  const to = target.trim();
  const data = Object.entries(call.userData);

  const transfer = (ev: Event) => {
    ev.preventDefault();
    if (to) void act('RequestSingleStepTransfer', { ...conn, otherDN: to });
  };

  return (
    <article class={`call call-${call.state.toLowerCase()}`} aria-label={`Call with ${party}`}>
      <header>
        <span class="call-state" data-conn-id={call.connId}>
          {call.state}
        </span>
        <strong>{party}</strong>
        <span class="timer" title="Time in this state">
          {duration(now - call.since)}
        </span>
      </header>
      <dl>
        <dt>From (ANI)</dt>
        <dd>{call.ani || '—'}</dd>
        <dt>Dialled (DNIS)</dt>
        <dd>{call.dnis || '—'}</dd>
        <dt>Type</dt>
        <dd>{call.callType}</dd>
        <dt>Call ID</dt>
        <dd>
          <code>{call.connId}</code>
        </dd>
      </dl>
      {data.length > 0 && (
        <table class="userdata">
          <caption>Attached data</caption>
          <tbody>
            {data.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="actions">
        {call.state === 'Ringing' && canAnswer && (
          <button type="button" class="ok" disabled={!online} onClick={() => void act('RequestAnswerCall', conn)}>
            Answer
          </button>
        )}
        <button type="button" class="danger" disabled={!online} onClick={() => void act('RequestReleaseCall', conn)}>
          Release
        </button>
        <button type="button" disabled={!online || !est} onClick={() => void act('RequestHoldCall', conn)}>
          Hold
        </button>
        <button
          type="button"
          disabled={!online || call.state !== 'Held'}
          onClick={() => void act('RequestRetrieveCall', conn)}
        >
          Retrieve
        </button>
        {consultOf && (
          <>
            <button
              type="button"
              class="primary"
              disabled={!online || !est}
              onClick={() =>
                void act('RequestCompleteTransfer', { connId: consultOf.connId, transferConnId: call.connId })
              }
            >
              Complete transfer
            </button>
            <button
              type="button"
              disabled={!online}
              onClick={() =>
                void act('RequestReconnectCall', { connId: consultOf.connId, transferConnId: call.connId })
              }
            >
              Reconnect
            </button>
          </>
        )}
      </div>
      {call.callType !== 'Consult' && (
        <form class="inline" onSubmit={transfer}>
          <label>
            Transfer to
            <input type="tel" value={target} onInput={(e) => setTarget(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={!online || !est || !to}>
            Transfer
          </button>
          <button
            type="button"
            disabled={!online || !est || !to}
            onClick={() => void act('RequestInitiateTransfer', { ...conn, otherDN: to })}
          >
            Consult
          </button>
        </form>
      )}
    </article>
  );
}
