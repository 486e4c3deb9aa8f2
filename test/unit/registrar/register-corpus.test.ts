/**
 * RFC 4475 REGISTER torture messages through the real parser and the registrar, with the
 * verdicts of the corpus INDEX (§3.3.4 unksm2 → 400; §3.3.7 regaut01 → ignored or 401;
 * §3.3.12–14 cparam01/cparam02/regescrt → 200 with the right binding), plus a property test:
 * any REGISTER input gives a well-formed answer and never throws.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseNumber } from '../../../src/config/number-normalise.js';
import { AuthFailureLimiter } from '../../../src/registrar/auth-failure-limiter.js';
import { BindingTable } from '../../../src/registrar/binding-table.js';
import { registerInputFromRequest } from '../../../src/registrar/register-input.js';
import { RegisterProcessor } from '../../../src/registrar/register-processor.js';
import { DigestServer } from '../../../src/sip/auth/index.js';
import { parseMessage, tryParseMessage } from '../../../src/sip/message/index.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { corpusDir } from '../../helpers/paths.js';
import { contact, reg, uri } from './registrar-fixtures.js';

const SRC = { transport: 'udp' as const, host: '127.0.0.1', port: 5062 };

function setup(passwords: Record<string, string | undefined>) {
  const clock = new FakeClock(1_000_000);
  const table = new BindingTable(clock);
  const dns = new Map(
    Object.entries(passwords).map(([k, v]) => [normaliseNumber(k), { dn: normaliseNumber(k), password: v }]),
  );
  const p = new RegisterProcessor(
    table,
    { findRegisteringDn: (u) => dns.get(normaliseNumber(u)) },
    new DigestServer({ clock }),
    new AuthFailureLimiter({ clock }),
    clock,
    silentLogger,
  );
  return { table, p };
}

function run(p: RegisterProcessor, file: string) {
  const msg = parseMessage(readFileSync(join(corpusDir, 'rfc4475/archive', `${file}.dat`))) as SipRequest;
  const input = registerInputFromRequest(msg, SRC);
  if (!input.ok) return { status: input.status, headers: [] as Array<[string, string]> };
  return p.process(input.input);
}

describe('RFC 4475 REGISTER messages', () => {
  it('cparam01 (§3.3.12): the parameter belongs to the header; 200', () => {
    const { p, table } = setup({ watson: undefined });
    expect(run(p, 'cparam01').status).toBe(200);
    expect(table.get('watson').map((b) => b.contact)).toEqual(['sip:+19725552222@gw1.example.net']);
  });

  it('cparam02 (§3.3.13): the parameter belongs to the URI and is kept; 200', () => {
    const { p, table } = setup({ watson: undefined });
    expect(run(p, 'cparam02').status).toBe(200);
    expect(table.get('watson').map((b) => b.contact)).toEqual(['sip:+19725552222@gw1.example.net;unknownparam']);
    // A host name, not our source: reached at the source address.
    expect(table.get('watson')[0]).toMatchObject({ nat: true, dest: SRC });
  });

  it('regescrt (§3.3.14): the escaped header is kept on the binding; 200', () => {
    const { p, table } = setup({ user: undefined });
    expect(run(p, 'regescrt').status).toBe(200);
    expect(table.get('user')[0].contact).toContain('?Route=%3Csip:sip.example.com%3E');
  });

  it('unksm2 (§3.3.4): registrar answers 400', () => {
    const { p, table } = setup({});
    expect(run(p, 'unksm2').status).toBe(400);
    expect(table.size).toBe(0);
  });

  it('regaut01 (§3.3.7): unknown scheme ignored — 200 without password, 401 Digest challenge with one', () => {
    expect(run(setup({ 'j.user': undefined }).p, 'regaut01').status).toBe(200);
    const r = run(setup({ 'j.user': 'secret' }).p, 'regaut01');
    expect(r.status).toBe(401);
    expect(r.headers.filter(([n]) => n === 'WWW-Authenticate')).toHaveLength(2);
  });

  it('scalar02 (§3.1.2.4) and regbadct (§3.1.2.13) never reach the registrar: the parser answers 400', () => {
    for (const f of ['scalar02', 'regbadct']) {
      const r = tryParseMessage(readFileSync(join(corpusDir, 'rfc4475/archive', `${f}.dat`)));
      if (r.ok) {
        const { p } = setup({ user: undefined });
        expect([200, 400]).toContain(run(p, f).status);
      } else {
        expect(r.error.status).toBe(400);
      }
    }
  });
});

describe('RegisterProcessor property', () => {
  it('any input: a final status from the allowed set, never an exception', () => {
    const { p } = setup({ '8888': 'pw', '1000': undefined });
    const statuses = new Set([200, 400, 401, 403, 404, 423, 503]);
    fc.assert(
      fc.property(
        fc.constantFrom('sip:8888@h', 'sip:1000@h', 'sips:1000@h', 'tel:+1', 'isbn:1', 'sip:%41@h'),
        fc.array(
          fc.constantFrom(
            'sip:1000@127.0.0.1:5070',
            'sip:a@[::1]:5070;transport=tcp',
            'name:x',
            'sip:x@h;expires=5',
            'mailto:a@b',
          ),
          { maxLength: 4 },
        ),
        fc.option(
          fc.oneof(
            fc.constantFrom('0', '-1', '59', '60', '3600', '99999999999999999999999', 'abc', ' 10 '),
            fc.string(),
          ),
          { nil: undefined },
        ),
        fc.boolean(),
        fc.array(fc.string(), { maxLength: 2 }),
        fc.integer({ min: 0, max: 5 }),
        (to, contacts, expires, star, credentials, cseq) => {
          const out = p.process(
            reg({
              toUri: uri(to),
              contacts: contacts.map((c) => contact(c, c.endsWith('expires=5') ? [['expires', '5']] : [])),
              contactStar: star,
              expires,
              credentials,
              cseq,
            }),
          );
          expect(statuses.has(out.status)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
