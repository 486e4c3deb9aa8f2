/**
 * The softswitch → DNs reverse index (behaviour §5.1 `oos-propagate-to-dns`) against the full
 * walk it replaces, after sequences of configuration changes and agent-phone bindings.
 *
 * Measurement (not asserted; a tsx script on this 2-core machine, figures in docs/reachability.md):
 * 100,000 extensions behind 100 softswitches (prefixes `1000`…`1099`, 1,000 DNs each) in a real
 * store; the DNs behind one softswitch, per transition: full walk (before) 53–100 ms (every DN,
 * `preferredSoftswitch` on each), index (after) 1.2–2.3 ms (its 1,000 DNs), same answer.
 * Building the index for the 100,100 DNs at start: 110–160 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeRequest } from '../../../src/config/change-set.js';
import { loadConfigText } from '../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { SoftswitchDnIndex } from '../../../src/reachability/softswitch-dn-index.js';

const CONFIG = `
server: { name: T, sip: { listen: ["udp:127.0.0.1:5060"] } }
dns:
  - { number: "7777", type: extension }
  - { number: "7700", type: extension }
  - { number: "7801", type: acd-position }
  - { number: "8888", type: extension, options: { contact: "*" } }
  - { number: "7799", type: routing-point, options: { agent-group: G } }
  - number: A
    type: voip-service
    options: { contact: "127.0.0.1:5081", service-type: softswitch, prefix: "77", priority: "1" }
  - number: B
    type: voip-service
    options: { contact: "127.0.0.1:5082", service-type: softswitch, prefix: "7, 88" }
agents: []
agent-groups:
  - { name: G, agents: [] }
`;

describe('SoftswitchDnIndex (behaviour §5.1 oos-propagate-to-dns)', () => {
  let dir = '';
  let store: ConfigStore | undefined;
  afterEach(() => {
    store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A store, the index fed from its change feed, and the full walk (the code it replaces). */
  function setup(config = CONFIG) {
    dir = mkdtempSync(join(tmpdir(), 'ss-dn-index-'));
    const s = openStore(dir);
    store = s;
    s.reconcile(loadConfigText(config, 'test.yaml').model!);
    const phones = new Map<string, string>();
    const preferred = (dn: string): string | undefined => {
      const d = s.getDn(dn);
      if (!d) return undefined;
      const phone = phones.get(d.number);
      if (phone === undefined && (d.options.contact?.trim() ?? '') !== '') return undefined;
      return s.softswitchCandidates(phone ?? d.number)[0]?.dn;
    };
    const index = new SoftswitchDnIndex({ phoneOf: (dn) => phones.get(dn), preferred });
    for (const d of s.listDns(0, Number.MAX_SAFE_INTEGER).items) index.applyDnChange(null, d);
    s.subscribe((cs) => {
      for (const c of cs.changes) if (c.kind === 'dn') index.applyDnChange(c.old, c.new);
    });
    const bruteForce = (device: string): string[] =>
      s
        .listDns(0, Number.MAX_SAFE_INTEGER)
        .items.filter((d) => (d.type === 'extension' || d.type === 'acd-position') && preferred(d.number) === device)
        .map((d) => d.number);
    const softswitches = (): string[] =>
      s
        .listDns(0, Number.MAX_SAFE_INTEGER)
        .items.filter((d) => d.type === 'voip-service')
        .map((d) => d.number);
    /** Every softswitch (and a few other DNs) gives the full walk's answer, in the same order. */
    const check = (): void => {
      for (const ss of [...softswitches(), '7777', 'nobody'])
        expect(index.dnsBehind(ss), `behind ${ss}`).toEqual(bruteForce(ss));
    };
    const bind = (dn: string, phone: string): void => {
      phones.set(dn, phone);
      index.refresh(dn);
    };
    const unbind = (dn: string): void => {
      phones.delete(dn);
      index.refresh(dn);
    };
    const apply = (changes: ChangeRequest[]): void => {
      s.apply(changes);
    };
    return { s, index, check, bind, unbind, apply };
  }

  it('gives the exact DN sets after add, delete, prefix, priority, contact and type changes', () => {
    const { index, check, apply } = setup();
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700']);
    expect(index.dnsBehind('B')).toEqual(['7801']);

    // DN added, DN deleted.
    apply([{ op: 'put', kind: 'dn', key: '7711', value: { type: 'extension' } }]);
    apply([{ op: 'delete', kind: 'dn', key: '7777' }]);
    check();
    expect(index.dnsBehind('A')).toEqual(['7700', '7711']);

    // Prefix change: A moves from 77 to 78; B (prefix 7) takes the 77 DNs, A the 78 one.
    apply([{ op: 'patch', kind: 'dn', key: 'A', value: { options: { prefix: '78' } } }]);
    check();
    expect(index.dnsBehind('A')).toEqual(['7801']);
    expect(index.dnsBehind('B')).toEqual(['7700', '7711']);

    // A second softswitch on the same prefix with a better priority takes it; then priority flips.
    apply([
      {
        op: 'put',
        kind: 'dn',
        key: 'C',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5083', 'service-type': 'softswitch', prefix: '78', priority: '0' },
        },
      },
    ]);
    check();
    expect(index.dnsBehind('C')).toEqual(['7801']);
    expect(index.dnsBehind('A')).toEqual([]);
    apply([{ op: 'patch', kind: 'dn', key: 'C', value: { options: { priority: '5' } } }]);
    check();
    expect(index.dnsBehind('A')).toEqual(['7801']);

    // Contact added: the DN is no longer behind a softswitch; removed: it is again.
    apply([{ op: 'patch', kind: 'dn', key: '7700', value: { options: { contact: '127.0.0.1:5099' } } }]);
    check();
    expect(index.dnsBehind('B')).toEqual(['7711']);
    apply([{ op: 'patch', kind: 'dn', key: '7700', value: { options: { contact: null } } }]);
    check();
    expect(index.dnsBehind('B')).toEqual(['7700', '7711']);

    // contact = * (registered) removed: 8888 goes behind B (prefix 88).
    apply([{ op: 'patch', kind: 'dn', key: '8888', value: { options: { contact: null } } }]);
    check();
    expect(index.dnsBehind('B')).toEqual(['7700', '8888', '7711']);

    // Type change: an extension that becomes a trunk is not reported any more.
    apply([{ op: 'put', kind: 'dn', key: '7711', value: { type: 'trunk' } }]);
    check();
    expect(index.dnsBehind('B')).toEqual(['7700', '8888']);

    // A brand-new prefix with no active ancestor (filled from every routed DN), then deleted.
    apply([
      { op: 'put', kind: 'dn', key: '+15550001', value: { type: 'extension' } },
      {
        op: 'put',
        kind: 'dn',
        key: 'Wide',
        value: {
          type: 'voip-service',
          options: { contact: '127.0.0.1:5084', 'service-type': 'softswitch', prefix: '+1' },
        },
      },
    ]);
    check();
    expect(index.dnsBehind('Wide')).toEqual(['+15550001']);
    apply([{ op: 'delete', kind: 'dn', key: 'Wide' }]);
    check();
    expect(index.dnsBehind('Wide')).toEqual([]);

    // A softswitch stops being one (service-type removed), then a DN is re-added (goes last).
    apply([{ op: 'patch', kind: 'dn', key: 'B', value: { options: { 'service-type': null } } }]);
    check();
    expect(index.dnsBehind('B')).toEqual([]);
    expect(index.dnsBehind('A')).toEqual(['7801']);
    apply([
      { op: 'put', kind: 'dn', key: '7777', value: { type: 'extension' } },
      { op: 'patch', kind: 'dn', key: 'A', value: { options: { prefix: '7' } } },
    ]);
    check();
    expect(index.dnsBehind('A')).toEqual(['7700', '7777']);
    expect(index.dnsBehind('C')).toEqual(['7801']); // its prefix 78 is longer than A's 7
  });

  it('follows agent-phone bindings, including a DN deleted and re-added while bound', () => {
    const { index, check, apply, bind, unbind } = setup();
    // 8888 (contact *) worked on agent-phone 7755: behind A while bound.
    bind('8888', '7755');
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700', '8888']);
    // 7801 (behind B by its number) on agent-phone 8812: still B, by the other prefix.
    bind('7801', '8812');
    check();
    expect(index.dnsBehind('B')).toEqual(['7801']);
    bind('7801', '7790');
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700', '7801', '8888']);
    expect(index.dnsBehind('B')).toEqual([]);
    unbind('8888');
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700', '7801']);
    apply([{ op: 'delete', kind: 'dn', key: '7801' }]);
    check();
    apply([{ op: 'put', kind: 'dn', key: '7801', value: { type: 'extension', options: { contact: '*' } } }]);
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700', '7801']);
    unbind('7801');
    check();
    expect(index.dnsBehind('A')).toEqual(['7777', '7700']);
  });

  it('matches the full walk over 400 random changes (seeded)', () => {
    const { check, apply, bind, unbind, s } = setup();
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const numbers = ['7', '70', '77', '771', '7712', '78', '8', '88', '881', '+1', '+15', '9'];
    const dnNumber = (): string => numbers[rnd(numbers.length)] + String(rnd(30));
    const ssNames = ['S1', 'S2', 'S3', 'S4', 'S5'];
    const prefixList = (): string => Array.from({ length: 1 + rnd(3) }, () => numbers[rnd(numbers.length)]).join(', ');
    const types = ['extension', 'acd-position', 'trunk', 'extension'];
    const contacts = [undefined, undefined, '*', '127.0.0.1:5090'];
    for (let step = 0; step < 400; step++) {
      const r = rnd(10);
      if (r < 4) {
        const contact = contacts[rnd(contacts.length)];
        apply([
          {
            op: 'put',
            kind: 'dn',
            key: dnNumber(),
            value: { type: types[rnd(types.length)], options: contact ? { contact } : {} },
          },
        ]);
      } else if (r < 6) {
        const name = ssNames[rnd(ssNames.length)];
        const options: Record<string, string> = {
          contact: `127.0.0.1:${5100 + rnd(5)}`,
          'service-type': 'softswitch',
          prefix: prefixList(),
        };
        if (rnd(2)) options.priority = String(rnd(3));
        apply([{ op: 'put', kind: 'dn', key: name, value: { type: 'voip-service', options } }]);
      } else if (r < 8) {
        const items = s.listDns(0, Number.MAX_SAFE_INTEGER).items.filter((d) => d.type !== 'routing-point');
        if (items.length) apply([{ op: 'delete', kind: 'dn', key: items[rnd(items.length)].number }]);
      } else {
        const items = s.listDns(0, Number.MAX_SAFE_INTEGER).items.filter((d) => d.type === 'extension');
        if (items.length) {
          const dn = items[rnd(items.length)].number;
          if (rnd(2)) bind(dn, dnNumber());
          else unbind(dn);
        }
      }
      check();
    }
  });
});
