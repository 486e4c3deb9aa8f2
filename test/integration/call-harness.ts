/**
 * An in-process call server for the call integration tests: SIP stack on an ephemeral UDP port,
 * the real configuration store (temp dir), reachability resolver, dialog layer and B2BUA.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../../src/config/config-file.js';
import { openStore, type ConfigStore } from '../../src/config/config-store.js';
import { ConfigDirectoryAdapter } from '../../src/contact-center/agents/config-directory-adapter.js';
import type { B2bua } from '../../src/contact-center/calls/b2bua.js';
import { AgentService } from '../../src/contact-center/agents/agent-service.js';
import type { AgentPhoneReachability } from '../../src/contact-center/agents/agent-phone-reachability.js';
import {
  CallRouterRef,
  createCallControl,
  type CallControlService,
  type NailedUpConnections,
} from '../../src/contact-center/calls/index.js';
import { RoutingPointRouter } from '../../src/contact-center/routing/routing-point-router.js';
import { ContactCenterEventBus, type CallDomainEvent } from '../../src/contact-center/events.js';
import { ReachabilityResolver } from '../../src/reachability/reachability-resolver.js';
import type { DialogUserAgent } from '../../src/sip/dialog/dialog-user-agent.js';
import { SipStack } from '../../src/sip/stack/sip-stack.js';
import type { MediaServer } from '../../src/media/media-server.js';
import { RequestTrust } from '../../src/trust/request-trust.js';
import { systemClock } from '../../src/util/clock.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';
import { callYaml, softswitchDn } from './call-yaml.js';

/** The path of SIPp scenario `name` (test/integration/sipp). */
export const scen = (name: string): string => join(import.meta.dirname, 'sipp', name);

/** A running call server. */
export interface CallServer {
  port: number;
  /** TCP listening port when started with `tcp`. */
  tcpPort: number | undefined;
  stack: SipStack;
  b2bua: B2bua;
  ua: DialogUserAgent;
  store: ConfigStore;
  reachability: ReachabilityResolver;
  events: CallDomainEvent[];
  agents: AgentService;
  router: RoutingPointRouter;
  control: CallControlService;
  /** The nailed-up connections (behaviour §10). */
  nailedUp: NailedUpConnections;
  /** The contact-centre event bus (to publish DN service events the harness does not detect). */
  bus: ContactCenterEventBus;
  stop(): Promise<void>;
}

/** Start a server with the YAML configuration `yaml` (its `server.sip.listen` is ignored). */
export async function startCallServer(
  yaml: string,
  opts: { t1?: number; tcp?: boolean; trust?: boolean; media?: MediaServer } = {},
): Promise<CallServer> {
  const dir = mkdtempSync(join(tmpdir(), 'call-server-'));
  const loaded = loadConfigText(yaml);
  if (!loaded.model) throw new Error(`bad test config: ${JSON.stringify(loaded.errors)}`);
  const store = openStore(dir);
  store.reconcile(loaded.model);
  const logger = process.env.CALL_TEST_LOG ? createLogger(process.env.CALL_TEST_LOG) : silentLogger;
  const stack = new SipStack({
    listen: opts.tcp ? ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0'] : ['udp:127.0.0.1:0'],
    logger,
    timers: opts.t1 ? { t1: opts.t1, t2: Math.max(opts.t1 * 8, 4000) } : undefined,
  });
  const dialogTimers = opts.t1 ? { t1: opts.t1, t2: Math.max(opts.t1 * 8, 4000) } : undefined;
  const reachability = new ReachabilityResolver(store, { get: () => [] }, { isOutOfService: () => false }, logger);
  const bus = new ContactCenterEventBus();
  const events: CallDomainEvent[] = [];
  bus.subscribe((e) => {
    if (e.kind === 'call') events.push(e);
  });
  const directory = new ConfigDirectoryAdapter(store);
  const phoneReach: AgentPhoneReachability = {
    hasSoftswitchFor: (phone) => reachability.resolveExternal(phone).mode !== 'unreachable',
    bindAgentPhone: (dn, phone) => {
      const r = reachability.bindAgentPhone(dn, phone);
      if (!r.ok) throw new Error(r.message);
    },
    unbindAgentPhone: (dn) => reachability.unbindAgentPhone(dn),
    isAvailable: (dn) => reachability.resolve(dn).inService,
  };
  const agents = new AgentService({ directory, reachability: phoneReach, bus, clock: systemClock, logger });
  const routerRef = new CallRouterRef();
  // `trust`: new INVITEs pass the trust policy as in the server (docs/security.md). The harness has
  // no registrar, so only trusted peers (softswitch contact hosts, trusted-sources) are admitted.
  const trust = opts.trust
    ? new RequestTrust({
        config: store,
        registrar: {
          bindings: () => [],
          authenticateRequest: () => ({ ok: false, status: 403, reason: 'Forbidden', headers: [] }),
        },
        logger,
      })
    : undefined;
  const cc = createCallControl({
    stack,
    reachability,
    directory,
    bus,
    clock: systemClock,
    logger,
    agents,
    router: routerRef,
    timers: dialogTimers,
    trust,
    media: opts.media,
  });
  const { b2bua, ua, control, nailedUp } = cc;
  const router = new RoutingPointRouter({
    agents,
    reachability: phoneReach,
    delivery: cc.delivery,
    clock: systemClock,
    logger,
  });
  routerRef.bind(router);
  await stack.start();
  const port = stack.addresses()[0]!.port;
  const tcpPort = stack.addresses().find((a) => a.transport === 'tcp')?.port;
  return {
    port,
    tcpPort,
    stack,
    b2bua,
    ua,
    store,
    reachability,
    events,
    agents,
    router,
    control,
    nailedUp,
    bus,
    async stop() {
      trust?.close();
      cc.close();
      agents.close();
      await stack.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A softswitch-only configuration: numbers starting with `prefix` go to 127.0.0.1:`uasPort`;
 * `extra` follows the softswitch's options (more option lines, or more DNs).
 */
export function softswitchYaml(uasPort: number, prefix = '9', extra = ''): string {
  return callYaml([softswitchDn(uasPort, prefix)], { extra });
}

/** Event names of a server, each tagged `main` (the call `connId`) or `consult`. */
export const eventsOf = (s: CallServer, connId: string): string[] =>
  s.events.map((e) => `${e.name}:${e.connId === connId ? 'main' : 'consult'}`);

/**
 * The {@link eventsOf} of a consultation being dialled (behaviour §6): the main call rings and is
 * established, is held, and the consultation call is dialled.
 */
export const CONSULT_DIALING: readonly string[] = [
  'EventRinging:main',
  'EventEstablished:main',
  'EventHeld:main',
  'EventDialing:consult',
];

/** {@link CONSULT_DIALING}, then the consultation call reached and established. */
export const CONSULT_ESTABLISHED: readonly string[] = [
  ...CONSULT_DIALING,
  'EventNetworkReached:consult',
  'EventEstablished:consult',
];

/** Wait until `cond` holds (polling), at most `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
