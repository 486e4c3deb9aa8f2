/**
 * Two `sipserver start --redis` processes share registrations (docs/cluster.md): a phone (SIPp)
 * registers DN 8888 of examples/office.yaml on node A; node B lists it in `/api/status`, and so
 * does a node C started afterwards. Without Redis, `start --redis` of a dead address exits 1
 * with a clear message.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../helpers/admin-http.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { TestRedis } from '../helpers/redis.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { runSipp } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'cluster-registrations-token';
const CONFIG = join(examplesDir, 'office.yaml');

let redis: TestRedis;
const nodes: ServerProcess[] = [];

async function startNode(name: string): Promise<ServerProcess> {
  const node = await startServerProcess({
    config: CONFIG,
    sipListen: ['udp:127.0.0.1:0'],
    args: ['--redis', redis.url, '--node', name],
    env: { SIPSERVER_TOKEN: TOKEN },
  });
  nodes.push(node);
  return node;
}

interface RegistrationRow {
  dn: string;
  contact: string;
}

async function registrations(node: ServerProcess): Promise<RegistrationRow[]> {
  const r = await adminRequest(node.httpUrl!, TOKEN, 'GET', '/api/status?sections=registrations');
  expect(r.status).toBe(200);
  return r.json.registrations as RegistrationRow[];
}

beforeAll(async () => {
  redis = await TestRedis.start();
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await redis?.stop();
});

describe('a cluster shares registrations through Redis', () => {
  it('a phone registered on node A is known to node B and to a node started later', async () => {
    const [a, b] = await Promise.all([startNode('a'), startNode('b')]);
    const localPort = await freePort();
    const r = await runSipp({
      scenario: join(repoRoot, 'test/integration/sipp/uac-register-auth.xml'),
      target: a.addresses[0].replace(/^udp:/, ''),
      localPort,
      args: ['-s', '8888', '-au', '8888', '-ap', '8888-secret'],
      timeoutMs: 20_000,
    });
    expect(r.code, r.errors).toBe(0);
    const contact = `sip:8888@127.0.0.1:${localPort}`;
    const seen = await waitFor(
      async () => (await registrations(b)).find((x) => x.dn === '8888' && x.contact === contact),
      'node B listing the registration made on node A',
    );
    expect(seen).toBeDefined();
    const c = await startNode('c');
    expect((await registrations(c)).map((x) => `${x.dn} ${x.contact}`)).toContain(`8888 ${contact}`);
  });

  it('start --redis with no Redis there exits 1 and says why', async () => {
    const port = await freePort();
    await expect(
      startServerProcess({
        config: CONFIG,
        sipListen: ['udp:127.0.0.1:0'],
        args: ['--redis', `redis://127.0.0.1:${port}`],
        startTimeoutMs: 15_000,
      }),
    ).rejects.toThrow(
      new RegExp(`exited during start \\(code 1\\): error: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/?:`),
    );
  });
});
