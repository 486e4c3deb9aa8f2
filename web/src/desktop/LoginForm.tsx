import { useState } from 'preact/hooks';
import type { LoginInput } from './use-desk.js';
import { recentPhones } from './phone-history.js';

/** Props of {@link LoginForm}. */
export interface LoginFormProps {
  readonly onLogin: (input: LoginInput) => void;
  readonly busy: boolean;
  /** Why the last login failed or the session ended, shown next to the form. */
  readonly error: string | undefined;
}

/**
 * The login form: Agent ID, Password, Place (the DN), an optional Phone number (a home agent's
 * `agent-phone`) with the numbers this agent used lately offered as buttons, and the work mode.
 */
export function LoginForm({ onLogin, busy, error }: LoginFormProps) {
  const [agentId, setAgentId] = useState('');
  const [password, setPassword] = useState('');
  const [place, setPlace] = useState('');
  const [phone, setPhone] = useState('');
  const [workMode, setWorkMode] = useState<LoginInput['workMode']>('ManualIn');
  const recent = recentPhones(agentId.trim());

  const submit = (ev: Event) => {
    ev.preventDefault();
    onLogin({ agentId: agentId.trim(), password, place: place.trim(), phone: phone.trim(), workMode });
  };

  return (
    <form class="login panel" onSubmit={submit} aria-labelledby="login-title">
      <h2 id="login-title">Log in</h2>
      <label>
        Agent ID
        <input
          name="agentId"
          autoComplete="username"
          required
          value={agentId}
          onInput={(e) => setAgentId(e.currentTarget.value)}
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <label>
        Place
        <input name="place" required inputMode="tel" value={place} onInput={(e) => setPlace(e.currentTarget.value)} />
      </label>
      <label>
        Phone number
        <input
          name="phone"
          type="tel"
          autoComplete="tel"
          aria-describedby="phone-help"
          value={phone}
          onInput={(e) => setPhone(e.currentTarget.value)}
        />
      </label>
      <p id="phone-help" class="help">
        Optional: the number where you take calls (working from home). Leave empty to use your desk phone.
      </p>
      {recent.length > 0 && (
        <div class="recent" role="group" aria-label="Numbers used lately">
          {recent.map((n) => (
            <button type="button" key={n} class="chip" onClick={() => setPhone(n)} aria-label={`Use ${n}`}>
              {n}
            </button>
          ))}
        </div>
      )}
      <label>
        Work mode
        <select value={workMode} onChange={(e) => setWorkMode(e.currentTarget.value as LoginInput['workMode'])}>
          <option value="ManualIn">Manual-in: After Call Work after each call</option>
          <option value="AutoIn">Auto-in: Ready again after each call</option>
        </select>
      </label>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
