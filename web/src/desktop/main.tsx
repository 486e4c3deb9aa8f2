import { render } from 'preact';
import '../shared/base.css';
import './desktop.css';
import { AgentBar } from './AgentBar.js';
import { CallPanel } from './CallPanel.js';
import { EventLog } from './EventLog.js';
import { LoginForm } from './LoginForm.js';
import { useDesk } from './use-desk.js';

/** The agent desktop (docs/agent-desktop.md). */
function App() {
  const desk = useDesk();
  const s = desk.session;
  const online = desk.connection === 'open';
  return (
    <>
      <header class="top">
        <h1>Agent desktop</h1>
        {s && (
          <p class="who">
            <span>
              Agent <strong>{s.agentId}</strong>
            </span>
            <span>
              Place <strong>{s.thisDN}</strong>
            </span>
            {s.agentPhone && (
              <span>
                Phone <strong>{s.agentPhone}</strong>
              </span>
            )}
          </p>
        )}
      </header>
      {desk.connection === 'reconnecting' && (
        <p class="banner" role="alert">
          Reconnecting… The connection to the server was lost; your login is kept meanwhile.
        </p>
      )}
      <main>
        {!s ? (
          <LoginForm onLogin={(i) => void desk.login(i)} busy={desk.loggingIn} error={desk.loginError} />
        ) : (
          <div class="desk">
            <div class="col">
              <AgentBar agent={desk.model.agent} act={desk.act} onLogout={() => void desk.logout()} online={online} />
              {desk.actionError && (
                <p class="error" role="alert">
                  {desk.actionError}
                </p>
              )}
              <CallPanel calls={desk.model.calls} act={desk.act} online={online} canAnswer={!s.agentPhone} />
            </div>
            <EventLog entries={desk.model.log} />
          </div>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
