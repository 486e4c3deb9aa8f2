import { describe, expect, it } from 'vitest';
import { ConfigState } from '../../../src/config/config-state.js';
import type { ChangeRequest } from '../../../src/config/change-set.js';

const SS: ChangeRequest = {
  op: 'put',
  kind: 'dn',
  key: 'Softswitch',
  value: { type: 'voip-service', options: { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix: '77' } },
};
const base: ChangeRequest[] = [
  SS,
  { op: 'put', kind: 'dn', key: '7777', value: { type: 'extension' } },
  { op: 'put', kind: 'dn', key: '5000', value: { type: 'routing-point', options: { 'agent-group': 'Support' } } },
  { op: 'put', kind: 'agent', key: 'jay', value: { name: 'Jay', password: 'pw', dn: '7777' } },
  { op: 'put', kind: 'agent-group', key: 'Support', value: { agents: ['jay'] } },
];

function seeded(): ConfigState {
  const s = new ConfigState();
  const p = s.plan(base);
  expect(p.errors).toEqual([]);
  s.commit(p.applied);
  return s;
}

function problems(changes: ChangeRequest[]): { index: number; message: string }[] {
  const p = seeded().plan(changes);
  expect(p.applied).toEqual([]);
  return p.errors.map(({ index, message }) => ({ index, message }));
}

describe('change-set validation against the resulting configuration (behaviour §13)', () => {
  it('accepts a consistent change-set and gives old and new values', () => {
    const s = seeded();
    const p = s.plan([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '5' } } }]);
    expect(p.errors).toEqual([]);
    expect(p.applied).toHaveLength(1);
    expect(p.applied[0].old).toMatchObject({ options: { prefix: '77' } });
    expect(p.applied[0].new).toMatchObject({ options: { prefix: '77', 'oos-check': '5' } });
  });

  it('a softswitch without contact', () => {
    expect(problems([{ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { contact: null } } }])).toEqual([
      { index: 0, message: 'DN Softswitch: a softswitch needs a contact (host[:port] or SIP URI)' },
    ]);
  });

  it('a softswitch without prefix', () => {
    expect(
      problems([
        {
          op: 'put',
          kind: 'dn',
          key: 'SS2',
          value: { type: 'voip-service', options: { 'service-type': 'softswitch', contact: 'h:1' } },
        },
      ]),
    ).toEqual([{ index: 0, message: 'DN SS2: a softswitch needs a prefix' }]);
  });

  it('an agent whose DN does not exist', () => {
    expect(
      problems([{ op: 'put', kind: 'agent', key: 'joe', value: { name: 'Joe', password: 'x', dn: '8888' } }]),
    ).toEqual([{ index: 0, message: 'agent joe: DN 8888 does not exist' }]);
  });

  it('deleting the DN of an agent', () => {
    expect(problems([{ op: 'delete', kind: 'dn', key: '7777' }])).toEqual([
      { index: 0, message: 'DN 7777 is the DN of agent jay; change or delete the agent too' },
    ]);
  });

  it('deleting the DN and the agent together is fine once the group lets go of the agent', () => {
    const s = seeded();
    const p = s.plan([
      { op: 'delete', kind: 'dn', key: '7777' },
      { op: 'delete', kind: 'agent', key: 'jay' },
      { op: 'put', kind: 'agent-group', key: 'Support', value: { agents: [] } },
    ]);
    expect(p.errors).toEqual([]);
  });

  it('an agent group naming an unknown agent', () => {
    expect(problems([{ op: 'patch', kind: 'agent-group', key: 'Support', value: { agents: ['jay', 'bob'] } }])).toEqual(
      [{ index: 0, message: 'agent group Support: agent bob does not exist' }],
    );
  });

  it('deleting an agent that a group still lists', () => {
    expect(problems([{ op: 'delete', kind: 'agent', key: 'jay' }])).toEqual([
      { index: 0, message: 'agent jay is a member of agent group Support; remove it from the group too' },
    ]);
  });

  it('a routing point whose agent-group names no group', () => {
    expect(
      problems([{ op: 'patch', kind: 'dn', key: '5000', value: { options: { 'agent-group': 'Sales' } } }]),
    ).toEqual([{ index: 0, message: 'DN 5000: agent-group Sales does not exist' }]);
  });

  it('deleting a group a routing point uses', () => {
    expect(problems([{ op: 'delete', kind: 'agent-group', key: 'Support' }])).toEqual([
      {
        index: 0,
        message: 'agent group Support is the agent-group of routing point 5000; change the routing point too',
      },
    ]);
  });

  it('bad option value, unknown key, bad op/kind, missing object, delete with value', () => {
    expect(
      problems([
        { op: 'put', kind: 'dn', key: '1', value: { type: 'extension', options: { 'line-type': '2' } } },
        { op: 'put', kind: 'dn', key: '2', value: { type: 'extension', colour: 'red' } },
        { op: 'rename' as 'put', kind: 'dn', key: '3' },
        { op: 'put', kind: 'queue' as 'dn', key: '3' },
        { op: 'patch', kind: 'dn', key: '9999', value: { options: {} } },
        { op: 'delete', kind: 'agent', key: 'nobody' },
        { op: 'delete', kind: 'dn', key: '7777', value: { type: 'extension' } },
        { op: 'put', kind: 'dn', key: ' - ', value: { type: 'extension' } },
        { op: 'put', kind: 'agent', key: 'new', value: { name: 'New' } },
      ]),
    ).toEqual(
      [
        { index: 0, message: 'option line-type: "2" is not one of 0, 1' },
        { index: 1, message: 'unknown key "colour" in DN (allowed: number, type, options)' },
        { index: 2, message: 'op "rename" is not put, patch, delete or create' },
        { index: 3, message: 'kind "queue" is not dn, agent, agent-group or server' },
        { index: 4, message: 'DN 9999 does not exist' },
        { index: 5, message: 'agent nobody does not exist' },
        { index: 6, message: 'a delete takes no value' },
        { index: 7, message: 'DN number " - " is empty once normalised' },
        { index: 8, message: 'password is required' },
      ].map((e) => (e.index === 0 ? { index: 0, message: 'DN 1: option line-type: "2" is not one of 0, 1' } : e)),
    );
  });

  it('one bad change among 1,000 refuses the whole change-set and lists every problem', () => {
    const changes: ChangeRequest[] = [];
    for (let i = 0; i < 1000; i++)
      changes.push({
        op: 'put',
        kind: 'dn',
        key: `+1555000${String(i).padStart(4, '0')}`,
        value: { type: 'extension', options: {} },
      });
    changes[500] = {
      op: 'put',
      kind: 'dn',
      key: '+15550000500',
      value: { type: 'extension', options: { 'oos-check': '-1' } },
    };
    changes[900] = { op: 'put', kind: 'agent', key: 'x', value: { name: 'X', password: 'p', dn: 'nowhere' } };
    const s = seeded();
    const p = s.plan(changes);
    expect(p.applied).toEqual([]);
    expect(p.errors.map((e) => [e.index, e.message])).toEqual([
      [500, 'DN +15550000500: option oos-check: "-1" is not an integer from 0 to 86400'],
      [900, 'agent x: DN nowhere does not exist'],
    ]);
    expect(s.dns.size).toBe(3);
  });

  it('PUT of an agent without password keeps the stored password', () => {
    const s = seeded();
    const p = s.plan([{ op: 'put', kind: 'agent', key: 'jay', value: { name: 'Jay B', dn: '7777' } }]);
    expect(p.errors).toEqual([]);
    expect(p.applied[0].new).toMatchObject({ name: 'Jay B', password: 'pw' });
  });

  it('unknown option names are warnings, the change still applies', () => {
    const p = seeded().plan([
      { op: 'patch', kind: 'dn', key: '7777', value: { options: { 'foo-bar': '1', 'oos-check': '5' } } },
    ]);
    expect(p.errors).toEqual([]);
    expect(p.warnings.map((w) => w.message)).toEqual(['DN 7777: unknown option foo-bar (kept)']);
    expect(p.applied).toHaveLength(1);
  });
});

describe('options not documented for the object (behaviour §2.2)', () => {
  it("an application option on a DN is kept and said to be read as the DN's own value (it is)", () => {
    const s = seeded();
    const p = s.plan([{ op: 'patch', kind: 'dn', key: '7777', value: { options: { 'sip-invite-timeout': '2' } } }]);
    expect(p.errors).toEqual([]);
    expect(p.warnings.map((w) => w.message)).toEqual([
      "DN 7777: option sip-invite-timeout is not documented for extension (kept; read as this DN's own value)",
    ]);
    s.commit(p.applied);
    expect(s.resolveOption('7777', 'sip-invite-timeout')).toEqual({ value: '2', source: 'dn' });
  });

  it('an agent-only option on a DN and a DN-only option at application level are said to be ignored', () => {
    const s = seeded();
    const p = s.plan([
      { op: 'patch', kind: 'dn', key: '7777', value: { options: { 'agent-phone': '+15551232222' } } },
      { op: 'patch', kind: 'server', key: 'server', value: { options: { password: 'x' } } },
    ]);
    expect(p.warnings.map((w) => w.message)).toEqual([
      'DN 7777: option agent-phone is not documented for extension (kept, ignored)',
      expect.stringMatching(/option password is not documented for application \(kept, ignored\)$/),
    ]);
    s.commit(p.applied);
    expect(s.resolveOption('7777', 'password')).toBeUndefined();
  });
});

describe('option names', () => {
  it('refuses names that are not option names (e.g. __proto__)', () => {
    const s = new ConfigState();
    const p = s.plan([
      {
        op: 'put',
        kind: 'dn',
        key: '1',
        value: { type: 'extension', options: JSON.parse('{"__proto__": "x", "a b": "y"}') as Record<string, string> },
      },
    ]);
    expect(p.errors.map((e) => e.message)).toEqual([
      '"__proto__" is not an option name (letters, digits, - _ .)',
      '"a b" is not an option name (letters, digits, - _ .)',
    ]);
  });
});
