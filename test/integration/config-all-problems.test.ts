/**
 * Every problem in one pass, end to end: `sipserver config validate FILE` (interfaces §1, the
 * built command `node dist/cli/main.js`) and a refused change-set of the admin API (interfaces §5:
 * 422 listing every problem). Five distinct problems, one of which (a type typo on one of two
 * numbers that normalise alike) used to hide others.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { repoRoot } from '../helpers/paths.js';

const FILE = `server:
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
  - number: Office
    type: voip-service
    options: { service-type: softswitch, prefix: "77" }
agents:
  - { id: jay, password: "jay-secret", dn: "8888" }
`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist/cli/main.js'), ...args],
      { cwd: repoRoot, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('every problem in one pass', () => {
  let dir: string;
  let store: ConfigStore;
  let server: HttpServer;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipserver-problems-'));
    store = openStore(join(dir, 'data'));
    server = await createHttpServer({ store, token: 'problems-token-1' });
    url = (await server.listen('127.0.0.1:0')).url;
  });

  afterAll(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sipserver config validate lists all five problems with their lines, in line order, and exits 1', async () => {
    const f = join(dir, 'five.yaml');
    writeFileSync(f, FILE);
    const r = await cli(['config', 'validate', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `${f}:9: DN +15551232222 is already defined at line 7`,
      `${f}:10: type "extensoin" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue`,
      `${f}:13: DN 7777: option oos-check: "soon" is not an integer from 0 to 86400`,
      `${f}:16: DN Office: a softswitch needs a contact (host[:port] or SIP URI)`,
      `${f}:18: agent jay: DN 8888 does not exist`,
    ]);
  });

  it('the same five problems as a change-set: 422 listing every one with its change index, nothing applied', async () => {
    const changes = [
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
      {
        op: 'put',
        kind: 'dn',
        key: 'Office',
        value: { type: 'voip-service', options: { 'service-type': 'softswitch', prefix: '77' } },
      },
      { op: 'put', kind: 'agent', key: 'jay', value: { password: 'jay-secret', dn: '8888' } },
    ];
    const expected = [
      {
        index: 2,
        message:
          'type "extensoin" is not one of extension, acd-position, voip-service, trunk, routing-point, acd-queue',
      },
      {
        index: 2,
        message:
          'DN +15551232222 is already put by change 1 ("+1 555 123 2222" and "+15551232222" are the same number once normalised)',
      },
      { index: 3, message: 'DN 7777: option oos-check: "soon" is not an integer from 0 to 86400' },
      { index: 4, message: 'DN Office: a softswitch needs a contact (host[:port] or SIP URI)' },
      { index: 5, message: 'agent jay: DN 8888 does not exist' },
    ];
    for (const q of ['', '?dryRun=true']) {
      const res = await fetch(`${url}/api/config/change-sets${q}`, {
        method: 'POST',
        headers: { authorization: 'Bearer problems-token-1', 'content-type': 'application/json' },
        body: JSON.stringify({ changes }),
      });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({ errors: expected });
    }
    expect(store.version).toBe(0);
    expect(store.dnCount).toBe(0);
  });
});
