/**
 * rtpengine ng addresses (option `rtpengine-ng`). No imports: the option table validates values
 * with {@link parseNgAddress}, and the web console's TypeScript project reaches the option table.
 */

/** Where an rtpengine listens for ng (`udp:HOST:PORT` in options). */
export interface NgAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `udp:HOST:PORT`, `HOST:PORT` or `udp:[v6]:PORT`; throws a clear error for anything else
 * (only UDP: rtpengine's `--listen-ng`).
 */
export function parseNgAddress(text: string): NgAddress {
  const t = text.trim();
  const m = /^(?:udp:)?(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(t);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535)
    throw new Error(`"${t}" is not an rtpengine ng address such as udp:127.0.0.1:2223 (UDP only)`);
  return { host: m[1] ?? m[2]!, port };
}
