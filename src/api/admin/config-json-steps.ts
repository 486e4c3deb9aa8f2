/**
 * The body of `GET /api/config` built in steps (docs/admin-api.md): at 10,000 agents the whole
 * document is several MB of JSON, about 50 ms of the event loop in one piece, which would delay
 * the calls of a migration that reads it (behaviour §13). The model is taken at one version
 * (the store's objects are replaced on change, never modified), then turned into the file
 * format without secrets and stringified a slice of objects at a time.
 */
import type { ConfigModel } from '../../config/config-model.js';
import { modelToDocument } from '../../config/config-file.js';
import { redactModel } from '../../config/secrets.js';

/** Objects turned into JSON between two yields. */
const STEP = 256;

/**
 * The JSON text of `{ version, config: modelToDocument(redactModel(model)) }`, the same as one
 * `JSON.stringify` of it; the generator yields every {@link STEP} objects.
 */
export function* configJsonSteps(version: number, model: ConfigModel): Generator<void, string, void> {
  const none = { server: model.server, dns: [], agents: [], agentGroups: [] };
  const server = JSON.stringify(modelToDocument(redactModel(none)).server);
  const parts: string[] = [`{"version":${JSON.stringify(version)},"config":{"server":${server}`];
  const lists = [
    ['dns', (i: number) => modelToDocument(redactModel({ ...none, dns: model.dns.slice(i, i + STEP) })).dns],
    [
      'agents',
      (i: number) => modelToDocument(redactModel({ ...none, agents: model.agents.slice(i, i + STEP) })).agents,
    ],
    [
      'agent-groups',
      (i: number) =>
        modelToDocument(redactModel({ ...none, agentGroups: model.agentGroups.slice(i, i + STEP) }))['agent-groups'],
    ],
  ] as const;
  const lengths = { dns: model.dns.length, agents: model.agents.length, 'agent-groups': model.agentGroups.length };
  for (const [key, slice] of lists) {
    const items: string[] = [];
    for (let i = 0; i < lengths[key]; i += STEP) {
      const text = JSON.stringify(slice(i));
      if (text.length > 2) items.push(text.slice(1, -1));
      yield;
    }
    parts.push(`,${JSON.stringify(key)}:[${items.join(',')}]`);
  }
  parts.push('}}');
  return parts.join('');
}
