/**
 * The agent desktop's session: logs in over one {@link CtiClient} (RequestOpen →
 * RequestRegisterAddress → RequestAgentLogin → RequestQueryAddress), turns the DN's events into
 * the {@link DeskModel}, sends the agent's requests, and after a network drop re-opens the
 * session (RequestOpen, RequestRegisterAddress, RequestQueryAddress) while showing
 * `reconnecting`: the server keeps the login for `agent-desktop-grace` seconds.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { CtiAddressInfoWireEvent, CtiServerEvent } from '../../../src/api/cti/cti-wire-types.js';
import { CtiClient, CtiRequestError, type CtiConnectionState } from '../shared/cti-client.js';
import { describeCtiError } from '../shared/cti-errors.js';
import { ctiUrl } from '../shared/urls.js';
import { applyEvent, EMPTY_MODEL, type DeskModel } from './desk-model.js';
import { rememberPhone } from './phone-history.js';

/** What the agent types in the login form. */
export interface LoginInput {
  readonly agentId: string;
  readonly password: string;
  readonly place: string;
  /** Optional: becomes `extensions['agent-phone']`. */
  readonly phone: string;
  readonly workMode: 'AutoIn' | 'ManualIn';
}

/** The logged-in session (kept to re-open it after a drop). */
export interface DeskSession {
  readonly agentId: string;
  readonly password: string;
  /** The DN, as the server normalised it. */
  readonly thisDN: string;
  /** The agent-phone the server bound, when any. */
  readonly agentPhone?: string;
}

/** The desktop's state and actions. */
export interface Desk {
  readonly model: DeskModel;
  readonly session: DeskSession | undefined;
  readonly connection: CtiConnectionState | 'idle';
  /** Why the last login failed, or why the session ended. */
  readonly loginError: string | undefined;
  /** Why the last agent or call request failed. */
  readonly actionError: string | undefined;
  readonly loggingIn: boolean;
  login(input: LoginInput): Promise<void>;
  /** Sends an agent or call request for the DN (`thisDN` added); failures land in `actionError`. */
  act(request: string, attributes?: Record<string, unknown>): Promise<boolean>;
  logout(): Promise<void>;
}

/** The desktop session hook (one per page). */
export function useDesk(): Desk {
  const [model, setModel] = useState<DeskModel>(EMPTY_MODEL);
  const [session, setSession] = useState<DeskSession | undefined>();
  const [connection, setConnection] = useState<CtiConnectionState | 'idle'>('idle');
  const [loginError, setLoginError] = useState<string | undefined>();
  const [actionError, setActionError] = useState<string | undefined>();
  const [loggingIn, setLoggingIn] = useState(false);
  const client = useRef<CtiClient | undefined>();
  const sessionRef = useRef<DeskSession | undefined>();

  const end = useCallback((why: string | undefined) => {
    client.current?.close();
    client.current = undefined;
    sessionRef.current = undefined;
    setSession(undefined);
    setConnection('idle');
    setLoginError(why);
  }, []);

  const onEvent = useCallback(
    (e: CtiServerEvent) => {
      const dn = sessionRef.current?.thisDN;
      if ('thisDN' in e && dn !== undefined && e.thisDN !== dn) return;
      setModel((m) => applyEvent(m, e, Date.now()));
      if (e.event === 'EventAgentLogout' && sessionRef.current && e.referenceId === undefined) {
        end('You were logged out by the server.');
      }
    },
    [end],
  );

  const reopen = useCallback(async () => {
    const s = sessionRef.current;
    const c = client.current;
    if (!s || !c) throw new Error('no session');
    try {
      await c.request('RequestOpen', { agentId: s.agentId, password: s.password });
      await c.request('RequestRegisterAddress', { thisDN: s.thisDN });
      const info = (await c.request('RequestQueryAddress', { thisDN: s.thisDN })) as CtiAddressInfoWireEvent;
      if (info.agentState === 'LoggedOut' || info.agentId !== s.agentId) {
        end('You were logged out while the connection was down.');
      }
    } catch (err) {
      // Refused (not a network failure): retrying will not help.
      if (err instanceof CtiRequestError && err.code !== 0) end(describeCtiError(err));
      throw err;
    }
  }, [end]);

  const login = useCallback(
    async (input: LoginInput) => {
      setLoginError(undefined);
      setActionError(undefined);
      setLoggingIn(true);
      setModel(EMPTY_MODEL);
      const c = new CtiClient({ url: ctiUrl(), onEvent, onState: setConnection, onReconnected: reopen });
      client.current = c;
      try {
        await c.connect();
      } catch {
        client.current = undefined;
        setConnection('idle');
        setLoginError('Server unreachable: check the network connection and try again.');
        setLoggingIn(false);
        return;
      }
      try {
        await c.request('RequestOpen', { agentId: input.agentId, password: input.password });
        const reg = await c.request('RequestRegisterAddress', { thisDN: input.place });
        const thisDN = ('thisDN' in reg ? reg.thisDN : undefined) ?? input.place;
        const base: DeskSession = { agentId: input.agentId, password: input.password, thisDN };
        sessionRef.current = base;
        const phone = input.phone.trim();
        const ans = await c.request('RequestAgentLogin', {
          thisDN,
          agentId: input.agentId,
          workMode: input.workMode,
          ...(phone ? { extensions: { 'agent-phone': phone } } : {}),
        });
        const bound = ans.event === 'EventAgentLogin' ? ans.extensions?.['agent-phone'] : undefined;
        const s: DeskSession = { ...base, ...(bound !== undefined ? { agentPhone: bound } : {}) };
        sessionRef.current = s;
        await c.request('RequestQueryAddress', { thisDN });
        if (phone) rememberPhone(input.agentId, phone);
        setSession(s);
      } catch (err) {
        sessionRef.current = undefined;
        c.close();
        client.current = undefined;
        setConnection('idle');
        setLoginError(describeCtiError(err));
      } finally {
        setLoggingIn(false);
      }
    },
    [onEvent, reopen],
  );

  const act = useCallback(async (request: string, attributes: Record<string, unknown> = {}) => {
    const c = client.current;
    const s = sessionRef.current;
    if (!c || !s) return false;
    setActionError(undefined);
    try {
      await c.request(request, { thisDN: s.thisDN, ...attributes });
      return true;
    } catch (err) {
      setActionError(describeCtiError(err));
      return false;
    }
  }, []);

  const logout = useCallback(async () => {
    if (await act('RequestAgentLogout')) end(undefined);
  }, [act, end]);

  useEffect(() => () => client.current?.close(), []);

  return { model, session, connection, loginError, actionError, loggingIn, login, act, logout };
}
