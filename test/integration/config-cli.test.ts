/**
 * `sipserver config validate|export|diff` (interfaces §1), run as the real command.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { redactModel } from '../../src/config/secrets.js';
import { encodeWav } from '../../src/media/builtin/wav.js';
import { createHttpServer, type HttpServer } from '../../src/api/http-server.js';
import { examplesDir, repoRoot } from '../helpers/paths.js';

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, SIPSERVER_TOKEN: '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sipserver-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sipserver config validate', () => {
  it('exit 0 for every example', async () => {
    for (const f of [
      'office.yaml',
      'home.yaml',
      'home-agent-phone.yaml',
      'home-nailed-up.yaml',
      'home-nailed-up-legacy.yaml',
    ]) {
      const r = await cli(['config', 'validate', join(examplesDir, f)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('valid');
    }
  });

  it('exit 1 with every problem as FILE:LINE: message', async () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(
      f,
      `dns:
  - number: SS
    type: voip-service
    options:
      service-type: softswitch
      oos-check: soon
  - number: "1"
    type: extension
    options: { my-option: "x" }
agents:
  - { id: joe, password: p, dn: "2" }
`,
    );
    const r = await cli(['config', 'validate', f]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${f}:5: DN SS: a softswitch needs a contact (host[:port] or SIP URI)`,
      `${f}:5: DN SS: a softswitch needs a prefix`,
      `${f}:6: DN SS: option oos-check: "soon" is not an integer from 0 to 86400`,
      `${f}:11: agent joe: DN 2 does not exist`,
      `${f}:9: warning: DN 1: unknown option my-option (kept)`,
    ]);
  });

  it('names a music-on-hold file in a wrong format and what is wrong with it, and bad media options', async () => {
    const wav = join(tmp, 'stereo.wav');
    writeFileSync(wav, encodeWav(new Int16Array(1600), 1, 2));
    const f = join(tmp, 'media.yaml');
    writeFileSync(
      f,
      `server:
  options:
    music-on-hold-file: "${wav}"
    rtp-port-range: "30000"
    media-address: "0.0.0.0"
    ringback-tone: "fr"
`,
    );
    const r = await cli(['config', 'validate', f]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${f}:3: server: option music-on-hold-file: ${wav}: 2 channels; mono (1 channel) is required`,
      `${f}:4: server: option rtp-port-range: "30000" is not a UDP port range min-max (1024–65535, e.g. 20000-29999)`,
      `${f}:5: server: option media-address: "0.0.0.0" is not an IP address (not 0.0.0.0)`,
      `${f}:6: server: option ringback-tone: "fr" is not one of us, uk, eu`,
    ]);
    writeFileSync(wav, encodeWav(new Int16Array(1600)));
    writeFileSync(join(tmp, 'good.yaml'), `server:\n  options:\n    music-on-hold-file: "${wav}"\n`);
    const ok = await cli(['config', 'validate', join(tmp, 'good.yaml')]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('sipserver config export / diff', () => {
  let store: ConfigStore;
  let server: HttpServer;
  let url: string;
  const dataDir = () => join(tmp, 'data');

  beforeAll(async () => {
    store = openStore(dataDir());
    store.reconcile(loadConfigText(readFileSync(join(examplesDir, 'office.yaml'), 'utf8')).model!);
    server = await createHttpServer({ store, token: 'cli-test-token' });
    url = (await server.listen('127.0.0.1:0')).url;
  });
  afterAll(async () => {
    await server.close();
    store.close();
  });

  it('export --data and export --server give a file that loads back to the same model (secrets left out, kept by a reconcile)', async () => {
    const a = await cli(['config', 'export', '--data', dataDir()]);
    expect(a.code, a.stderr).toBe(0);
    expect(loadConfigText(a.stdout).model).toEqual(redactModel(store.exportModel()));
    expect(store.diff(loadConfigText(a.stdout).model!)).toEqual([]);
    const b = await cli(['config', 'export', '--server', url, '--token', 'cli-test-token']);
    expect(b.code, b.stderr).toBe(0);
    expect(loadConfigText(b.stdout).model).toEqual(redactModel(store.exportModel()));
    const c = await cli(['config', 'export', '--server', url], { SIPSERVER_TOKEN: 'cli-test-token' });
    expect(c.code, c.stderr).toBe(0);
  });

  it('export --server without a valid token fails clearly', async () => {
    expect((await cli(['config', 'export', '--server', url])).stderr).toContain('needs the admin token');
    const r = await cli(['config', 'export', '--server', url, '--token', 'nope-nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refused (401)');
  });

  it('diff: nothing against the same file (exit 0), the office → home changes otherwise (exit 1)', async () => {
    const same = await cli(['config', 'diff', join(examplesDir, 'office.yaml'), '--data', dataDir()]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('no changes');
    const d = await cli([
      'config',
      'diff',
      join(examplesDir, 'home.yaml'),
      '--server',
      url,
      '--token',
      'cli-test-token',
    ]);
    expect(d.code).toBe(1);
    const lines = d.stdout.trim().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual(
      [
        '~ dn Softswitch: options.contact "127.0.0.1:5081" → "127.0.0.1:5071", options.prefix "77" → "+1"',
        '+ dn +15551231111 (extension)',
        '+ dn +15551232222 (extension)',
        '- dn 8888',
        '- dn 7777',
        '~ agent joe: dn "8888" → "+15551231111"',
        '~ agent jay: dn "7777" → "+15551232222"',
      ].sort(),
    );
    expect(lines.at(-1)).toContain('7 change(s)');
    expect(store.version).toBe(1);
  });

  it('diff of an invalid file: problems and exit 2', async () => {
    const f = join(tmp, 'bad2.yaml');
    writeFileSync(f, 'dns:\n  - number: "1"\n    type: nope\n');
    const r = await cli(['config', 'diff', f, '--data', dataDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:3: type "nope"`);
  });

  it('options-doc --check agrees with docs/options.md', async () => {
    const r = await cli(['config', 'options-doc', '--check', join(repoRoot, 'docs/options.md')]);
    expect(r.code, r.stderr).toBe(0);
  });
});
