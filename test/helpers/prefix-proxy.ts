/**
 * A reverse proxy that mounts a server under a path prefix, as nginx's
 * `location /prefix/ { proxy_pass http://backend/; }` does: `/prefix/x` is forwarded as `/x`,
 * WebSocket upgrades included; anything outside the prefix is 404. For the web UI's
 * "behind a path prefix" tests.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** A running proxy; `url` ends with the prefix and a slash. */
export interface PrefixProxy {
  readonly url: string;
  /**
   * A network drop: every open connection (WebSockets included) is cut at once, and new ones
   * wait, unanswered, until the returned `resume` is called.
   */
  interrupt(): () => void;
  /**
   * Stops every WebSocket connection made so far from carrying anything, either way, without
   * closing it (a network that vanished with no FIN); new connections work as usual.
   */
  freeze(): void;
  close(): Promise<void>;
}

function stripped(req: IncomingMessage, prefix: string): string | undefined {
  const url = req.url ?? '/';
  return url.startsWith(`${prefix}/`) ? url.slice(prefix.length) : undefined;
}

/** Starts a proxy on a free loopback port forwarding `prefix/…` to `target` (`http://host:port`). */
export async function startPrefixProxy(target: string, prefix: string): Promise<PrefixProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  /** While interrupted: the upgrades waiting for `resume`. */
  let held: Array<() => void> | undefined;
  /** The WebSocket connections (backend side, browser side), for {@link PrefixProxy.freeze}. */
  const tunnels = new Set<[Socket, Socket]>();
  const server: Server = createServer((req, res) => {
    const path = stripped(req, prefix);
    if (path === undefined) {
      res.writeHead(404).end();
      return;
    }
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path, headers: { ...req.headers, host: t.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    if (held) {
      held.push(() => server.emit('upgrade', req, client, head));
      return;
    }
    const path = stripped(req, prefix);
    if (path === undefined) {
      client.destroy();
      return;
    }
    const up = connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? t.host : req.rawHeaders[i + 1]}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(client).pipe(up);
    });
    const tunnel: [Socket, Socket] = [up, client];
    tunnels.add(tunnel);
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      tunnels.delete(tunnel);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    interrupt: () => {
      held = [];
      for (const s of sockets) s.destroy();
      return () => {
        const waiting = held ?? [];
        held = undefined;
        for (const go of waiting) go();
      };
    },
    freeze: () => {
      for (const [up, client] of tunnels) {
        up.unpipe(client);
        client.unpipe(up);
        up.pause();
        client.pause();
      }
      tunnels.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
