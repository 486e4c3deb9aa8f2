/**
 * Acceptance of the agent desktop in the browser (docs/agent-desktop.md), examples/home-agent-phone.yaml
 * with the real server, SIPp customer and SBC, and Debian's Chromium: Jay logs in with the
 * keyboard behind a path prefix with his home phone number, goes Not Ready (shown live in the admin
 * console's Agents table) and Ready, a customer
 * call to 5000 shows Ringing then Established within 200 ms of the SIP messages at the SBC, Hold
 * and Retrieve send re-INVITEs, a network drop shows Reconnecting… and comes back with the same
 * login and the call as it is now, Release sends the BYEs and ends in After Call Work (ManualIn),
 * Make call, Transfer, Consult + Complete transfer, the phone number offered again at the next
 * login, login errors in words; with `agent-desktop-grace: "2"`, a closed desktop logs Jay out
 * after 2 s, or right after his call; an unreachable server is said so.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtiTestClient } from '../helpers/cti-client.js';
import { screenshot, TestBrowser, type WatchedPage } from '../helpers/browser.js';
import { startPrefixProxy, type PrefixProxy } from '../helpers/prefix-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { E2E_TOKEN, E2eEnv, agentStatus, dnEvent } from './e2e-support.js';

/** Installed before the page's scripts: the wall-clock time each call card first showed each state. */
function recordCallStates(): void {
  const seen: Record<string, number> = {};
  (window as unknown as { __callStates: Record<string, number> }).__callStates = seen;
  new MutationObserver(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll<HTMLElement>('.call-state')) {
      const key = `${el.dataset.connId}:${el.textContent}`;
      if (!(key in seen)) seen[key] = now;
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/** One message of a SIPp `-trace_msg` log with the wall-clock time SIPp stamped on it. */
interface StampedMessage {
  readonly at: number;
  readonly dir: 'sent' | 'received';
  readonly text: string;
}

/** The messages of a `-trace_msg` log with their times (SIPp writes local time, µs). */
function stampedMessages(log: string): StampedMessage[] {
  const out: StampedMessage[] = [];
  const re = /^-{20,}\s+(\d{4})-(\d\d)-(\d\d)\s+(\d\d):(\d\d):(\d\d)\.(\d{3})\d*\s*$/gm;
  const heads = [...log.matchAll(re)];
  heads.forEach((h, i) => {
    const body = log.slice(h.index + h[0].length, heads[i + 1]?.index ?? log.length).trimStart();
    const [y, mo, d, hh, mm, ss, ms] = h.slice(1, 8).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    out.push({
      at: new Date(y, mo - 1, d, hh, mm, ss, ms).getTime(),
      dir: /message sent/i.test(body.split('\n')[0]!) ? 'sent' : 'received',
      text: body.split('\n').slice(1).join('\n').trim(),
    });
  });
  return out;
}

const statusIs = (page: Page, text: string) =>
  page
    .getByRole('status')
    .filter({ hasText: new RegExp(`^${text}$`) })
    .waitFor({ timeout: 10_000 });

/** Fills the login form as Jay on 8888 (and `phone`) and submits it. */
async function submitLogin(page: Page, phone = ''): Promise<void> {
  await page.getByLabel('Agent ID').fill('jay');
  await page.getByLabel('Password').fill('jay-secret');
  await page.getByLabel('Place').fill('8888');
  await page.getByRole('textbox', { name: 'Phone number' }).fill(phone);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const callCard = (page: Page, state: string) =>
  page.locator('article.call').filter({ has: page.locator('.call-state', { hasText: new RegExp(`^${state}$`) }) });

describe('agent desktop in Chromium (examples/home-agent-phone.yaml)', () => {
  const env = new E2eEnv({ example: 'home-agent-phone.yaml', softswitchPort: 5081 });
  let browser: TestBrowser;
  let proxy: PrefixProxy;
  let desk: WatchedPage;
  let page: Page;
  /** An application-scope desktop on 8888: sees every event of Jay's DN. */
  let watcher: CtiTestClient;
  let connId = '';

  beforeAll(async () => {
    await env.start();
    browser = await TestBrowser.launch();
    proxy = await startPrefixProxy(env.server.httpUrl!, '/contact-centre/desk');
    watcher = await env.supervisorDesk(['8888']);
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await env.stop();
  });

  it('logs Jay in with the keyboard only, behind a path prefix, with Phone number "+1 555 123 2222"', async () => {
    const context = await browser.context();
    await context.addInitScript(recordCallStates);
    desk = await browser.open(proxy.url, context);
    page = desk.page;
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('agentId');
    await page.keyboard.type('jay');
    await page.keyboard.press('Tab');
    await page.keyboard.type('jay-secret');
    await page.keyboard.press('Tab');
    await page.keyboard.type('8888');
    await page.keyboard.press('Tab');
    await page.keyboard.type('+1 555 123 2222');
    await screenshot(page, 'agent-desktop-login');
    await page.keyboard.press('Enter');
    await statusIs(page, 'Ready');
    expect(await page.locator('.who').textContent()).toBe('Agent jayPlace 8888Phone +15551232222');
    expect(await agentStatus(env.server, 'jay')).toMatchObject({
      state: 'Ready',
      workMode: 'ManualIn',
      agentPhone: '+15551232222',
    });
  });

  it("goes Not Ready with a reason, shown live in the admin console's Agents table, then Ready", async () => {
    // The console, behind the same prefix, signed in before the change: it must arrive pushed.
    const console = await browser.open(new URL('admin', proxy.url).toString());
    await console.page.getByLabel('Admin token').fill(E2E_TOKEN);
    await console.page.getByLabel('Admin token').press('Enter');
    const jayRow = console.page.getByRole('table', { name: 'Agents' }).getByRole('row', { name: /jay/ });
    await jayRow.getByText('Ready', { exact: true }).waitFor();
    await page.getByLabel('Reason').fill('Break');
    await page.getByRole('button', { name: 'Not Ready' }).click();
    await statusIs(page, 'Not Ready — Break');
    expect(await watcher.waitFor(dnEvent('EventAgentNotReady', '8888'))).toMatchObject({
      workMode: 'AuxWork',
      reasonCode: 'Break',
    });
    await jayRow.getByText('Not Ready', { exact: true }).waitFor();
    expect(await jayRow.getByRole('cell').allTextContents()).toEqual([
      '8888',
      'Not Ready',
      'Break',
      '+15551232222',
      'AuxWork',
    ]);
    expect(console.problems).toEqual([]);
    await console.page.context().close();
    await page.getByRole('button', { name: 'Ready', exact: true }).click();
    await statusIs(page, 'Ready');
  });

  it('a customer call to 5000 shows Ringing then Established within 200 ms of the SIP messages at the SBC', async () => {
    const customer = await env.uac('e2e-uac-customer-stays.xml', '5000');
    await callCard(page, 'Established').waitFor({ timeout: 10_000 });
    const seen = await page.evaluate(
      () => (window as unknown as { __callStates: Record<string, number> }).__callStates,
    );
    connId = (await callCard(page, 'Established').locator('.call-state').getAttribute('data-conn-id'))!;
    expect(connId).toMatch(/^[0-9a-f]{16}$/);

    const sbc = stampedMessages(env.sbc.messagesLog());
    const invite = sbc.find((m) => m.dir === 'received' && m.text.startsWith('INVITE sip:+15551232222@'));
    const callId = /^Call-ID:\s*(\S+)/im.exec(invite!.text)![1]!;
    const ok = sbc.find(
      (m) =>
        m.dir === 'sent' &&
        m.text.startsWith('SIP/2.0 200') &&
        m.text.includes(callId) &&
        /^CSeq:\s*\d+ INVITE/im.test(m.text),
    );
    const ringingMs = seen[`${connId}:Ringing`]! - invite!.at;
    const establishedMs = seen[`${connId}:Established`]! - ok!.at;
    console.log(
      `desktop latency: Ringing ${ringingMs} ms after the INVITE reached the SBC, Established ${establishedMs} ms after the SBC sent 200 OK`,
    );
    expect(ringingMs).toBeLessThanOrEqual(200);
    expect(establishedMs).toBeLessThanOrEqual(200);

    const card = callCard(page, 'Established');
    expect(await card.locator('dl').textContent()).toBe(
      `From (ANI)+15557654321Dialled (DNIS)5000TypeInboundCall ID${connId}`,
    );
    await screenshot(page, 'agent-desktop');
    expect(customer.receivedRequests('BYE')).toEqual([]);
  });

  it('Hold and Retrieve re-INVITE the SBC and the customer', async () => {
    const sbcInvites = env.sbc.receivedRequests('INVITE').length;
    await page.getByRole('button', { name: 'Hold' }).click();
    await callCard(page, 'Held').waitFor();
    await waitFor(() => env.sbc.receivedRequests('INVITE').length === sbcInvites + 1, {
      what: 'hold re-INVITE at the SBC',
    });
    await page.getByRole('button', { name: 'Retrieve' }).click();
    await callCard(page, 'Established').waitFor();
    expect(await watcher.waitFor(dnEvent('EventRetrieved', '8888'))).toMatchObject({ connId });
  });

  it('a network drop shows Reconnecting…, then the same login and the call as it is now (held meanwhile)', async () => {
    watcher.skipReceived();
    const resume = proxy.interrupt();
    await page.getByText('Reconnecting…').waitFor();
    // While the desktop is away, a supervisor holds the call: only a resync can show it.
    const holdAt = Date.now();
    expect(await watcher.request('RequestHoldCall', { thisDN: '8888', connId })).toMatchObject({ event: 'EventHeld' });
    // The resync's call carries how long it has been in its state (the desktop's timer goes on from it).
    const info = await watcher.request('RequestQueryAddress', { thisDN: '8888' });
    const held = (info.calls as Array<{ connId: string; state: string; inStateMs: number }>)[0]!;
    expect(held).toMatchObject({ connId, state: 'Held' });
    expect(held.inStateMs).toBeGreaterThanOrEqual(0);
    expect(held.inStateMs).toBeLessThanOrEqual(Date.now() - holdAt);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'BusyReady' });
    resume();
    await page.getByText('Reconnecting…').waitFor({ state: 'hidden', timeout: 10_000 });
    await callCard(page, 'Held').waitFor();
    await statusIs(page, 'Ready');
    expect(watcher.pending().filter((f) => f.event === 'EventAgentLogout')).toEqual([]);
    await page.getByRole('button', { name: 'Retrieve' }).click();
    await callCard(page, 'Established').waitFor();
  });

  it('Release sends the BYEs and ends in After Call Work (ManualIn)', async () => {
    const customers = env.peers.filter((p) => p !== env.sbc);
    const customer = customers[customers.length - 1]!;
    await page.getByRole('button', { name: 'Release' }).click();
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    await waitFor(() => env.sbc.distinctRequests('BYE', env.sbc.callIds()) === 1, { what: 'BYE to the agent-phone' });
    await statusIs(page, 'After Call Work');
    expect(await page.getByText('No call.').count()).toBe(1);
  });

  it('Make call reaches the number through the SBC and is released from the desktop', async () => {
    const invites = env.sbc.receivedRequests('INVITE').length;
    await page.getByLabel('Number to call').fill('+1 555 777 0000');
    await page.getByLabel('Number to call').press('Enter');
    await callCard(page, 'Established').waitFor({ timeout: 10_000 });
    const firstLines = env.sbc
      .receivedRequests('INVITE')
      .slice(invites)
      .map((m) => m.firstLine);
    expect(firstLines).toContain(`INVITE sip:+15557770000@${env.sbcAddress} SIP/2.0`);
    await page.getByRole('button', { name: 'Release' }).click();
    await page.getByText('No call.').waitFor();
  });

  it('Transfer sends the customer to a number through the SBC; the call leaves the desktop', async () => {
    await page.getByRole('button', { name: 'Ready', exact: true }).click();
    await statusIs(page, 'Ready');
    const invites = env.sbc.receivedRequests('INVITE').length;
    await env.uac('e2e-uac-customer-stays.xml', '5000');
    await callCard(page, 'Established').waitFor({ timeout: 10_000 });
    await page.getByLabel('Transfer to').fill('+1 555 999 0000');
    await page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await page.getByText('No call.').waitFor();
    await waitFor(
      () =>
        env.sbc
          .receivedRequests('INVITE')
          .slice(invites)
          .some((m) => m.firstLine === `INVITE sip:+15559990000@${env.sbcAddress} SIP/2.0`),
      { what: 'INVITE of the transfer target at the SBC' },
    );
    await statusIs(page, 'After Call Work');
  });

  it('Consult shows the consultation next to the held call; Complete transfer ends both on the desktop', async () => {
    await page.getByRole('button', { name: 'Ready', exact: true }).click();
    await statusIs(page, 'Ready');
    await env.uac('e2e-uac-customer-stays.xml', '5000');
    await callCard(page, 'Established').waitFor({ timeout: 10_000 });
    await page.getByLabel('Transfer to').fill('+1 555 987 6543');
    await page.getByRole('button', { name: 'Consult', exact: true }).click();
    await callCard(page, 'Held').waitFor({ timeout: 10_000 });
    const consult = callCard(page, 'Established');
    await consult.waitFor({ timeout: 10_000 });
    expect(await consult.locator('dl').textContent()).toContain('TypeConsult');
    expect(
      env.sbc
        .receivedRequests('INVITE')
        .filter((m) => m.firstLine === `INVITE sip:+15559876543@${env.sbcAddress} SIP/2.0`),
    ).toHaveLength(1);
    await consult.getByRole('button', { name: 'Complete transfer' }).click();
    await page.getByText('No call.').waitFor({ timeout: 10_000 });
  });

  it('logs out, and offers the phone number again at the next login; no console error on the way', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'LoggedOut' });
    await page.getByLabel('Agent ID').fill('jay');
    await page.getByRole('button', { name: 'Use +1 555 123 2222' }).click();
    expect(await page.getByRole('textbox', { name: 'Phone number' }).inputValue()).toBe('+1 555 123 2222');
    await page.getByLabel('Password').fill('wrong');
    await page.getByLabel('Place').fill('8888');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong agent ID or password.' }).waitFor();
    const failures: Array<[string, string, string]> = [
      ['9999', '', 'This place is not allowed for this agent.'],
      ['8888', 'abc', 'Phone number invalid: use digits, with an optional leading +.'],
      ['8888', '5000', 'Phone number invalid: it is an internal number of the switch.'],
    ];
    await page.getByLabel('Password').fill('jay-secret');
    for (const [place, phone, words] of failures) {
      await page.getByLabel('Place').fill(place);
      await page.getByRole('textbox', { name: 'Phone number' }).fill(phone);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: words }).waitFor();
    }
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'LoggedOut' });
    expect(desk.problems).toEqual([]);
  });
});

describe('agent desktop with agent-desktop-grace: "2"', () => {
  const env = new E2eEnv({
    example: 'home-agent-phone.yaml',
    softswitchPort: 5081,
    serverOptions: { 'agent-desktop-grace': '2' },
  });
  let browser: TestBrowser;

  beforeAll(async () => {
    await env.start();
    browser = await TestBrowser.launch();
  });

  afterAll(async () => {
    await browser?.close();
    await env.stop();
  });

  it('a closed desktop logs Jay out after 2 s (EventAgentLogout to the DN), not before', async () => {
    const watcher = await env.supervisorDesk(['8888']);
    const { page, problems } = await browser.open(env.server.httpUrl!.replace(/\/?$/, '/'));
    await submitLogin(page);
    await statusIs(page, 'Ready');
    expect(problems).toEqual([]);
    await page.context().close();
    const closedAt = Date.now();
    const logout = await watcher.waitFor(dnEvent('EventAgentLogout', '8888'), 10_000);
    const after = Date.now() - closedAt;
    console.log(`desktop closed: Jay logged out after ${after} ms (agent-desktop-grace 2 s)`);
    expect(logout).toMatchObject({ agentId: 'jay' });
    expect(after).toBeGreaterThanOrEqual(1900);
    expect(after).toBeLessThan(4000);
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'LoggedOut' });
  });

  it('on a call when the grace runs out, Jay is logged out right after the call ends', async () => {
    const watcher = await env.supervisorDesk(['8888']);
    const { page } = await browser.open(env.server.httpUrl!.replace(/\/?$/, '/'));
    await submitLogin(page, '+1 555 123 2222');
    await statusIs(page, 'Ready');
    // The customer hangs up 3.5 s after the answer: after the 2 s grace.
    const customer = await env.uac('e2e-uac-customer-call.xml', '5000', { pauseMs: 3500 });
    await callCard(page, 'Established').waitFor({ timeout: 10_000 });
    await page.context().close();
    const closedAt = Date.now();
    await watcher.waitFor(dnEvent('EventAgentLogout', '8888'), 10_000);
    const after = Date.now() - closedAt;
    console.log(`desktop closed during a call: Jay logged out ${after} ms later, after the call`);
    expect(await customer.waitExit(10_000), customer.errors()).toBe(0);
    const seen = watcher.names(
      (f) => f.thisDN === '8888' && f.event !== 'EventAgentReady' && f.event !== 'EventAgentLogin',
    );
    // ManualIn: the routed call ends in After Call Work, then the grace (run out) logs Jay out.
    expect(seen.slice(-4)).toEqual(['EventEstablished', 'EventReleased', 'EventAgentNotReady', 'EventAgentLogout']);
    expect(after).toBeGreaterThan(2000);
  });

  it('finds a network that went silent (no FIN) by its heartbeat: Reconnecting…, then back, still logged in', async () => {
    const proxy = await startPrefixProxy(env.server.httpUrl!, '/silent');
    const watcher = await env.supervisorDesk(['8888']);
    const context = await browser.context();
    await context.clock.install(); // the page's timers, driven by the test (time still flows)
    const { page, problems } = await browser.open(proxy.url, context);
    await submitLogin(page);
    await statusIs(page, 'Ready');
    proxy.freeze();
    await page.clock.fastForward(20_000); // 20 s of silence: the heartbeat (RequestQueryServer) goes out
    await page.clock.fastForward(5_000); // and gets no answer within 5 s
    await page.getByText('Reconnecting…').waitFor({ timeout: 5000 });
    await page.clock.fastForward(1_000); // the first back-off
    await page.getByText('Reconnecting…').waitFor({ state: 'hidden', timeout: 10_000 });
    await statusIs(page, 'Ready');
    expect(await agentStatus(env.server, 'jay')).toMatchObject({ state: 'Ready' });
    expect(watcher.pending().filter((f) => f.event === 'EventAgentLogout')).toEqual([]);
    expect(problems).toEqual([]);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await context.close();
    await proxy.close();
  });

  it('says "Server unreachable" when the CTI WebSocket cannot be reached', async () => {
    const proxy = await startPrefixProxy(env.server.httpUrl!, '/gone');
    const { page, problems } = await browser.open(proxy.url);
    await proxy.close();
    await submitLogin(page);
    await page.getByRole('alert').filter({ hasText: 'Server unreachable' }).waitFor();
    // Chromium itself reports the failed WebSocket handshake on the console; nothing else.
    expect(problems.filter((p) => !/WebSocket connection to '.*\/gone\/cti' failed/.test(p))).toEqual([]);
    await page.context().close();
  });
});
