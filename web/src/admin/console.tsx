/** The console once signed in: the connection, the live panels and the DNs. */
import type { AdminApi } from '../shared/api-client';
import { useLive, type Connection } from './use-live';
import { ClusterPanel, LoadPanel, SoftswitchesPanel } from './health-panels';
import { AgentsPanel, CallsPanel, ChangeSetsPanel, RegistrationsPanel } from './live-panels';
import { DnsPanel } from './dns-panel';
import { clock } from './format';

/** Props of {@link Console}. */
export interface ConsoleProps {
  api: AdminApi;
  onUnauthorized: () => void;
  onSignOut: () => void;
}

function connectionText(c: Connection): string {
  if (c.kind === 'live') return `Live since ${clock(c.since)}`;
  if (c.kind === 'connecting') return 'Connecting…';
  return `Connection lost (${c.reason}); reconnecting in ${c.inSeconds} s`;
}

/** The signed-in console. */
export function Console({ api, onUnauthorized, onSignOut }: ConsoleProps) {
  const { state, connection } = useLive(api, onUnauthorized);
  return (
    <>
      <header class="top">
        <h1>Admin console</h1>
        <p role="status" class={`connection connection-${connection.kind}`}>
          {connectionText(connection)}
        </p>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {state ? (
        <main class="grid">
          <SoftswitchesPanel state={state} />
          <LoadPanel state={state} />
          <AgentsPanel state={state} />
          <CallsPanel state={state} />
          <RegistrationsPanel state={state} />
          <ChangeSetsPanel state={state} />
          <ClusterPanel state={state} />
          <DnsPanel api={api} version={state.config.version} />
        </main>
      ) : (
        <main class="grid">
          <p class="muted">Waiting for the server's state…</p>
        </main>
      )}
    </>
  );
}
