/**
 * OriginalBytes: the bytes a message was parsed from, reused when it is serialised again
 * (unchanged: as they are; changed: every line still as parsed copied, folding and spacing kept).
 */
import { describe, expect, it } from 'vitest';
import { headerKey, parseMessage, type HeaderField } from '../../../../src/sip/message/index.js';
import { OriginalBytes } from '../../../../src/sip/message/original-bytes.js';

const TEXT =
  'OPTIONS sip:a@b SIP/2.0\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject : folded\r\n  value\r\ni:x\r\nl: 0\r\n\r\n';

/** The lines the parser makes of TEXT, and their byte offsets. */
function parsed(): { lines: HeaderField[]; original: OriginalBytes } {
  const src = Buffer.from('junk' + TEXT, 'latin1');
  const lines = parseMessage(Buffer.from(TEXT, 'latin1')).headerFields.map((h) => ({ ...h }));
  const starts = [
    TEXT.indexOf('v:'),
    TEXT.indexOf('Subject'),
    TEXT.indexOf('i:x'),
    TEXT.indexOf('l: 0'),
    TEXT.length - 2,
  ].map((o) => o + 4);
  const offsets = lines.flatMap((_, i) => [starts[i], starts[i + 1]]);
  return { lines, original: new OriginalBytes(src, 4, src.length, offsets) };
}

const write = (lines: HeaderField[], original?: OriginalBytes): string =>
  OriginalBytes.serialise(
    'OPTIONS sip:a@b SIP/2.0',
    lines,
    lines.map((h) => headerKey(h.name)),
    Buffer.alloc(0),
    'latin1',
    original,
  ).toString('latin1');

describe('OriginalBytes', () => {
  it('gives the bytes as they came until the message changes', () => {
    const { lines, original } = parsed();
    expect(original.unchanged()?.toString('latin1')).toBe(TEXT);
    original.willChange(lines);
    expect(original.unchanged()).toBeUndefined();
  });

  it('copies the lines still as parsed, writes the others, rewrites Content-Length', () => {
    const { lines, original } = parsed();
    original.willChange(lines);
    lines[2] = { name: 'i', value: 'y' };
    lines.unshift({ name: 'Via', value: 'SIP/2.0/TCP p;branch=z9hG4bK2' });
    expect(write(lines, original)).toBe(
      'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP p;branch=z9hG4bK2\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject : folded\r\n  value\r\ni: y\r\nl: 0\r\n\r\n',
    );
  });

  it('sees a line edited in place (its value no longer the parsed one)', () => {
    const { lines, original } = parsed();
    original.willChange(lines);
    lines[1].value = 'other';
    expect(write(lines, original)).toContain('\r\nSubject: other\r\n');
  });

  it('without original bytes, or without line offsets, writes every line', () => {
    const { lines } = parsed();
    const plain =
      'OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: folded value\r\ni: x\r\nl: 0\r\n\r\n';
    expect(write(lines)).toBe(plain);
    const noOffsets = new OriginalBytes(Buffer.from(TEXT, 'latin1'), 0, TEXT.length, undefined);
    noOffsets.willChange(lines);
    expect(write(lines, noOffsets)).toBe(plain);
  });
});
