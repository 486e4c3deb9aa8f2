import { useState } from 'preact/hooks';
import type { AgentView } from './desk-model.js';

/** Reason codes offered for Not Ready; any other text may be typed. */
export const COMMON_REASONS = ['Break', 'Lunch', 'Meeting', 'Training', 'Coaching', 'Personal'] as const;

/** Props of {@link AgentBar}. */
export interface AgentBarProps {
  readonly agent: AgentView;
  readonly act: (request: string, attributes?: Record<string, unknown>) => Promise<boolean>;
  readonly onLogout: () => void;
  /** False while the connection is down: requests cannot be sent. */
  readonly online: boolean;
}

/** The agent's state (role `status`) and the buttons that change it. */
export function AgentBar({ agent, act, onLogout, online }: AgentBarProps) {
  const [reason, setReason] = useState('');
  const isReady = agent.label === 'Ready';
  const isAcw = agent.workMode === 'AfterCallWork' && !isReady;

  const notReady = (ev: Event) => {
    ev.preventDefault();
    const r = reason.trim();
    void act('RequestAgentNotReady', { workMode: 'AuxWork', ...(r ? { reasonCode: r } : {}) });
  };

  return (
    <section class="panel agent" aria-labelledby="agent-title">
      <h2 id="agent-title">State</h2>
      <p class={`state state-${agent.label.split(' ')[0]!.toLowerCase()}`} role="status" aria-live="polite">
        {agent.label}
      </p>
      <div class="actions">
        <button type="button" class="ok" disabled={!online || isReady} onClick={() => void act('RequestAgentReady')}>
          Ready
        </button>
        <button
          type="button"
          disabled={!online || isAcw}
          onClick={() => void act('RequestAgentNotReady', { workMode: 'AfterCallWork' })}
        >
          After Call Work
        </button>
        <button type="button" class="danger" disabled={!online} onClick={onLogout}>
          Log out
        </button>
      </div>
      <form class="not-ready" onSubmit={notReady}>
        <label>
          Reason
          <input
            list="reason-codes"
            value={reason}
            placeholder="e.g. Break"
            maxLength={64}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </label>
        <datalist id="reason-codes">
          {COMMON_REASONS.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
        <button type="submit" class="warn" disabled={!online}>
          Not Ready
        </button>
      </form>
    </section>
  );
}
