/** The console's sign-in: the admin token, checked against the server before it is kept. */
import { useState } from 'preact/hooks';
import { AdminApi, ApiError } from '../shared/api-client';

/** Props of {@link TokenForm}. */
export interface TokenFormProps {
  /** Why the form is shown again (e.g. the token stopped working). */
  notice?: string;
  onToken: (token: string) => void;
}

/** Asks for the admin token; a wrong token or an unreachable server says so. */
export function TokenForm({ notice, onToken }: TokenFormProps) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter the admin token (server.http.admin-token, SIPSERVER_TOKEN or DATA/admin-token).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await new AdminApi(t).get('api/status?sections=config');
      onToken(t);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError('Wrong admin token: the server refused it.');
      else if (err instanceof ApiError && err.status === 0) setError(`Server unreachable: ${err.message}.`);
      else setError(`The server answered an error: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>Admin console</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="signin-help">
        <p id="signin-help">Enter the server's admin token. It is kept for this browser tab only (session storage).</p>
        {notice && !error && <p class="notice">{notice}</p>}
        <label for="admin-token">Admin token</label>
        <input
          id="admin-token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? 'true' : undefined}
          aria-errormessage={error ? 'signin-error' : undefined}
          autoFocus
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Open console'}
        </button>
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
