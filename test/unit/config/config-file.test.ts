import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportConfigYaml, formatProblem, loadConfigText } from '../../../src/config/config-file.js';
import { examplesDir } from '../../helpers/paths.js';

const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));

/** Loads text and returns the errors as `LINE: message`. */
function errorsOf(text: string): string[] {
  const r = loadConfigText(text, 'f.yaml');
  expect(r.model).toBeUndefined();
  return r.errors.map((e) => `${e.line}: ${e.message}`);
}

const head = `server:
  name: S
dns:
`;

describe('configuration file (interfaces §2)', () => {
  it.each(examples)('example %s loads unchanged, without warnings', (f) => {
    const r = loadConfigText(readFileSync(join(examplesDir, f), 'utf8'), f);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.model!.dns.length).toBeGreaterThan(0);
  });

  it.each(examples)('example %s: load → export → load gives the same model', (f) => {
    const m1 = loadConfigText(readFileSync(join(examplesDir, f), 'utf8'), f).model!;
    const text = exportConfigYaml(m1);
    const r2 = loadConfigText(text, 'export.yaml');
    expect(r2.errors).toEqual([]);
    expect(r2.model).toEqual(m1);
  });

  it('normalises numbers and agent DN references', () => {
    const m = loadConfigText(readFileSync(join(examplesDir, 'home.yaml'), 'utf8')).model!;
    expect(m.dns.map((d) => d.number)).toEqual(['Softswitch', '+15551231111', '+15551232222', '5000']);
    expect(m.agents.map((a) => a.dn)).toEqual(['+15551231111', '+15551232222']);
  });

  it('reads unquoted scalars as their text', () => {
    const m = loadConfigText(
      `${head}  - number: 0123\n    type: extension\n    options: { oos-check: 10, dual-dialog-enabled: false }\n`,
    ).model!;
    expect(m.dns[0]).toEqual({
      number: '0123',
      type: 'extension',
      options: { 'oos-check': '10', 'dual-dialog-enabled': 'false' },
    });
  });

  it('two DNs that normalise to the same number are an error at the second one', () => {
    expect(
      errorsOf(`${head}  - number: "+1 555"\n    type: extension\n  - number: "+1-555"\n    type: extension\n`),
    ).toEqual(['6: DN "+1-555" normalises to +1555, already defined at line 4']);
  });

  it('duplicate agents and groups are errors', () => {
    const e = errorsOf(`${head}  - { number: "1", type: extension }
agents:
  - { id: a, password: x, dn: "1" }
  - { id: a, password: y }
agent-groups:
  - { name: G, agents: [a] }
  - { name: G, agents: [a] }
  - { name: H, agents: [a, a] }
`);
    expect(e).toEqual([
      '7: agent a is already defined at line 6',
      '10: agent group G is already defined at line 9',
      '11: agent "a" is listed twice',
    ]);
  });

  it('an unknown top-level key, server key or DN key is an error at its line', () => {
    expect(errorsOf(`server:\n  name: S\n  colour: red\nextra: 1\n`)).toEqual([
      '3: unknown key "colour" in server (allowed: name, sip, http, options)',
      '4: unknown key "extra" (allowed: server, dns, agents, agent-groups)',
    ]);
    expect(errorsOf(`${head}  - number: "1"\n    type: extension\n    contact: "*"\n`)).toEqual([
      '6: unknown key "contact" in DN (allowed: number, type, options)',
    ]);
  });

  it('a bad DN type, a missing number, a bad listen address are errors', () => {
    expect(errorsOf(`${head}  - number: "1"\n    type: phone\n  - type: extension\n`)).toEqual([
      '5: type "phone" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
      '6: number is required',
    ]);
    expect(
      errorsOf(
        `server:\n  sip:\n    listen: ["sctp:127.0.0.1:5060", "udp:127.0.0.1:99999"]\n  http:\n    listen: "nope"\n`,
      ),
    ).toEqual([
      '3: "sctp:127.0.0.1:5060" is not transport:host:port (transport udp, tcp, tls, ws or wss)',
      '3: "udp:127.0.0.1:99999" is not transport:host:port (transport udp, tcp, tls, ws or wss)',
      '5: "nope" is not host:port',
    ]);
  });

  it('a bad value of a known option is an error at the option line', () => {
    expect(
      errorsOf(`${head}  - number: "1"
    type: extension
    options:
      dual-dialog-enabled: "yes"
      make-call-rfc3725-flow: "3"
      contact: "bad host!"
      sip-trying-timeout: "300"
`),
    ).toEqual([
      '7: DN 1: option dual-dialog-enabled: "yes" is not true or false',
      '8: DN 1: option make-call-rfc3725-flow: "3" is not one of 1, 2',
      '9: DN 1: option contact: "bad host!" is not *, host[:port] or a SIP URI',
      '10: DN 1: option sip-trying-timeout: "300" is not an integer from 0 to 256',
    ]);
  });

  it('an unknown option name is kept and reported as a warning', () => {
    const r = loadConfigText(
      `${head}  - number: "1"\n    type: extension\n    options:\n      use-contact-as-dn: "true"\n`,
      'f.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.model!.dns[0].options).toEqual({ 'use-contact-as-dn': 'true' });
    expect(r.warnings.map((w) => formatProblem(w, 'warning'))).toEqual([
      'f.yaml:7: warning: DN 1: unknown option use-contact-as-dn (kept)',
    ]);
  });

  it('a softswitch without contact or prefix is an error', () => {
    expect(
      errorsOf(`${head}  - number: SS\n    type: voip-service\n    options:\n      service-type: softswitch\n`),
    ).toEqual([
      '7: DN SS: a softswitch needs a contact (host[:port] or SIP URI)',
      '7: DN SS: a softswitch needs a prefix',
    ]);
  });

  it('an agent whose DN does not exist, a group naming an unknown agent, a routing point naming no group', () => {
    expect(
      errorsOf(`${head}  - number: "5000"
    type: routing-point
    options: { agent-group: Sales }
agents:
  - { id: joe, name: Joe, password: x, dn: "8888" }
agent-groups:
  - { name: Support, agents: [joe, bob] }
`),
    ).toEqual([
      '6: DN 5000: agent-group Sales does not exist',
      '8: agent joe: DN 8888 does not exist',
      '10: agent group Support: agent bob does not exist',
    ]);
  });

  it('a YAML syntax error is reported with its line', () => {
    const r = loadConfigText('server:\n  name: [unclosed\n', 'f.yaml');
    expect(r.model).toBeUndefined();
    expect(r.errors.length).toBeGreaterThan(0);
    expect(formatProblem(r.errors[0])).toMatch(/^f\.yaml:\d+: /);
  });

  it('TLS listeners need server.sip.tls; cert and key are exported back', () => {
    expect(errorsOf(`server:\n  sip:\n    listen: ["tls:127.0.0.1:5061"]\n`)).toEqual([
      '3: listener "tls:127.0.0.1:5061" needs server.sip.tls with cert and key',
    ]);
    const text = `server:\n  sip:\n    listen: ["tls:127.0.0.1:5061"]\n    tls: { cert: a.crt, key: a.key }\n`;
    const m = loadConfigText(text).model!;
    expect(m.server.sip).toEqual({ listen: ['tls:127.0.0.1:5061'], tls: { cert: 'a.crt', key: 'a.key' } });
    expect(loadConfigText(exportConfigYaml(m)).model).toEqual(m);
  });

  it('an agent may leave its password out (secrets are write-only: the store keeps its own); an empty one is an error', () => {
    const r = loadConfigText(`agents:\n  - { id: joe, name: Joe }\n`, 'f.yaml');
    expect(r.errors).toEqual([]);
    expect(r.model!.agents).toEqual([{ id: 'joe', name: 'Joe', options: {} }]);
    expect(errorsOf(`agents:\n  - { id: joe, name: Joe, password: "" }\n`)).toEqual(['2: password is required']);
  });
});
