/**
 * Addresses of the server's endpoints, relative to the page: the desktop is served at `<prefix>/`
 * and the console at `<prefix>/admin`, so `api/…` and `cti` resolve under the same prefix
 * (a reverse proxy may mount the server at any path).
 */

/** URL of an admin-API path (`api/status`, …) for the page at `base` (default the document). */
export function apiUrl(path: string, base: string = document.baseURI): string {
  return new URL(path.replace(/^\//, ''), base).toString();
}

/** `ws:`/`wss:` URL of the CTI WebSocket for the page at `base`. */
export function ctiUrl(base: string = document.baseURI): string {
  const u = new URL('cti', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
