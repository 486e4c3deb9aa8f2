/** `sipserver parse` (src/cli/cmd-parse.ts), run in-process through commander. */
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { corpusDir } from '../../../helpers/paths.js';
import { registerParseCommand } from '../../../../src/cli/cmd-parse.js';

async function run(args: string[]): Promise<{ records: Array<Record<string, unknown>>; exitCode: number | undefined }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    const program = new Command().exitOverride();
    registerParseCommand(program);
    await program.parseAsync(['node', 'sipserver', 'parse', '--compact', ...args]);
    return {
      records: lines
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
      exitCode: process.exitCode,
    };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('sipserver parse', () => {
  it('prints the 505 the server would answer to badvers.dat and exits 1', async () => {
    const { records, exitCode } = await run([join(corpusDir, 'rfc4475/archive/badvers.dat')]);
    expect(exitCode).toBe(1);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      verdict: 'rejected',
      response: { status: 505, reason: 'Version Not Supported' },
    });
    expect((records[0].message as { startLine: string }).startLine).toBe('OPTIONS sip:t.watson@example.org SIP/7.0');
  });

  it('prints accepted messages with headers and body, exit code untouched', async () => {
    const { records, exitCode } = await run([
      join(corpusDir, 'rfc4475/archive/lwsdisp.dat'),
      join(corpusDir, 'rfc4475/archive/noreason.dat'),
    ]);
    expect(exitCode).toBeUndefined();
    expect(records.map((r) => r.verdict)).toEqual(['accepted', 'accepted']);
    const m = records[1].message as { status: number; reason: string; headers: unknown[]; body: { length: number } };
    expect([m.status, m.reason, m.body.length]).toEqual([100, '', 0]);
  });

  it('--crlf reads LF-only files; --stream frames a stream file', async () => {
    const { records } = await run(['--crlf', join(corpusDir, 'rfc5118/archive/ipv6-bad')]);
    expect(records[0]).toMatchObject({ verdict: 'rejected', response: { status: 400 } });
    const s = await run([
      '--stream',
      '--supported',
      'path',
      join(corpusDir, 'php-sip-misc/stream/lioneagle-sipparser.txt'),
    ]);
    expect(s.records.filter((r) => r.message !== undefined)).toHaveLength(26);
  });

  it('malformed responses are reported as dropped', async () => {
    const { records, exitCode } = await run([join(corpusDir, 'rfc4475/archive/bigcode.dat')]);
    expect(exitCode).toBe(1);
    expect(records[0]).toMatchObject({ verdict: 'dropped' });
    expect(records[0].response).toBeUndefined();
  });
});
