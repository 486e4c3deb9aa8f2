/**
 * A server-sent events parser (the WHATWG `text/event-stream` format) for streams read with
 * `fetch` — EventSource cannot send the admin token in a header. Used by the admin console and
 * by the tests that read `GET /api/events`.
 */

/** One dispatched event. */
export interface SseEvent {
  /** `event:` field, `message` when absent. */
  event: string;
  data: string;
}

/** Feeds text chunks in, gets complete events out; comments (heartbeats) are skipped. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  /** The last chunk ended with CR: a LF starting the next one belongs to it. */
  private skipLf = false;

  /** Parses `chunk` (any split, even mid-line) and returns the events it completed. */
  push(chunk: string): SseEvent[] {
    if (chunk === '') return [];
    this.buffer += this.skipLf && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    this.skipLf = false;
    const out: SseEvent[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const eol = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // A CR at the very end may be the first half of a CRLF split between chunks.
      if (eol === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) this.skipLf = true;
      this.buffer = this.buffer.slice(nl + eol);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }
}

/**
 * Reads a `fetch` response body as server-sent events, calling `onEvent` for each, until the
 * stream ends (resolves) or fails (rejects; an abort through the request's signal too).
 */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
  }
}
