import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSteps } from '../../../src/api/admin/config-json-steps.js';
import { loadConfigText, modelToDocument } from '../../../src/config/config-file.js';
import type { ConfigModel } from '../../../src/config/config-model.js';
import { redactModel } from '../../../src/config/secrets.js';
import { TurnSlicer } from '../../../src/config/turn-slicer.js';
import { examplesDir } from '../../helpers/paths.js';

const model = (f: string): ConfigModel =>
  loadConfigText(readFileSync(join(examplesDir, f), 'utf8'), f).model as ConfigModel;

/** `base` with `n` more DNs (a password on every third) and agents. */
function bigger(base: ConfigModel, n: number): ConfigModel {
  const dns = [...base.dns];
  const agents = [...base.agents];
  for (let i = 0; i < n; i++) {
    dns.push({
      number: String(20000 + i),
      type: 'extension',
      options: i % 3 ? {} : { password: `s${i}`, contact: '*' },
    });
    agents.push({ id: `x${i}`, name: `X ${i}`, password: 'pw', dn: String(20000 + i), options: {} });
  }
  return { ...base, dns, agents, agentGroups: [...base.agentGroups, { name: 'big', agents: agents.map((a) => a.id) }] };
}

describe('GET /api/config body in steps', () => {
  it('is the JSON of { version, config: modelToDocument(redactModel(model)) }, secrets left out', async () => {
    for (const m of [model('office.yaml'), model('home.yaml'), bigger(model('office.yaml'), 1000)]) {
      const text = await new TurnSlicer(0.5).run(configJsonSteps(42, m));
      expect(text).toBe(JSON.stringify({ version: 42, config: modelToDocument(redactModel(m)) }));
      expect(text).not.toMatch(/"password"/);
    }
  });
});
