/**
 * TLS transport (RFC 3261 §26.3.1; `sips:` and `transport=tls`), over `node:tls`.
 */
import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:tls';
import type { Logger } from '../../util/logger.js';
import type { TransportAddress } from '../message/types.js';
import type { ListenSpec } from './listen-spec.js';
import { StreamTransport } from './transport-stream.js';
import type { TransportDelegate, TransportLimits } from './transport-types.js';

/** Certificate settings of the TLS transport (paths to PEM files). */
export interface TlsSettings {
  cert: string;
  key: string;
  /** Extra CA bundle to verify peers we connect to. */
  ca?: string;
  /** Verify the certificate of servers we connect to (default true). */
  verifyPeer?: boolean;
}

/** SIP over TLS. Certificates are read once, at construction. */
export class TlsTransport extends StreamTransport {
  readonly protocol = 'tls' as const;
  private readonly cert: Buffer;
  private readonly key: Buffer;
  private readonly ca: Buffer | undefined;

  constructor(
    spec: ListenSpec,
    delegate: TransportDelegate,
    logger: Logger,
    limits: TransportLimits,
    private readonly settings: TlsSettings,
  ) {
    super(spec, delegate, logger, limits);
    this.cert = readFileSync(settings.cert);
    this.key = readFileSync(settings.key);
    this.ca = settings.ca ? readFileSync(settings.ca) : undefined;
  }

  protected createServer(onSocket: (socket: Socket) => void): Server {
    const server = createServer({ cert: this.cert, key: this.key, handshakeTimeout: 10_000 }, onSocket);
    server.on('tlsClientError', (err, sock) => {
      this.logger.debug({ err: err.message, remote: sock.remoteAddress }, 'tls handshake failed');
    });
    return server;
  }

  protected connectSocket(dest: TransportAddress, onConnect: () => void): Socket {
    return connect(
      {
        host: dest.host,
        port: dest.port,
        ca: this.ca,
        cert: this.cert,
        key: this.key,
        rejectUnauthorized: this.settings.verifyPeer ?? true,
        servername: undefined,
      },
      onConnect,
    );
  }
}
