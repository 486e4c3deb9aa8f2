/**
 * Serialisation of a message (RFC 3261 §7) that reuses the bytes it was parsed from: while it is
 * unchanged they are its serialisation; once changed, every header line still as parsed is copied
 * from them (folding and spacing kept), so a proxy forwards the lines it did not touch exactly as
 * received. Everything about those bytes lives here: the message only says when it changes.
 */
import type { HeaderField } from './types.js';

const CRLF = '\r\n';

/**
 * The bytes a message was parsed from: `src[start, end)`, and the `[start, end)` offsets in `src`
 * of each header line (CRLF included) when the parser knows them (ASCII or latin1 text).
 */
export class OriginalBytes {
  /** Name and value of each header line as parsed, kept from the message's first change on. */
  private names: string[] | undefined;
  private values: string[] | undefined;
  private changed = false;

  constructor(
    private readonly src: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly lineOffsets: readonly number[] | undefined,
  ) {}

  /** The message's bytes, or `undefined` once it has changed. */
  unchanged(): Buffer | undefined {
    return this.changed ? undefined : this.src.subarray(this.start, this.end);
  }

  /** The message is about to change; `lines` are its header lines, still as parsed on the first call. */
  willChange(lines: readonly HeaderField[]): void {
    if (this.changed) return;
    this.changed = true;
    const offsets = this.lineOffsets;
    if (offsets === undefined || offsets.length !== 2 * lines.length) return;
    const n = lines.length;
    this.names = new Array<string>(n);
    this.values = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      this.names[i] = lines[i].name;
      this.values[i] = lines[i].value;
    }
  }

  /**
   * The index of the first parsed line at or after `from` with `h`'s name (as written) and value,
   * or -1. Lines keep their order through every edit, so the caller moves `from` past each match.
   */
  private find(h: HeaderField, from: number): number {
    const names = this.names;
    const values = this.values;
    if (names === undefined || values === undefined) return -1;
    for (let j = from; j < names.length; j++) if (names[j] === h.name && values[j] === h.value) return j;
    return -1;
  }

  /**
   * Serialise: start line, every header line in order with the name as written, Content-Length
   * set to the body length (the first Content-Length line rewritten, others dropped, one appended
   * if none), empty line, body. `keys` are the look-up keys of `headers`. Lines found unchanged in
   * `original` (see {@link willChange}) are copied from its bytes.
   */
  static serialise(
    startLine: string,
    headers: readonly HeaderField[],
    keys: readonly string[],
    body: Buffer,
    encoding: 'utf8' | 'latin1',
    original?: OriginalBytes,
  ): Buffer {
    const len = String(body.length);
    // Pieces to write: texts[k], then the byte range [spanFrom[k], spanTo[k]) of the original.
    const texts: string[] = [];
    const spanFrom: number[] = [];
    const spanTo: number[] = [];
    let text = startLine + CRLF;
    let clWritten = false;
    let next = 0;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i];
      if (keys[i] === 'content-length') {
        if (clWritten) continue;
        clWritten = true;
        text += h.name + ': ' + len + CRLF;
        continue;
      }
      const j = original === undefined ? -1 : original.find(h, next);
      if (j < 0) {
        text += h.name + ': ' + h.value + CRLF;
        continue;
      }
      next = j + 1;
      const from = original!.lineOffsets![2 * j];
      const to = original!.lineOffsets![2 * j + 1];
      const last = spanTo.length - 1;
      if (text.length === 0 && last >= 0 && spanTo[last] === from) spanTo[last] = to;
      else {
        texts.push(text);
        text = '';
        spanFrom.push(from);
        spanTo.push(to);
      }
    }
    if (!clWritten) text += 'Content-Length: ' + len + CRLF;
    texts.push(text + CRLF);
    // ASCII header text (the usual case) is written with the cheaper latin1 encoder.
    const latin = encoding === 'latin1';
    let total = body.length;
    const lens = new Array<number>(texts.length);
    for (let k = 0; k < texts.length; k++) {
      lens[k] = latin ? texts[k].length : Buffer.byteLength(texts[k], 'utf8');
      total += lens[k];
    }
    for (let k = 0; k < spanFrom.length; k++) total += spanTo[k] - spanFrom[k];
    const out = Buffer.allocUnsafe(total);
    let off = 0;
    for (let k = 0; k < texts.length; k++) {
      const t = texts[k];
      if (lens[k] > 0) out.write(t, off, latin || lens[k] === t.length ? 'latin1' : 'utf8');
      off += lens[k];
      if (k < spanFrom.length) off += original!.src.copy(out, off, spanFrom[k], spanTo[k]);
    }
    if (body.length > 0) body.copy(out, off);
    return out;
  }
}
