/**
 * Nailed-up connections that cannot be made or kept (behaviour §10.1 `CONNECTING --failure-->
 * NONE (call fails over)`): a routed call for an agent whose phone never answers the connection
 * INVITE goes on to the next agent (RONA), who is connected then; a re-INVITE that is never
 * answered (Timer B, T1 = 50 ms here) ends the connection with BYE and fails the call.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { callIdOf, runSipp, startSipp, type SippPeer } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';
import { startCallServer, type CallServer } from './call-harness.js';

const scen = (name: string) => join(import.meta.dirname, 'sipp', name);
const JOE = '+15551231111';
const JAY = '+15551232222';

/** Joe behind softswitch A (`+1`), Jay behind B (`+1555123222`), both nailed-up, routing point 5000. */
function yaml(portA: number, portB: number): string {
  const softswitch = (name: string, port: number, prefix: string) => `  - number: ${name}
    type: voip-service
    options:
      contact: "127.0.0.1:${port}"
      service-type: softswitch
      prefix: "${prefix}"
      make-call-rfc3725-flow: "1"
`;
  const dn = (n: string) => `  - number: "${n}"
    type: extension
    options:
      line-type: "1"
`;
  return `server:
  name: NailedUpFailover
  options:
    sip-invite-timeout: "2"
  sip:
    listen: ["udp:127.0.0.1:5060"]
dns:
${softswitch('SoftswitchA', portA, '+1')}${softswitch('SoftswitchB', portB, '+1555123222')}${dn(JOE)}${dn(JAY)}  - number: "5000"
    type: routing-point
    options:
      agent-group: Support
agents:
  - { id: joe, name: Joe, password: "joe-secret", dn: "${JOE}" }
  - { id: jay, name: Jay, password: "jay-secret", dn: "${JAY}" }
agent-groups:
  - name: Support
    agents: [joe, jay]
`;
}

describe('nailed-up connections that fail', () => {
  let server: CallServer | undefined;
  const peers: SippPeer[] = [];

  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop();
    await server?.stop();
    server = undefined;
  });

  async function gateways(a: string, b: string, t1?: number): Promise<[SippPeer, SippPeer]> {
    const [portA, portB] = [await freePort(), await freePort()];
    const ga = await startSipp({ scenario: scen(a), localPort: portA });
    peers.push(ga);
    const gb = await startSipp({ scenario: scen(b), localPort: portB });
    peers.push(gb);
    server = await startCallServer(yaml(portA, portB), t1 ? { t1 } : {});
    return [ga, gb];
  }

  it('an agent phone that never answers the connection: the routed call goes on to the next agent, who is connected', async () => {
    const [joePhone, jayPhone] = await gateways('e2e-uas-sbc-no-answer.xml', 'e2e-uas-sbc-answer.xml');
    server!.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    server!.agents.login({ agentId: 'jay', thisDN: JAY, workMode: 'AutoIn' });
    const c = await runSipp({
      scenario: scen('e2e-uac-customer-call.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: '5000',
      pauseMs: 300,
    });
    expect(c.code, c.errors).toBe(0);
    // Joe's phone rang for sip-invite-timeout (2 s), was CANCELled; RONA put Joe NotReady.
    expect(joePhone.receivedRequests('INVITE')).toHaveLength(1);
    expect(joePhone.receivedRequests('CANCEL')).toHaveLength(1);
    expect(server!.nailedUp.stateOf(JOE)).toBe('none');
    expect(server!.agents.sessionByDn(JOE)?.status.state).toBe('NotReady');
    // Jay's connection was made by this call and carried it: one dialog, no BYE.
    await waitFor(() => server!.nailedUp.stateOf(JAY) === 'parked', 'Jay parked after the call');
    expect(jayPhone.callIds('INVITE')).toHaveLength(1);
    expect(jayPhone.distinctRequests('BYE')).toBe(0);
    const jayEvents = server!.events.filter((e) => e.thisDN === JAY).map((e) => e.name);
    expect(jayEvents).toEqual(['EventRinging', 'EventEstablished', 'EventReleased']);
  });

  it('a customer re-INVITE never answered: Timer B, the connection is ended with BYE, the direct caller gets 408', async () => {
    const [joePhone] = await gateways('uas-nailed-reinvite-silent.xml', 'e2e-uas-sbc-answer.xml', 50);
    server!.agents.login({ agentId: 'joe', thisDN: JOE, workMode: 'AutoIn' });
    // The call makes the connection (INVITE, answered), then re-INVITEs it (never answered).
    const c = await runSipp({
      scenario: scen('uac-expect-408.xml'),
      target: `127.0.0.1:${server!.port}`,
      service: JOE,
    });
    expect(c.code, c.errors).toBe(0);
    await waitFor(() => joePhone.distinctRequests('BYE') === 1, 'BYE on the connection');
    expect(new Set(joePhone.receivedRequests('INVITE').map(callIdOf)).size).toBe(1);
    expect(server!.nailedUp.stateOf(JOE)).toBe('none');
    expect(server!.b2bua.activeCalls).toBe(0);
  });
});
