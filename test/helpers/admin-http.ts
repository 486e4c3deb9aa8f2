/**
 * Admin API calls for tests (a server in-process or a process of its own): one request, its
 * status, headers and JSON body.
 */

/** One answer of the admin API. */
export interface AdminAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field in the assertions
  json: any;
}

/** Sends `method path` with `body` (JSON) and the bearer `token` to `baseUrl`. */
export async function adminRequest(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<AdminAnswer> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** `GET path` with the bearer `token` (at most 5 s): the JSON body of a 200, else throws with the status. */
export async function adminGet<T>(baseUrl: string, token: string, path: string): Promise<T> {
  const r = await adminRequest(baseUrl, token, 'GET', path, undefined, 5000);
  if (r.status !== 200) throw new Error(`GET ${baseUrl}${path}: ${r.status}`);
  return r.json as T;
}
