/**
 * PROTOS c07-sip, all 4527 cases (../shared/testcorpus/protos-c07-sip, format in INDEX.md §3):
 * placeholders filled, every INVITE and teardown must parse or fail with a SipParseError carrying
 * a status, never anything else; what parses must survive checkRequest and a serialise/re-parse.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../helpers/paths.js';
import { checkRequest, parseMessage, SipParseError } from '../../../../src/sip/message/index.js';
import { shape, UAS_CAPS } from './corpus-helpers.js';

const dir = join(corpusDir, 'protos-c07-sip/cases');

/** Split `<len> SP <template>` twice (INDEX.md §3). */
function templates(file: Buffer): [Buffer, Buffer] {
  const out: Buffer[] = [];
  let pos = 0;
  for (let k = 0; k < 2; k++) {
    const sp = file.indexOf(0x20, pos);
    const len = Number(file.toString('latin1', pos, sp));
    out.push(file.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  expect(pos).toBe(file.length);
  return [out[0], out[1]];
}

/** Fill the placeholders; `<Content-Length>` is the body length after substitution. */
function fill(tpl: Buffer, n: number): Buffer {
  let text = tpl
    .toString('latin1')
    .replaceAll('<To>', 'bob@127.0.0.1')
    .replaceAll('<From-Address>', '127.0.0.1')
    .replaceAll('<From-IP>', '127.0.0.1')
    .replaceAll('<From>', 'alice@127.0.0.1')
    .replaceAll('<Local-Port>', '5062')
    .replaceAll('<Branch-ID>', String(n))
    .replaceAll('<Call-ID>', `protos${n}`)
    .replaceAll('<CSeq>', '1')
    .replaceAll('<Teardown-Method>', 'CANCEL');
  const cut = text.indexOf('\r\n\r\n');
  const bodyLen = cut < 0 ? 0 : Buffer.byteLength(text.slice(cut + 4).replaceAll('<Content-Length>', ''), 'latin1');
  text = text.replaceAll('<Content-Length>', String(bodyLen));
  return Buffer.from(text, 'latin1');
}

describe('PROTOS c07-sip', () => {
  const files = readdirSync(dir).sort();

  it('has all 4527 cases', () => {
    expect(files).toHaveLength(4527);
  });

  it('case 0000000 (the valid reference) and its teardown are accepted', () => {
    const [inv, td] = templates(readFileSync(join(dir, '0000000')));
    for (const t of [inv, td]) {
      const m = parseMessage(fill(t, 0));
      expect(m.kind === 'request' && checkRequest(m, UAS_CAPS)).toBeUndefined();
    }
  });

  it('every case parses or fails with a SipParseError with a status, nothing else', () => {
    const stats = { parsed: 0, parseErrors: 0, accepted: 0, rejected: new Map<number, number>() };
    for (const [i, name] of files.entries()) {
      const [inv, td] = templates(readFileSync(join(dir, name)));
      for (const bytes of [fill(inv, i), fill(td, i)]) {
        let m;
        try {
          m = parseMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(SipParseError);
          const e = err as SipParseError;
          expect(e.message, name).not.toMatch(/internal parser error/);
          expect([0, 400, 505]).toContain(e.status);
          stats.rejected.set(e.status, (stats.rejected.get(e.status) ?? 0) + 1);
          stats.parseErrors++;
          continue;
        }
        stats.parsed++;
        if (m.kind === 'request') {
          const v = checkRequest(m, UAS_CAPS);
          if (v === undefined) stats.accepted++;
          else stats.rejected.set(v.status, (stats.rejected.get(v.status) ?? 0) + 1);
        }
        const again = parseMessage(m.toBuffer());
        expect(shape(again), name).toEqual(shape(m));
      }
    }
    expect(stats.parsed + stats.parseErrors).toBe(2 * 4527);
    // Every teardown (CANCEL) is the unmutated template except in the CRLF groups, so most parse.
    expect(stats.accepted).toBeGreaterThan(4527);
    if (process.env.PROTOS_STATS)
      process.stdout.write(JSON.stringify({ ...stats, rejected: Object.fromEntries(stats.rejected) }) + '\n');
  }, 120_000);
});
