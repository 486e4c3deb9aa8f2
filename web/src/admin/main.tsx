/**
 * The admin console (docs/admin-console.md), served at `/admin`: the admin token, then the
 * server's live state from `GET /api/events` and the DN editor.
 */
import { render } from 'preact';
import { useCallback, useMemo, useState } from 'preact/hooks';
import '../shared/base.css';
import './admin.css';
import { AdminApi } from '../shared/api-client';
import { TokenForm } from './token-form';
import { Console } from './console';

const TOKEN_KEY = 'sipserver.admin-token';

function App() {
  const [token, setToken] = useState<string | undefined>(() => sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  const [notice, setNotice] = useState<string>();
  const api = useMemo(() => (token ? new AdminApi(token) : undefined), [token]);
  const forget = useCallback((why?: string) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(undefined);
    setNotice(why);
  }, []);
  const onUnauthorized = useCallback(
    () => forget('The server no longer accepts this admin token: enter it again.'),
    [forget],
  );

  if (!api)
    return (
      <TokenForm
        notice={notice}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  return <Console api={api} onUnauthorized={onUnauthorized} onSignOut={() => forget()} />;
}

render(<App />, document.getElementById('app')!);
