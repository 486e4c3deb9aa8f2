/**
 * The example configurations as the e2e tests run them (test/helpers/example-config.ts): every
 * fixed loopback port mapped to a distinct free one, nothing else changed, still a valid
 * configuration — so that no e2e test depends on 5060, 5071, 5081 or 8080 being free.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/config-file.js';
import { applyPorts, exampleText, exampleWithFreePorts, loopbackPorts } from '../helpers/example-config.js';
import { examplesDir } from '../helpers/paths.js';

describe('examples with free ports', () => {
  it('every fixed loopback port of every example is mapped to a distinct free port; only the ports change', async () => {
    const names = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const source = exampleText(name);
      const fixed = loopbackPorts(source);
      // Each example listens on 127.0.0.1:5060 (UDP, TCP) and 8080 (HTTP); most name a softswitch at 5071 or 5081.
      expect(fixed, name).toEqual(expect.arrayContaining([5060, 8080]));
      const mapped = await exampleWithFreePorts(name);
      expect([...mapped.ports.keys()], name).toEqual(fixed);
      const free = [...mapped.ports.values()];
      expect(new Set(free).size, name).toBe(free.length);
      for (const p of free) expect(fixed, name).not.toContain(p);
      expect(loopbackPorts(mapped.text), name).toEqual(free);
      // Mapped back, the text is the example's again, byte for byte.
      expect(applyPorts(mapped.text, new Map(free.map((p, i) => [p, fixed[i]!]))), name).toBe(source);
      const loaded = loadConfigText(mapped.text);
      expect(loaded.errors, name).toEqual([]);
      // No fixed port is left in the configuration itself (comments may still quote the guide's addresses).
      expect(JSON.stringify(loaded.model), name).not.toMatch(new RegExp(`:(${fixed.join('|')})\\b`));
    }
  });
});
