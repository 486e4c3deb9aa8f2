/**
 * Shared pieces of the end-to-end acceptance tests (`e2e-*.test.ts`): admin API and `/metrics`
 * reads, device and agent state, and {@link E2eEnv}: one file's set-up (an example configuration
 * with its fixed ports mapped to free ones, the SIPp softswitch, the server, desktops) and its
 * tear-down. Tests that drive the server by hand use {@link startServerProcess} with
 * {@link writeConfig} or `exampleWithFreePorts` directly. SIPp peers come from the one launcher,
 * `test/helpers/sipp.ts`, baresip from `test/helpers/baresip.ts`, polling from
 * `test/helpers/wait.ts`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { exampleWithFreePorts, freePortBesides, type MappedConfig } from '../helpers/example-config.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startSipp, type SippPeer, type SippRun } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

/** Admin token the e2e servers run with (`SIPSERVER_TOKEN`). */
export const E2E_TOKEN = 'e2e-admin-token';

/** Path of a SIPp scenario (`test/integration/sipp`, shared with the integration tests and the benches). */
export function scenario(name: string): string {
  return resolve(repoRoot, 'test/integration/sipp', name);
}

/** Stop every peer in the list (ignoring failures) and empty it. */
export async function stopAll(peers: SippPeer[]): Promise<void> {
  const list = peers.splice(0);
  await Promise.all(list.map((p) => p.stop().catch(() => undefined)));
}

/**
 * Wait until every dialog (Call-ID) of `callIds` got a BYE at `peer`, then expect exactly one
 * BYE each (retransmissions count once). Counting per dialog, not as a delta over everything the
 * peer received: a BYE of an earlier call may still arrive late, or be retransmitted for 64·T1.
 */
export async function expectOneByeEach(
  peer: SippPeer,
  callIds: readonly string[],
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(() => callIds.every((id) => peer.distinctRequests('BYE', [id]) > 0), { what, timeoutMs });
  expect(callIds.map((id) => peer.distinctRequests('BYE', [id]))).toEqual(callIds.map(() => 1));
}

/** GET an admin API path of the server at `baseUrl` with the e2e token; JSON body. */
export async function apiGet<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${E2E_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/** GET `/metrics` (text). */
export async function metricsText(baseUrl: string): Promise<string> {
  return (await fetch(`${baseUrl}/metrics`)).text();
}

/** Value of one sample of `/metrics` text, e.g. `sipserver_oos_transitions_total{to="out-of-service"}`; 0 when absent. */
export function metricValue(text: string, sample: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** Call the admin API with the e2e token. */
export async function api(
  server: ServerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${E2E_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** `GET /api/status`. */
export async function status(server: ServerProcess): Promise<Record<string, unknown>> {
  const r = await api(server, 'GET', '/api/status');
  if (r.status !== 200) throw new Error(`/api/status ${r.status}`);
  return r.json;
}

/** One agent's entry of `/api/status`. */
export async function agentStatus(server: ServerProcess, id: string): Promise<Record<string, unknown> | undefined> {
  const agents = (await status(server)).agents as Array<Record<string, unknown>>;
  return agents.find((a) => a.id === id);
}

/** Wait until the status shows the device `dn` in `state` (`in-service`, `out-of-service`). */
export async function waitDeviceState(
  server: ServerProcess,
  dn: string,
  state: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(
    async () => {
      const devices = (await status(server)).devices as Array<Record<string, unknown>>;
      return devices.some((d) => d.dn === dn && d.state === state);
    },
    { what: `${dn} ${state.replace(/-/g, ' ')}`, timeoutMs },
  );
}

/** Wait until the status shows the device `dn` in service. */
export async function waitInService(server: ServerProcess, dn: string, timeoutMs = 15_000): Promise<void> {
  await waitDeviceState(server, dn, 'in-service', timeoutMs);
}

/** `udp:host:port` of the server → `host:port`. */
export function udpTarget(server: ServerProcess): string {
  const a = server.addresses.find((x) => x.startsWith('udp:'));
  if (!a) throw new Error(`no UDP address in ${server.addresses.join(', ')}`);
  return a.slice('udp:'.length);
}

/** `tcp:host:port` of the server → `host:port`. */
export function tcpTarget(server: ServerProcess): string {
  const a = server.addresses.find((x) => x.startsWith('tcp:'));
  if (!a) throw new Error(`no TCP address in ${server.addresses.join(', ')}`);
  return a.slice('tcp:'.length);
}

/** `ws://…/cti` of the server. */
export function ctiUrl(server: ServerProcess): string {
  return `${server.httpUrl!.replace(/^http/, 'ws')}/cti`;
}

/** A CTI event on one DN (`thisDN`), as a {@link CtiTestClient.waitFor} matcher. */
export function dnEvent(name: string, dn: string): (f: CtiFrame) => boolean {
  return (f) => f.event === name && f.thisDN === dn;
}

/**
 * A configuration file with `server` listening on an ephemeral UDP port, then `dns:` followed by
 * `dnsYaml` (its list items, and any later top-level sections such as `agents:`), written to
 * `dir/name`. Returns its path.
 */
export function writeConfig(dir: string, name: string, dnsYaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, `server:\n  name: SIP_Server\n  sip:\n    listen: ["udp:127.0.0.1:0"]\ndns:\n${dnsYaml}`);
  return path;
}

/** Options of {@link E2eEnv}. */
export interface E2eOptions {
  /** Example configuration under `examples/`: run with its fixed ports mapped to free ones, nothing else changed. */
  example: string;
  /** The example's fixed softswitch port (5081 / 5071): the SIPp softswitch listens on the free port standing for it. */
  softswitchPort: number;
  /**
   * Scenario of the SIPp playing the softswitch (default `e2e-uas-sbc-answer.xml`); `null`:
   * nothing listens there (and the Softswitch is not awaited in service).
   */
  softswitch?: string | null;
  /** `-d` of the softswitch SIPp. */
  softswitchPauseMs?: number;
  /** `--sip-listen` (default one ephemeral UDP port). */
  sipListen?: string[];
  /** `--data` kept across restarts ({@link E2eEnv.restart}); default a fresh directory per start. */
  dataDir?: string;
  /** More environment variables for the server process (e.g. `SIPSERVER_TEST_FAULT`). */
  env?: Record<string, string>;
  /** Application options added as `server.options` (the example must have none). */
  serverOptions?: Record<string, string>;
}

/** Login of {@link E2eEnv.agentDesk}. */
export interface E2eLogin {
  /** `workMode` of RequestAgentLogin (default `AutoIn`). */
  workMode?: string;
  /** `extensions['agent-phone']`. */
  agentPhone?: string;
}

/**
 * One e2e file's world: the example configuration with free ports, the SIPp softswitch on the
 * port standing for the example's, the server process, every SIPp and CTI desktop started on the
 * way — all ended by {@link stop} (also when {@link start} failed midway).
 */
export class E2eEnv {
  private serverProcess: ServerProcess | undefined;
  private softswitchPeer: SippPeer | undefined;
  private configDir: string | undefined;
  private configPath: string | undefined;
  /** The example with its fixed ports mapped to the free ones of this run. */
  private config: MappedConfig | undefined;
  /** Every SIPp started through this environment (stopped by {@link stop}). */
  readonly peers: SippPeer[] = [];
  /** Every CTI desktop opened through this environment (closed by {@link stop}). */
  readonly desks: CtiTestClient[] = [];

  constructor(readonly opts: E2eOptions) {}

  /** The running server. */
  get server(): ServerProcess {
    if (!this.serverProcess) throw new Error('e2e server not started');
    return this.serverProcess;
  }

  /** The SIPp on the softswitch port. */
  get sbc(): SippPeer {
    if (!this.softswitchPeer) throw new Error('no softswitch SIPp');
    return this.softswitchPeer;
  }

  /** The free port standing for the example's fixed `port` in this run (e.g. `port(5081)`). */
  port(fixed: number): number {
    if (!this.config) throw new Error('e2e environment not started');
    const p = this.config.ports.get(fixed);
    if (p === undefined)
      throw new Error(`${this.opts.example} has no port ${fixed} (ports: ${[...this.config.ports.keys()].join(', ')})`);
    return p;
  }

  /** `127.0.0.1:PORT` of the softswitch in this run (the example's 127.0.0.1:5081 or :5071). */
  get sbcAddress(): string {
    return `127.0.0.1:${this.port(this.opts.softswitchPort)}`;
  }

  /**
   * Map the example's ports to free ones, start the softswitch SIPp, write the configuration,
   * then start the server; wait for the Softswitch in service.
   */
  async start(): Promise<void> {
    try {
      this.config = await exampleWithFreePorts(this.opts.example);
      this.port(this.opts.softswitchPort); // the example has it
      const file = this.opts.softswitch === undefined ? 'e2e-uas-sbc-answer.xml' : this.opts.softswitch;
      if (file !== null) await this.startSoftswitch(file);
      this.configDir = mkdtempSync(join(tmpdir(), 'e2e-config-'));
      this.configPath = join(this.configDir, this.opts.example);
      const opts = Object.entries(this.opts.serverOptions ?? {});
      const text =
        opts.length === 0
          ? this.config.text
          : this.config.text.replace(
              /^server:\n/m,
              `server:\n  options:\n${opts.map(([k, v]) => `    ${k}: "${v}"\n`).join('')}`,
            );
      writeFileSync(this.configPath, text);
      await this.startServer();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * The first softswitch SIPp: should another process have taken the free port since it was
   * probed, the softswitch moves to another one (the configuration is written after this).
   */
  private async startSoftswitch(file: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.swapSbc(file, this.opts.softswitchPauseMs);
        return;
      } catch (err) {
        if (attempt === 3 || !/could not bind/.test(String(err))) throw err;
        this.config!.ports.set(this.opts.softswitchPort, await freePortBesides(this.config!.ports.values()));
      }
    }
  }

  /** Start the server (again, after a test's own stop) on the same configuration and options. */
  async startServer(): Promise<ServerProcess> {
    if (!this.configPath) throw new Error('e2e environment not started');
    this.serverProcess = await startServerProcess({
      config: this.configPath,
      sipListen: this.opts.sipListen ?? ['udp:127.0.0.1:0'],
      ...(this.opts.dataDir !== undefined ? { dataDir: this.opts.dataDir } : {}),
      env: { SIPSERVER_TOKEN: E2E_TOKEN, ...(this.opts.env ?? {}) },
    });
    if (this.opts.softswitch !== null) await waitInService(this.serverProcess, 'Softswitch');
    return this.serverProcess;
  }

  /** Replace the softswitch SIPp by one running `file` (the previous one is killed first). */
  async swapSbc(file: string, pauseMs?: number): Promise<SippPeer> {
    await this.softswitchPeer?.stop();
    this.softswitchPeer = undefined;
    this.softswitchPeer = await this.sipp({
      scenario: scenario(file),
      localPort: this.port(this.opts.softswitchPort),
      ...(pauseMs !== undefined ? { pauseMs } : {}),
    });
    return this.softswitchPeer;
  }

  /** Start a SIPp (ready once its port is bound), stopped with the environment. */
  async sipp(opts: SippRun): Promise<SippPeer> {
    const p = await startSipp(opts);
    this.peers.push(p);
    return p;
  }

  /** One call from a SIPp UAC running `file` to `service` at the server's UDP address (not awaited). */
  uac(file: string, service: string, opts: Omit<SippRun, 'scenario' | 'service'> = {}): Promise<SippPeer> {
    return this.sipp({ scenario: scenario(file), target: udpTarget(this.server), service, calls: 1, ...opts });
  }

  /**
   * Register DN 8888 with digest (`8888-secret`) from `port` (default a free one) by
   * `e2e-uac-register-8888.xml`, then answer calls there with `e2e-uas-sbc-answer.xml`.
   */
  async registerPhone(port?: number): Promise<{ phone: SippPeer; port: number }> {
    const phonePort = port ?? (await freePort());
    await this.register('e2e-uac-register-8888.xml', phonePort);
    const phone = await this.sipp({ scenario: scenario('e2e-uas-sbc-answer.xml'), localPort: phonePort });
    return { phone, port: phonePort };
  }

  /** Run a REGISTER scenario for 8888 (digest `8888-secret`) from `port`; expects SIPp exit 0. */
  async register(file: string, port: number): Promise<SippPeer> {
    const reg = await this.uac(file, '8888', { localPort: port, args: ['-au', '8888', '-ap', '8888-secret'] });
    expect(await reg.waitExit(15_000), reg.errors()).toBe(0);
    return reg;
  }

  /** A CTI desktop connected to the server, closed with the environment. */
  async desk(): Promise<CtiTestClient> {
    const d = await CtiTestClient.connect(ctiUrl(this.server));
    this.desks.push(d);
    return d;
  }

  /** A desktop opened by agent `agentId` that registered `dn` (EventOpened, EventRegistered checked). */
  async openDesk(agentId: string, password: string, dn: string): Promise<CtiTestClient> {
    const d = await this.desk();
    expect(await d.request('RequestOpen', { agentId, password })).toMatchObject({ event: 'EventOpened', thisDN: dn });
    expect(await d.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({ event: 'EventRegistered' });
    return d;
  }

  /** {@link openDesk}, then RequestAgentLogin (default AutoIn) answered EventAgentLogin, and EventAgentReady. */
  async agentDesk(agentId: string, password: string, dn: string, login: E2eLogin = {}): Promise<CtiTestClient> {
    const d = await this.openDesk(agentId, password, dn);
    const loggedIn = await d.request('RequestAgentLogin', {
      thisDN: dn,
      agentId,
      workMode: login.workMode ?? 'AutoIn',
      ...(login.agentPhone !== undefined ? { extensions: { 'agent-phone': login.agentPhone } } : {}),
    });
    expect(loggedIn).toMatchObject({ event: 'EventAgentLogin' });
    await d.waitFor(dnEvent('EventAgentReady', dn));
    return d;
  }

  /** A desktop in application scope (the admin token) that registered `dns`. */
  async supervisorDesk(dns: string[]): Promise<CtiTestClient> {
    const d = await this.desk();
    expect(await d.request('RequestOpen', { token: E2E_TOKEN })).toMatchObject({
      event: 'EventOpened',
      scope: 'application',
    });
    for (const dn of dns)
      expect(await d.request('RequestRegisterAddress', { thisDN: dn })).toMatchObject({ event: 'EventRegistered' });
    return d;
  }

  /** Close the desktops and kill every SIPp (the softswitch SIPp too); the server keeps running. */
  async stopPeers(): Promise<void> {
    for (const d of this.desks.splice(0)) d.close();
    await stopAll(this.peers);
    this.softswitchPeer = undefined;
  }

  /** Close the desktops, kill every SIPp, stop the server, remove the written configuration. */
  async stop(): Promise<void> {
    await this.stopPeers();
    await this.serverProcess?.stop();
    if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
    this.configDir = undefined;
  }
}

/**
 * Jay of examples/home-agent-phone.yaml (SBC on 5081) for one `describe` block: the server starts
 * and Jay's desk logs in on 8888 with agent-phone +1 555 123 2222 before its tests; all stops after.
 */
export function homeAgentJay(): { env: E2eEnv; desk: () => CtiTestClient } {
  const env = new E2eEnv({ example: 'home-agent-phone.yaml', softswitchPort: 5081 });
  let desk: CtiTestClient | undefined;
  beforeAll(async () => {
    await env.start();
    desk = await env.agentDesk('jay', 'jay-secret', '8888', { agentPhone: '+1 555 123 2222' });
  });
  afterAll(() => env.stop());
  return { env, desk: () => desk! };
}
