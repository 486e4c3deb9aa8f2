/**
 * Every problem in one pass (interfaces §1 `config validate`: "every problem as FILE:LINE:
 * message"; interfaces §5 change-sets: "422 … listing every problem"): a schema problem in one
 * object neither hides the problems of the others nor makes objects that refer to it look
 * missing; only checks that depend on the unreadable field are skipped.
 */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/config-file.js';
import { ConfigState } from '../../../src/config/config-state.js';

/** Loads text and returns the errors as `LINE: message`. */
function errorsOf(text: string): string[] {
  const r = loadConfigText(text, 'f.yaml');
  expect(r.model).toBeUndefined();
  return r.errors.map((e) => `${e.line}: ${e.message}`);
}

/** Five distinct problems; the type typo sits on the second of two numbers that normalise alike. */
export const FIVE_PROBLEMS = `server:
  name: SIP_Server
dns:
  - number: Softswitch
    type: voip-service
    options: { contact: "127.0.0.1:5081", service-type: softswitch, prefix: "+1" }
  - number: "+1 555 123 2222"
    type: extension
  - number: "+15551232222"
    type: extensoin
  - number: "7777"
    type: extension
    options: { oos-check: "soon" }
  - number: "5000"
    type: routing-point
    options: { agent-group: Nobody }
agents:
  - { id: jay, password: "jay-secret", dn: "8888" }
`;

describe('configuration file: every problem in one pass', () => {
  it('a type typo hides neither the duplicate number, nor the agent on a missing DN, nor the others', () => {
    expect(errorsOf(FIVE_PROBLEMS)).toEqual([
      '9: DN +15551232222 is already defined at line 7',
      '10: type "extensoin" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
      '13: DN 7777: option oos-check: "soon" is not an integer from 0 to 86400',
      '16: DN 5000: agent-group Nobody does not exist',
      '18: agent jay: DN 8888 does not exist',
    ]);
  });

  it('an object with a schema problem still exists for the objects that refer to it', () => {
    expect(
      errorsOf(`dns:
  - { number: "7777", type: extensoin }
  - { number: "5000", type: routing-point, options: { agent-group: Support } }
agents:
  - { id: joe, password: p, dn: "7777", colour: red }
agent-groups:
  - { name: Support, agents: [joe], size: 1 }
`),
    ).toEqual([
      '2: type "extensoin" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
      '5: unknown key "colour" in agent (allowed: id, name, password, dn, options)',
      '7: unknown key "size" in agent group (allowed: name, agents)',
    ]);
  });

  it('a bad server listen address does not hide a bad application option; a bad option entry hides only its own checks', () => {
    expect(
      errorsOf(`server:
  sip: { listen: ["udp:127.0.0.1:99999"] }
  options: { sip-t1: "fast" }
dns:
  - number: SS
    type: voip-service
    options:
      service-type: softswitch
      contact: [a, b]
      prefix: "+1"
      oos-check: "soon"
`),
    ).toEqual([
      '2: "udp:127.0.0.1:99999" is not transport:host:port (transport udp, tcp, tls, ws or wss)',
      '3: server: option sip-t1: "fast" is not an integer from 50 to 10000',
      // No "a softswitch needs a contact": the contact could not be read.
      '9: option contact must be a string',
      '11: DN SS: option oos-check: "soon" is not an integer from 0 to 86400',
    ]);
  });

  it('a DN whose type cannot be read still has its option values checked, not where they apply', () => {
    const r = loadConfigText(
      `dns:\n  - number: "1"\n    type: phone\n    options: { oos-check: "x", agent-group: G, my-option: "1" }\n`,
      'f.yaml',
    );
    expect(r.errors.map((e) => e.message)).toEqual([
      'type "phone" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
      'DN 1: option oos-check: "x" is not an integer from 0 to 86400',
    ]);
    expect(r.warnings.map((w) => w.message)).toEqual(['DN 1: unknown option my-option (kept)']);
  });

  it('an entry without a key still has its structure, option values and references checked', () => {
    expect(
      errorsOf(`dns:
  - type: extension
    options: { oos-check: "soon" }
agents:
  - { name: Anonymous, password: p, dn: "9999" }
agent-groups:
  - { agents: [nobody] }
`),
    ).toEqual([
      '2: number is required',
      '3: DN (no number): option oos-check: "soon" is not an integer from 0 to 86400',
      '5: agent id is required',
      '5: agent (no id): DN 9999 does not exist',
      '7: group name is required',
      '7: agent group (no name): agent nobody does not exist',
    ]);
  });

  it('problems come in line order, whatever check found them', () => {
    const r = loadConfigText(FIVE_PROBLEMS + 'agent-groups:\n  - { name: G, agents: [ghost] }\nextra: 1\n', 'f.yaml');
    const lines = r.errors.map((e) => e.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(r.errors).toHaveLength(7);
  });
});

describe('change-set: every problem in one pass', () => {
  it('the five problems as one change-set: all listed with the index of their change', () => {
    const p = new ConfigState().plan([
      {
        op: 'put',
        kind: 'dn',
        key: 'Softswitch',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix: '+1' },
        },
      },
      { op: 'put', kind: 'dn', key: '+1 555 123 2222', value: { type: 'extension' } },
      { op: 'put', kind: 'dn', key: '+15551232222', value: { type: 'extensoin' } },
      { op: 'put', kind: 'dn', key: '7777', value: { type: 'extension', options: { 'oos-check': 'soon' } } },
      { op: 'put', kind: 'dn', key: '5000', value: { type: 'routing-point', options: { 'agent-group': 'Nobody' } } },
      { op: 'put', kind: 'agent', key: 'jay', value: { password: 'p', dn: '8888' } },
    ]);
    expect(p.applied).toEqual([]);
    expect(p.errors.map((e) => [e.index, e.message])).toEqual([
      [2, 'type "extensoin" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue'],
      [
        2,
        'DN +15551232222 is already put by change 1 ("+1 555 123 2222" and "+15551232222" are the same number once normalised)',
      ],
      [3, 'DN 7777: option oos-check: "soon" is not an integer from 0 to 86400'],
      [4, 'DN 5000: agent-group Nobody does not exist'],
      [5, 'agent jay: DN 8888 does not exist'],
    ]);
  });

  it('a second put of the same object is refused, but its content is still checked', () => {
    const p = new ConfigState().plan([
      { op: 'put', kind: 'agent', key: 'joe', value: { password: 'p' } },
      { op: 'put', kind: 'agent', key: 'joe', value: { password: 'q', dn: 'nowhere' } },
      { op: 'patch', kind: 'agent', key: 'joe', value: { name: 'Joe' } },
    ]);
    expect(p.errors.map((e) => [e.index, e.message])).toEqual([
      [1, 'agent joe is already put by change 0'],
      [1, 'agent joe: DN nowhere does not exist'],
    ]);
  });

  it('a put followed by a patch of the same object is fine', () => {
    const p = new ConfigState().plan([
      { op: 'put', kind: 'dn', key: '1', value: { type: 'extension' } },
      { op: 'patch', kind: 'dn', key: '1', value: { options: { 'oos-check': '5' } } },
    ]);
    expect(p.errors).toEqual([]);
    expect(p.applied).toHaveLength(2);
  });
});
