import { describe, expect, it } from 'vitest';
import { parseMigrationCsv, splitCsvLine } from '../../../../src/cli/migrate/csv.js';

describe('migration CSV', () => {
  it('reads rows with quoted numbers, skipping blank and comment lines', () => {
    const r = parseMigrationCsv(
      'agent_id,home_number,mode\r\njoe,"+1 555 123 1111",extension\n\n# later\njay, +15551232222 ,agent-phone\n',
    );
    expect(r.problems).toEqual([]);
    expect(r.rows).toEqual([
      { line: 2, agentId: 'joe', homeNumber: '+1 555 123 1111', mode: 'extension' },
      { line: 5, agentId: 'jay', homeNumber: '+15551232222', mode: 'agent-phone' },
    ]);
  });

  it('lists every bad line with its number', () => {
    const r = parseMigrationCsv(
      [
        'agent_id,home_number,mode',
        'a1,+15550001,extension',
        'a2,+15550002',
        'a3,+15550003,desk',
        ',,nailed-up',
        'a5,"+1555,extension',
        'a6,+15550006,nailed-up,extra',
      ].join('\n'),
    );
    expect(r.rows.map((x) => x.agentId)).toEqual(['a1']);
    expect(r.problems).toEqual([
      { line: 3, message: 'expected 3 fields (agent_id,home_number,mode), found 2' },
      { line: 4, message: 'mode "desk" is not one of extension, nailed-up, agent-phone' },
      { line: 5, message: 'agent_id is empty; home_number is empty' },
      { line: 6, message: 'unclosed double quote' },
      { line: 7, message: 'expected 3 fields (agent_id,home_number,mode), found 4' },
    ]);
  });

  it('needs the header line', () => {
    expect(parseMigrationCsv('joe,+15550001,extension\n').problems).toEqual([
      { line: 1, message: 'the first line must be the header agent_id,home_number,mode' },
    ]);
    expect(parseMigrationCsv('\n').problems[0]!.message).toContain('empty');
  });

  it('splits RFC 4180 quoting', () => {
    expect(splitCsvLine('"a ""b""",c,')).toEqual(['a "b"', 'c', '']);
  });
});
