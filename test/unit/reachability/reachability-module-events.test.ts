import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { createReachability, type Reachability } from '../../../src/reachability/reachability-module.js';
import type { OptionsResult } from '../../../src/reachability/options-sender.js';
import type { RegistrarListener } from '../../../src/registrar/registrar-listener.js';
import type { Binding } from '../../../src/registrar/binding.js';
import { FakeClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';

const CONFIG = `
server: { name: T, sip: { listen: ["udp:127.0.0.1:5060"] } }
dns:
  - { number: "8888", type: extension, options: { contact: "*" } }
  - { number: "7777", type: extension }
  - { number: "7700", type: extension }
  - { number: "6000", type: extension }
  - number: PBX
    type: voip-service
    options: { contact: "127.0.0.1:5081", service-type: softswitch, prefix: "77", oos-check: "10", oos-force: "2" }
`;

describe('reachability DN service events (behaviour §3.5, §5.1 oos-propagate-to-dns, §12.3)', () => {
  let dir = '';
  let store: ConfigStore | undefined;
  let reach: Reachability | undefined;
  afterEach(() => {
    reach?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(answer: { current: OptionsResult }): {
    events: string[];
    clock: FakeClock;
    registrar: RegistrarListener[];
  } {
    dir = mkdtempSync(join(tmpdir(), 'reach-ev-'));
    store = openStore(dir);
    store.reconcile(loadConfigText(CONFIG, 'test.yaml').model!);
    const clock = new FakeClock(1_000_000);
    const registrar: RegistrarListener[] = [];
    reach = createReachability({
      store,
      registrations: {
        get: () => [],
        addListener: (l) => {
          registrar.push(l);
          return () => undefined;
        },
      },
      clock,
      logger: silentLogger,
      sender: { send: () => Promise.resolve(answer.current) },
      random: () => 0,
    });
    const events: string[] = [];
    reach.addListener({
      outOfService: (dn) => events.push(`OUT ${dn}`),
      backInService: (dn) => events.push(`IN ${dn}`),
    });
    return { events, clock, registrar };
  }

  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('a softswitch going OUT and back IN is also reported on the DNs behind it', async () => {
    const answer: { current: OptionsResult } = { current: { kind: 'transport-error' } };
    const { events, clock } = setup(answer);
    clock.advance(1);
    await flush();
    expect(events).toEqual(['OUT PBX', 'OUT 7777', 'OUT 7700']);
    answer.current = { kind: 'final', status: 200 };
    clock.advance(10_000);
    await flush();
    expect(events.slice(3)).toEqual(['IN PBX', 'IN 7777', 'IN 7700']);
  });

  it('oos-propagate-to-dns = false reports the softswitch only', async () => {
    const answer: { current: OptionsResult } = { current: { kind: 'transport-error' } };
    const { events, clock } = setup(answer);
    store!.apply([{ op: 'patch', kind: 'dn', key: 'PBX', value: { options: { 'oos-propagate-to-dns': 'false' } } }]);
    clock.advance(1_000);
    await flush();
    expect(events).toEqual(['OUT PBX']);
  });

  it('the DNs behind a softswitch follow configuration changes and agent-phone logins', async () => {
    const answer: { current: OptionsResult } = { current: { kind: 'transport-error' } };
    const { events, clock } = setup(answer);
    store!.apply([
      { op: 'put', kind: 'dn', key: '7711', value: { type: 'extension' } }, // added
      { op: 'delete', kind: 'dn', key: '7777' }, // deleted
      { op: 'patch', kind: 'dn', key: '7700', value: { options: { contact: '127.0.0.1:5099' } } }, // contact added
      { op: 'patch', kind: 'dn', key: 'PBX', value: { options: { prefix: '77, 60' } } }, // prefix added
    ]);
    expect(reach!.bindAgentPhone('8888', '7755').ok).toBe(true); // contact=* DN worked on a phone behind PBX
    clock.advance(1);
    await flush();
    expect(events).toEqual(['OUT PBX', 'OUT 8888', 'OUT 6000', 'OUT 7711']); // configuration order
    reach!.unbindAgentPhone('8888');
    answer.current = { kind: 'final', status: 200 };
    clock.advance(10_000);
    await flush();
    expect(events.slice(4)).toEqual(['IN PBX', 'IN 6000', 'IN 7711']);
  });

  it('registration changes of a contact=* DN are reported; deconfiguration is not', () => {
    const { events, registrar } = setup({ current: { kind: 'final', status: 200 } });
    const binding = {} as Binding;
    for (const l of registrar) l.registered?.('8888', binding);
    for (const l of registrar) l.unregistered?.('8888', 'expired');
    for (const l of registrar) l.unregistered?.('8888', 'deconfigured');
    expect(events).toEqual(['IN 8888', 'OUT 8888']);
  });
});
