/**
 * Headless Chromium for the web UI's tests: Debian's `chromium` (installed by
 * scripts/install-system-deps.sh) driven by playwright-core, never a downloaded browser. Every
 * page records its console errors, failed requests and uncaught exceptions, so that a test can
 * assert there were none; screenshots go to `test/.artifacts/screenshots/`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './paths.js';

/** Where {@link screenshot} writes. */
export const SCREENSHOT_DIR = join(repoRoot, 'test/.artifacts/screenshots');

/** Chromium's path: `SIPSERVER_CHROMIUM`, else Debian's. */
export const CHROMIUM_PATH = process.env.SIPSERVER_CHROMIUM ?? '/usr/bin/chromium';

/** A page and what went wrong on it. */
export interface WatchedPage {
  readonly page: Page;
  /** Console messages of type `error`, uncaught exceptions, failed requests. */
  readonly problems: string[];
}

/** One headless browser. */
export class TestBrowser {
  private constructor(readonly browser: Browser) {}

  /**
   * Starts Chromium headless with the flags that keep it off the network this machine does not
   * have (no background networking, component updates or sync; no QUIC); playwright gives it a
   * fresh temporary profile.
   */
  static async launch(): Promise<TestBrowser> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    return new TestBrowser(browser);
  }

  /** A new context (its own storage) at 1366×768, the laptop screen of the issue. */
  async context(): Promise<BrowserContext> {
    return this.browser.newContext({ viewport: { width: 1366, height: 768 } });
  }

  /** Opens `url` in a new page of `context` (default a new one), recording its problems. */
  async open(url: string, context?: BrowserContext): Promise<WatchedPage> {
    const page = await (context ?? (await this.context())).newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
    page.on('requestfailed', (r) => {
      // A page closed or navigated away aborts its open streams: not a problem of the page.
      if (r.failure()?.errorText !== 'net::ERR_ABORTED')
        problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    await page.goto(url);
    return { page, problems };
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Saves a full-viewport PNG of `page` as `SCREENSHOT_DIR/name.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
