import { describe, expect, it } from 'vitest';
import type { AgentService } from '../../../../src/contact-center/agents/agent-service.js';
import { AgentState } from '../../../../src/contact-center/agents/agent-state.js';
import { AgentCallPolicy } from '../../../../src/contact-center/calls/agent-call-policy.js';
import { AgentPhoneOptionDirectory } from '../../../../src/contact-center/calls/agent-phone-option-directory.js';
import type { CallDirectory } from '../../../../src/contact-center/calls/call-ports.js';

/** A directory like home-agent-phone.yaml: 8888 (contact *), a softswitch for +1 with device options. */
function directory(): CallDirectory {
  const dns: Record<string, { number: string; type: string; options: Record<string, string> }> = {
    '8888': { number: '8888', type: 'extension', options: { contact: '*', 'refer-enabled': 'false' } },
  };
  const softswitch: Record<string, string> = { 'dual-dialog-enabled': 'false', 'make-call-rfc3725-flow': '1' };
  return {
    getDn: (n) => dns[n],
    normaliseNumber: (n) => n.replace(/[\s().-]/g, ''),
    // The store's lookup: own value; numbers that are no DN inherit the +1 softswitch; defaults.
    effectiveOption: (dn, name) =>
      dns[dn]?.options[name] ??
      (dns[dn] === undefined && dn.startsWith('+1') ? softswitch[name] : undefined) ??
      { 'dual-dialog-enabled': 'true', 'make-call-rfc3725-flow': '2' }[name],
  };
}

describe('AgentPhoneOptionDirectory (behaviour §2.2, §7)', () => {
  it('a DN bound to an agent-phone takes the options of the softswitch the agent-phone sits behind', () => {
    const phones = new Map([['8888', '+15551232222']]);
    const d = new AgentPhoneOptionDirectory(directory(), { agentPhoneOf: (dn) => phones.get(dn) });
    expect(d.effectiveOption('8888', 'dual-dialog-enabled')).toBe('false');
    expect(d.effectiveOption('8888', 'make-call-rfc3725-flow')).toBe('1');
  });

  it("the DN's own value still wins over the softswitch", () => {
    const d = new AgentPhoneOptionDirectory(directory(), { agentPhoneOf: () => '+15551232222' });
    expect(d.effectiveOption('8888', 'refer-enabled')).toBe('false');
  });

  it('without a binding (logged out, or no agent-phone) the DN resolves as configured', () => {
    const d = new AgentPhoneOptionDirectory(directory(), { agentPhoneOf: () => undefined });
    expect(d.effectiveOption('8888', 'dual-dialog-enabled')).toBe('true');
    expect(d.effectiveOption('8888', 'make-call-rfc3725-flow')).toBe('2');
    const noPort = new AgentPhoneOptionDirectory(directory(), {});
    expect(noPort.effectiveOption('8888', 'dual-dialog-enabled')).toBe('true');
  });
});

describe('AgentCallPolicy with the agent-phone aware directory (behaviour §9)', () => {
  const agentsWith = (state: AgentState | undefined): AgentService =>
    ({ sessionByDn: () => (state === undefined ? undefined : { status: { state } }) }) as unknown as AgentService;
  const softswitchSaysTrue = new AgentPhoneOptionDirectory(
    {
      getDn: () => ({ number: '8888', type: 'extension', options: { contact: '*' } }),
      normaliseNumber: (n) => n,
      effectiveOption: (dn) => (dn === '+15551232222' ? 'true' : 'false'),
    },
    { agentPhoneOf: () => '+15551232222' },
  );

  it('rejects a direct call to a NotReady agent-phone agent when the softswitch sets reject-call-notready', () => {
    expect(new AgentCallPolicy(agentsWith(AgentState.NotReady), softswitchSaysTrue).rejectsCall('8888')).toBe(true);
    expect(new AgentCallPolicy(agentsWith(AgentState.AfterCallWork), softswitchSaysTrue).rejectsCall('8888')).toBe(
      true,
    );
  });

  it('lets Ready and BusyReady agents be rung', () => {
    expect(new AgentCallPolicy(agentsWith(AgentState.Ready), softswitchSaysTrue).rejectsCall('8888')).toBe(false);
    expect(new AgentCallPolicy(agentsWith(AgentState.BusyReady), softswitchSaysTrue).rejectsCall('8888')).toBe(false);
  });
});
