/**
 * A small admin-API client for the browser (docs/admin-api.md): the bearer token on every
 * request, addresses relative to the page (web/src/shared/urls.ts), errors as {@link ApiError}
 * with the server's problems, and the live stream `GET /api/events` read with `fetch`.
 */
import { apiUrl } from './urls';
import { readSse, type SseEvent } from './sse-parser';

/** One problem of a 4xx answer (`{ errors: [{ index, message }] }` or `{ error }`). */
export interface ApiProblem {
  index: number;
  message: string;
}

/** A failed request: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problems: ApiProblem[],
    /** The answer's body, when it was JSON. */
    readonly body: unknown,
  ) {
    super(problems.map((p) => p.message).join('; ') || `HTTP ${status}`);
  }
}

/** Reads the problems out of an error body. */
function problemsOf(body: unknown): ApiProblem[] {
  const b = body as { errors?: ApiProblem[]; error?: string } | undefined;
  if (Array.isArray(b?.errors)) return b.errors;
  if (typeof b?.error === 'string') return [{ index: -1, message: b.error }];
  return [];
}

/** The admin API as one token sees it. */
export class AdminApi {
  constructor(
    private readonly token: string,
    private readonly base: string = document.baseURI,
  ) {}

  /** `GET path` (relative, e.g. `api/dns?q=8`), the JSON answer. */
  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** `POST path` with a JSON body, the JSON answer. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /**
   * Opens `GET api/events` and calls `onEvent` for each event until the stream ends (resolves)
   * or fails (rejects with an {@link ApiError}; status 0 for a network failure or a drop).
   */
  async stream(onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
    let res: Response;
    try {
      res = await fetch(apiUrl('api/events', this.base), { headers: this.headers(), signal, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, [{ index: -1, message: `server unreachable (${String(e)})` }], undefined);
    }
    if (!res.ok || !res.body) throw await this.failure(res);
    try {
      await readSse(res.body, onEvent);
    } catch (e) {
      if (signal.aborted) return;
      throw new ApiError(0, [{ index: -1, message: `connection lost (${String(e)})` }], undefined);
    }
  }

  private headers(json = false): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(apiUrl(path, this.base), {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      throw new ApiError(0, [{ index: -1, message: `server unreachable (${String(e)})` }], undefined);
    }
    if (!res.ok) throw await this.failure(res);
    return (await res.json()) as T;
  }

  private async failure(res: Response): Promise<ApiError> {
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    return new ApiError(res.status, problemsOf(body), body);
  }
}
