/**
 * Keeps the console's {@link LiveState} from `GET /api/events`: connects, applies the snapshot
 * and the deltas as they come, and reconnects by itself after a drop (a new snapshot, so
 * nothing is lost). A 401 stops it: the token is no longer valid.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type AdminApi } from '../shared/api-client';
import type { LiveEvents } from '../../../src/api/admin/live-types';
import { applyDelta, fromSnapshot, type LiveState } from './live-state';

/** The connection as the header shows it. */
export type Connection =
  { kind: 'connecting' } | { kind: 'live'; since: number } | { kind: 'retrying'; reason: string; inSeconds: number };

/** Delays between reconnection attempts (s); the last one repeats. */
const RETRY_SECONDS = [1, 2, 5, 10];

/** The live state (undefined until the first snapshot) and the connection. */
export function useLive(api: AdminApi, onUnauthorized: () => void): { state?: LiveState; connection: Connection } {
  const [state, setState] = useState<LiveState>();
  const [connection, setConnection] = useState<Connection>({ kind: 'connecting' });

  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = (): void => {
      setConnection({ kind: 'connecting' });
      api
        .stream((e) => {
          const now = Date.now();
          if (e.event === 'snapshot') {
            attempt = 0;
            setState(fromSnapshot(JSON.parse(e.data) as LiveEvents['snapshot'], now));
            setConnection({ kind: 'live', since: now });
          } else {
            const event = e.event as Exclude<keyof LiveEvents, 'snapshot'>;
            const data = JSON.parse(e.data) as LiveEvents[typeof event];
            setState((st) => (st ? applyDelta(st, event, data, now) : st));
          }
        }, abort.signal)
        .then(
          () => retry('the server closed the stream'),
          (err: unknown) => {
            if (err instanceof ApiError && err.status === 401) onUnauthorized();
            else retry(err instanceof Error ? err.message : String(err));
          },
        );
    };
    const retry = (reason: string): void => {
      if (abort.signal.aborted) return;
      const inSeconds = RETRY_SECONDS[Math.min(attempt++, RETRY_SECONDS.length - 1)];
      setConnection({ kind: 'retrying', reason, inSeconds });
      timer = setTimeout(connect, inSeconds * 1000);
    };
    connect();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [api, onUnauthorized]);

  return { state, connection };
}
