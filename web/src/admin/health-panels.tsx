/** The softswitches' health (with each one's in/out-of-service timeline) and the server's load. */
import type { LiveState } from './live-state';
import { HEALTH_LABEL, clock } from './format';

/** A coloured health mark with its text label (colour is never the only cue). */
export function Health({ state }: { state: string }) {
  return (
    <span class={`health health-${state}`}>
      <span class="dot" aria-hidden="true" />
      {HEALTH_LABEL[state] ?? state}
    </span>
  );
}

/** The "Softswitches" table: the probed devices, their last probe and their recent transitions. */
export function SoftswitchesPanel({ state }: { state: LiveState }) {
  const devices = [...state.devices.values()].sort((a, b) => a.dn.localeCompare(b.dn));
  return (
    <section class="panel" aria-labelledby="softswitches-title">
      <h2 id="softswitches-title">Softswitches</h2>
      <table aria-label="Softswitches">
        <thead>
          <tr>
            <th scope="col">DN</th>
            <th scope="col">Health</th>
            <th scope="col">Last probe</th>
            <th scope="col">Timeline (latest last)</th>
          </tr>
        </thead>
        <tbody>
          {devices.length === 0 && (
            <tr>
              <td colSpan={4} class="empty">
                No probed device (a DN with a static contact and oos-check above 0).
              </td>
            </tr>
          )}
          {devices.map((d) => (
            <tr key={d.dn}>
              <th scope="row">{d.dn}</th>
              <td>
                <Health state={d.state} />
                {d.reason && <div class="muted">{d.reason}</div>}
              </td>
              <td>{clock(d.lastProbe)}</td>
              <td>
                <ol class="timeline" aria-label={`${d.dn} transitions`}>
                  {(state.deviceHistory.get(d.dn) ?? []).slice(-8).map((t, i) => (
                    <li key={i} title={t.reason ?? ''}>
                      <Health state={t.state} /> <time dateTime={t.time}>{clock(t.time)}</time>
                    </li>
                  ))}
                </ol>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** CPU, event-loop lag and the configuration queue, refreshed every second by the stream. */
export function LoadPanel({ state }: { state: LiveState }) {
  const { load, config, callCounts } = state;
  return (
    <section class="panel" aria-labelledby="load-title">
      <h2 id="load-title">Load</h2>
      <dl class="figures">
        <dt>CPU</dt>
        <dd>
          {load.cpuPercent.toFixed(1)} % <span class="muted">of one core ({load.cpuCount} cores)</span>
        </dd>
        <dt>Event-loop lag</dt>
        <dd>
          {load.eventLoopLagMs.toFixed(1)} ms <span class="muted">(max {load.eventLoopLagMaxMs.toFixed(1)} ms)</span>
        </dd>
        <dt>Calls</dt>
        <dd>
          {callCounts.active} active, {callCounts.waiting} waiting
        </dd>
        <dt>Configuration</dt>
        <dd>
          version {config.version}, queue {config.queueDepth}
          {config.applying ? ', applying' : ''}
        </dd>
        <dt>Last apply</dt>
        <dd>
          {config.lastApplyMs.toFixed(1)} ms{' '}
          <span class="muted">
            (longest turn {config.lastApplyLongestTurnMs.toFixed(1)} ms; {config.appliedChangeSets} since start)
          </span>
        </dd>
      </dl>
    </section>
  );
}

/** The nodes of the cluster (docs/cluster.md): alive or not, their addresses and the agents they own. */
export function ClusterPanel({ state }: { state: LiveState }) {
  const c = state.cluster;
  if (!c) return null;
  return (
    <section class="panel" aria-labelledby="cluster-title">
      <h2 id="cluster-title">Cluster</h2>
      <p class="muted">
        {c.mode === 'single' ? 'A single server (started without --redis).' : `This console is served by ${c.self}.`}
      </p>
      <table aria-label="Cluster nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col">SIP</th>
            <th scope="col">HTTP</th>
            <th scope="col">Agents</th>
          </tr>
        </thead>
        <tbody>
          {c.nodes.map((n) => (
            <tr key={n.name}>
              <th scope="row">
                {n.name}
                {n.self && <span class="muted"> (this one)</span>}
              </th>
              <td>
                <Health state={n.alive ? 'alive' : 'dead'} />
                {!n.alive && <div class="muted">its agents move to a live node</div>}
              </td>
              <td>{(n.sip ?? []).join(' ')}</td>
              <td>{n.http ?? ''}</td>
              <td>{n.agents}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
