/** What the gateway needs from one client connection (a WebSocket in production). */
export interface CtiTransport {
  /** Sends one text frame. */
  send(text: string): void;
  /** Closes the connection with a WebSocket close code (RFC 6455 §7.4.1) and reason. */
  close(code: number, reason: string): void;
  /** Bytes queued but not yet sent, to drop clients that do not read (optional). */
  readonly bufferedAmount?: number;
  /** The client's IP address, for the RequestOpen failure limiter (optional). */
  readonly remoteAddress?: string;
}
