/**
 * Admin API calls for tests that run the HTTP server in-process (`createHttpServer`): one
 * request, its status, headers and JSON body.
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
): Promise<AdminAnswer> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as unknown) : undefined };
}
