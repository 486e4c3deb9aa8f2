/**
 * Small helpers over route-set entries (RFC 3261 §12.1, §16.12.1.2, §20.30, §20.34).
 *
 * A route-set entry is kept exactly as the Record-Route value was written (`<sip:p1;lr>` with
 * any header parameters), because RFC 3261 §12.2.1.1 asks us to copy it into Route unchanged.
 */

/** The URI inside a `name-addr` (`"x" <sip:…>;p=1` → `sip:…`). Record-Route/Route are always name-addr (RFC 3261 §20.30). */
export function uriOfNameAddr(value: string): string {
  const lt = value.indexOf('<');
  if (lt >= 0) {
    const gt = value.indexOf('>', lt + 1);
    return (gt > lt ? value.slice(lt + 1, gt) : value.slice(lt + 1)).trim();
  }
  // addr-spec without brackets: parameters after ';' belong to the header, not the URI.
  const semi = value.indexOf(';');
  return (semi >= 0 ? value.slice(0, semi) : value).trim();
}

/** Parameters of a SIP URI (names lower-cased), taken after the host part and before `?headers`. */
export function uriParams(uri: string): Map<string, string | null> {
  const noHeaders = uri.split('?')[0] ?? '';
  const at = noHeaders.lastIndexOf('@');
  const hostPart = at >= 0 ? noHeaders.slice(at + 1) : noHeaders.slice(noHeaders.indexOf(':') + 1);
  const out = new Map<string, string | null>();
  const pieces = hostPart.split(';').slice(1);
  for (const p of pieces) {
    const eq = p.indexOf('=');
    if (eq < 0) out.set(p.trim().toLowerCase(), null);
    else out.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  return out;
}

/** True when a route URI carries `lr`: the element is a loose router (RFC 3261 §16.12.1.2, §19.1.1). */
export function isLooseRoute(routeValue: string): boolean {
  return uriParams(uriOfNameAddr(routeValue)).has('lr');
}

/**
 * Strip the parameters that RFC 3261 §19.1.1 (table, "R-URI" column) forbids in a Request-URI:
 * `method`, `maddr`, `ttl`, `transport`, `lr` stay allowed except headers. We only remove the
 * `?headers` part, which must never be in a Request-URI (RFC 3261 §19.1.5).
 */
export function requestUriFromRoute(routeValue: string): string {
  const uri = uriOfNameAddr(routeValue);
  const q = uri.indexOf('?');
  return q >= 0 ? uri.slice(0, q) : uri;
}
