/**
 * The built-in media server in the composition root: created from the application options, counted
 * in `sipserver_media_endpoints` on /metrics, closed (ports freed) when the app stops.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { parseSdp } from '../../src/media/sdp.js';
import { silentLogger } from '../../src/util/logger.js';
import { randomPortRange } from '../helpers/media.js';

const dir = mkdtempSync(join(tmpdir(), 'media-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('media in the app', () => {
  it('starts the media server from the options, counts endpoints in /metrics, closes it at stop', async () => {
    const { portMin, portMax } = randomPortRange();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      `server:
  sip:
    listen: ["udp:127.0.0.1:0"]
  http:
    listen: "127.0.0.1:0"
    admin-token: "media-app-test-token"
  options:
    media-address: "127.0.0.3"
    rtp-port-range: "${portMin}-${portMax}"
    ringback-tone: "eu"
`,
    );
    const app = App.create({ configFile: cfg, dataDir: join(dir, 'data'), logger: silentLogger, print: () => {} });
    await app.start();
    const metric = async (): Promise<string | undefined> =>
      /^sipserver_media_endpoints (\d+)$/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1];
    try {
      expect(await metric()).toBe('0');
      const ep = await app.media.createEndpoint('park');
      expect(ep.port).toBeGreaterThanOrEqual(portMin);
      expect(ep.port).toBeLessThanOrEqual(portMax);
      expect(ep.port % 2).toBe(0);
      expect(parseSdp(await ep.createOffer()).connection?.ip).toBe('127.0.0.3');
      expect(await metric()).toBe('1');
    } finally {
      await app.stop();
    }
    expect(app.media.openEndpoints).toBe(0);
    await expect(app.media.createEndpoint()).rejects.toThrow(/not running/);
  });
});
