/**
 * TCP transport (RFC 3261 §18, framing §18.3).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../util/logger.js';
import type { TransportAddress } from '../message/types.js';
import type { ListenSpec } from './listen-spec.js';
import { StreamTransport } from './transport-stream.js';
import type { TransportDelegate, TransportLimits } from './transport-types.js';

/** SIP over plain TCP. */
export class TcpTransport extends StreamTransport {
  readonly protocol = 'tcp' as const;

  constructor(spec: ListenSpec, delegate: TransportDelegate, logger: Logger, limits: TransportLimits) {
    super(spec, delegate, logger, limits);
  }

  protected createServer(onSocket: (socket: Socket) => void): Server {
    return createServer({ noDelay: true }, onSocket);
  }

  protected connectSocket(dest: TransportAddress, onConnect: () => void): Socket {
    return connect({ host: dest.host, port: dest.port, noDelay: true }, onConnect);
  }
}
