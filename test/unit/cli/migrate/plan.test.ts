import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../../src/config/config-file.js';
import { parseMigrationCsv } from '../../../../src/cli/migrate/csv.js';
import { buildPlan, softswitchOptions } from '../../../../src/cli/migrate/plan.js';
import { examplesDir } from '../../../helpers/paths.js';

/** examples/office.yaml plus agents sharing an office DN and an agent without DN. */
function office() {
  const text = readFileSync(join(examplesDir, 'office.yaml'), 'utf8').replace(
    'agent-groups:',
    `  - { id: ann, name: Ann, password: p, dn: "7777" }
  - { id: bob, name: Bob, password: p }
agent-groups:`,
  );
  const r = loadConfigText(text);
  if (!r.model) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

const req = {
  softswitch: 'SBC',
  contact: '127.0.0.1:5071',
  prefix: '+1',
  source: { config: 'office.yaml' },
  baseVersion: null,
};
const plan = (csv: string, r: Partial<typeof req> = {}) =>
  buildPlan(office(), parseMigrationCsv(`agent_id,home_number,mode\n${csv}`).rows, { ...req, ...r });

describe('migrate plan rules', () => {
  it('extension, nailed-up and agent-phone changes, the softswitch with the guide options', () => {
    const r = plan('joe,+1 555 123 1111,extension\njay,+1 (555) 123-2222,nailed-up\nann,+15551233333,agent-phone');
    expect(r.problems).toEqual([]);
    const p = r.plan!;
    expect(p.softswitchChange).toEqual({
      op: 'put',
      kind: 'dn',
      key: 'SBC',
      value: { type: 'voip-service', options: softswitchOptions('127.0.0.1:5071', '+1', true) },
    });
    expect(p.softswitchChange!.value).toMatchObject({
      options: { 'connect-nailedup-on-login': 'gcti::park', 'oos-check': '10' },
    });
    expect(p.agents.map((a) => [a.agentId, a.homeNumber, a.removeOfficeDn])).toEqual([
      ['joe', '+15551231111', '8888'], // a digest password too: rollback restores it from the change feed
      ['jay', '+15551232222', null], // ann keeps 7777 (agent-phone)
      ['ann', '+15551233333', null],
    ]);
    expect(p.agents[0]!.changes).toEqual([
      { op: 'put', kind: 'dn', key: '+15551231111', value: { type: 'extension', options: {} } },
      { op: 'patch', kind: 'agent', key: 'joe', value: { dn: '+15551231111' } },
    ]);
    expect(p.agents[1]!.changes[0]!.value).toEqual({ type: 'extension', options: { 'line-type': '1' } });
    expect(p.agents[2]!.changes).toEqual([
      { op: 'patch', kind: 'agent', key: 'ann', value: { options: { 'agent-phone': '+15551233333' } } },
    ]);
    expect(p.agents[0]!.before).toEqual({
      agent: { id: 'joe', name: 'Joe', dn: '8888', options: {} },
      officeDn: { number: '8888', type: 'extension', options: { contact: '*' } },
    });
    expect(r.warnings).toEqual([]);
  });

  it('an office DN shared by two leaving agents is removed with the last of them', () => {
    const r = plan('jay,+15551232222,extension\nann,+15551233333,extension');
    expect(r.plan!.agents.map((a) => a.removeOfficeDn)).toEqual([null, '7777']);
  });

  it('lists every problem with its CSV line and writes no plan', () => {
    const r = plan(
      [
        'joe,+15551231111,extension',
        'nobody,+15551239999,extension',
        'jay,8888,extension',
        'joe,+15551234444,extension',
        'ann,+1 555 123 1111,extension',
        'bob,+4420123,agent-phone',
        'bob2,call-me,extension',
      ].join('\n'),
    );
    expect(r.plan).toBeUndefined();
    expect(r.problems).toEqual([
      { line: 3, message: 'unknown agent nobody' },
      { line: 4, message: 'home number 8888 is already an internal DN (extension)' },
      { line: 5, message: 'agent joe is already on line 2' },
      { line: 6, message: 'home number +15551231111 is already on line 2' },
      { line: 7, message: 'no softswitch prefix matches home number +4420123' },
      { line: 8, message: 'unknown agent bob2' },
      { line: 8, message: 'home number "call-me" is not a telephone number' },
    ]);
  });

  it('the softswitch must exist, or be created with --contact and --prefix', () => {
    expect(plan('joe,+15551231111,extension', { contact: undefined, prefix: undefined }).problems).toEqual([
      { line: 0, message: 'softswitch SBC does not exist: give --contact HOST:PORT --prefix P to create it' },
      { line: 2, message: 'no softswitch prefix matches home number +15551231111' },
    ]);
    expect(plan('joe,+15551231111,extension', { softswitch: 'Softswitch' }).problems[0]!.message).toContain(
      'exists already',
    );
    // The office softswitch (prefix 77) exists: a number it does not cover is a problem.
    const r = plan('joe,7799,extension\njay,+15551232222,extension', {
      softswitch: 'Softswitch',
      contact: undefined,
      prefix: undefined,
    });
    expect(r.problems).toEqual([{ line: 3, message: 'no softswitch prefix matches home number +15551232222' }]);
    expect(r.plan).toBeUndefined();
  });

  it('warns when a number is reached through another softswitch than the one named', () => {
    const r = plan('joe,+15551231111,extension\njay,7799,extension', { softswitch: 'SBC', prefix: '+1' });
    expect(r.warnings).toContain(
      '1 home number(s) are reached through another softswitch than SBC (the longest matching prefix wins, behaviour §3.3): 7799',
    );
  });

  it('an agent already at home is a problem', () => {
    const model = office();
    model.agents.find((a) => a.id === 'ann')!.options['agent-phone'] = '+15551233333';
    const r = buildPlan(
      model,
      parseMigrationCsv('agent_id,home_number,mode\nann,+15551233333,agent-phone\njay,7777,extension').rows,
      req,
    );
    expect(r.problems).toEqual([
      { line: 2, message: 'agent ann is already at home on +15551233333' },
      { line: 3, message: 'agent jay is already at home on 7777' },
    ]);
  });
});
