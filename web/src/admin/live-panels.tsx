/** The live tables: agents, registrations, active calls and the recent change-sets. */
import type { ComponentChildren } from 'preact';
import type { LiveState } from './live-state';
import { agentState, clock } from './format';

/** Rows shown at most in a live table (the rest is counted). */
const MAX_ROWS = 200;

/** A titled panel with one table named `name`, its column heads, and a line when it is empty. */
function TablePanel(props: { name: string; heads: string[]; empty: string; rows: ComponentChildren[]; more?: number }) {
  const id = `${props.name.toLowerCase().replace(/\W+/g, '-')}-title`;
  return (
    <section class="panel" aria-labelledby={id}>
      <h2 id={id}>{props.name}</h2>
      <div class="scroll">
        <table aria-label={props.name}>
          <thead>
            <tr>
              {props.heads.map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.rows.length === 0 ? (
              <tr>
                <td colSpan={props.heads.length} class="empty">
                  {props.empty}
                </td>
              </tr>
            ) : (
              props.rows
            )}
          </tbody>
        </table>
      </div>
      {props.more ? <p class="muted">and {props.more} more not shown</p> : null}
    </section>
  );
}

const STATE_ORDER = (s: string): number => (s === 'LoggedOut' ? 1 : 0);

/** The "Agents" table: logged-in agents first. */
export function AgentsPanel({ state }: { state: LiveState }) {
  const all = [...state.agents.values()].sort(
    (a, b) => STATE_ORDER(a.state) - STATE_ORDER(b.state) || a.id.localeCompare(b.id),
  );
  const rows = all.slice(0, MAX_ROWS).map((a) => (
    <tr key={a.id}>
      <th scope="row">{a.id}</th>
      <td>{a.dn}</td>
      <td>
        <span class={`agent-state state-${a.state}`}>{agentState(a.state)}</span>
      </td>
      <td>{a.reasonCode ?? ''}</td>
      <td>{a.agentPhone ?? ''}</td>
      <td>{a.workMode}</td>
    </tr>
  ));
  return (
    <TablePanel
      name="Agents"
      heads={['Agent', 'DN', 'State', 'Reason code', 'Agent phone', 'Work mode']}
      empty="No agent configured."
      rows={rows}
      more={all.length - rows.length}
    />
  );
}

/** The "Registrations" table. */
export function RegistrationsPanel({ state }: { state: LiveState }) {
  const all = [...state.registrations.values()].flat().sort((a, b) => a.dn.localeCompare(b.dn));
  const rows = all.slice(0, MAX_ROWS).map((r) => (
    <tr key={`${r.dn} ${r.contact}`}>
      <th scope="row">{r.dn}</th>
      <td class="wrap">{r.contact}</td>
      <td>{clock(r.expiresAt)}</td>
      <td>{r.source}</td>
      <td>{r.nat ? 'yes' : 'no'}</td>
      <td class="wrap">{r.userAgent ?? ''}</td>
    </tr>
  ));
  return (
    <TablePanel
      name="Registrations"
      heads={['DN', 'Contact', 'Expires at', 'Source', 'NAT', 'User agent']}
      empty="No phone registered."
      rows={rows}
      more={all.length - rows.length}
    />
  );
}

/** The "Active calls" table. */
export function CallsPanel({ state }: { state: LiveState }) {
  const all = [...state.calls.values()];
  const rows = all.slice(0, MAX_ROWS).map((c) => (
    <tr key={c.connId}>
      <th scope="row">
        <code>{c.connId}</code>
      </th>
      <td>{c.callType}</td>
      <td>{c.state}</td>
      <td>{c.parties.join(', ')}</td>
      <td>{c.ani ?? ''}</td>
      <td>{c.dnis ?? ''}</td>
      <td>{clock(c.start)}</td>
    </tr>
  ));
  return (
    <TablePanel
      name="Active calls"
      heads={['Call', 'Type', 'State', 'Parties', 'ANI', 'DNIS', 'Started']}
      empty="No call."
      rows={rows}
      more={all.length - rows.length}
    />
  );
}

/** The "Change-sets" table: the configuration's change feed, newest first. */
export function ChangeSetsPanel({ state }: { state: LiveState }) {
  const rows = [...state.changeSets].reverse().map((c) => (
    <tr key={c.version}>
      <th scope="row">{c.version}</th>
      <td>{clock(c.time)}</td>
      <td>{c.origin ?? ''}</td>
      <td>{c.size}</td>
      <td>
        {Object.entries(c.counts)
          .map(([k, n]) => `${n} × ${k}`)
          .join(', ')}
      </td>
      <td class="wrap">
        {c.firstKeys.join(', ')}
        {c.size > c.firstKeys.length ? ', …' : ''}
      </td>
    </tr>
  ));
  return (
    <TablePanel
      name="Change-sets"
      heads={['Version', 'Time', 'Origin', 'Changes', 'By kind', 'First keys']}
      empty="No change since the server started."
      rows={rows}
    />
  );
}
