import { describe, expect, it } from 'vitest';
import { ConfigState } from '../../../src/config/config-state.js';
import type { ChangeRequest } from '../../../src/config/change-set.js';
import { optionBoolean } from '../../../src/config/option-table.js';

function state(changes: ChangeRequest[]): ConfigState {
  const s = new ConfigState();
  const p = s.plan(changes);
  expect(p.errors).toEqual([]);
  s.commit(p.applied);
  return s;
}

const softswitch = (key: string, prefix: string, options: Record<string, string> = {}): ChangeRequest => ({
  op: 'put',
  kind: 'dn',
  key,
  value: {
    type: 'voip-service',
    options: { contact: '127.0.0.1:5081', 'service-type': 'softswitch', prefix, ...options },
  },
});
const ext = (key: string, options: Record<string, string> = {}): ChangeRequest => ({
  op: 'put',
  kind: 'dn',
  key,
  value: { type: 'extension', options },
});

describe('effective option lookup (behaviour §2.2)', () => {
  it('a DN behind a softswitch takes the softswitch value', () => {
    const s = state([softswitch('SS', '+1', { 'dual-dialog-enabled': 'false' }), ext('+1 555 123 1111')]);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')).toEqual({
      value: 'false',
      source: 'softswitch',
      via: 'SS',
    });
    expect(s.resolveOption('+1 555 123 1111', 'dual-dialog-enabled')?.value).toBe('false');
  });

  it("the DN's own value wins over the softswitch", () => {
    const s = state([
      softswitch('SS', '+1', { 'dual-dialog-enabled': 'false' }),
      ext('+15551231111', { 'dual-dialog-enabled': 'true' }),
    ]);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')).toEqual({ value: 'true', source: 'dn' });
  });

  it('the application option is used when neither DN nor softswitch sets it', () => {
    const s = state([
      { op: 'put', kind: 'server', key: 'server', value: { name: 'S', options: { 'dual-dialog-enabled': 'false' } } },
      softswitch('SS', '+1'),
      ext('+15551231111'),
    ]);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')).toEqual({ value: 'false', source: 'application' });
  });

  it('the built-in default comes last', () => {
    const s = state([softswitch('SS', '+1'), ext('+15551231111')]);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')).toEqual({ value: 'true', source: 'default' });
    expect(s.resolveOption('+15551231111', 'make-call-rfc3725-flow')).toEqual({ value: '2', source: 'default' });
    expect(s.resolveOption('+15551231111', 'password')).toBeUndefined();
  });

  it('a DN with a contact does not inherit from the softswitch its number matches', () => {
    const s = state([softswitch('SS', '77', { 'dual-dialog-enabled': 'false' }), ext('7777', { contact: '*' })]);
    expect(s.resolveOption('7777', 'dual-dialog-enabled')?.source).toBe('default');
  });

  it('the longest matching prefix chooses the softswitch; priority then name break ties', () => {
    const s = state([
      softswitch('Wide', '+1', { 'make-call-rfc3725-flow': '1' }),
      softswitch('Narrow', '+1555,+44', { 'make-call-rfc3725-flow': '2', 'refer-enabled': 'false' }),
      ext('+15551231111'),
      ext('+16000000000'),
    ]);
    expect(s.resolveOption('+15551231111', 'make-call-rfc3725-flow')).toEqual({
      value: '2',
      source: 'softswitch',
      via: 'Narrow',
    });
    expect(s.resolveOption('+16000000000', 'make-call-rfc3725-flow')).toEqual({
      value: '1',
      source: 'softswitch',
      via: 'Wide',
    });
    const t = state([
      softswitch('B', '+1', { priority: '1', 'line-type': '1' }),
      softswitch('A', '+1', { priority: '2', 'line-type': '0' }),
      ext('+15551231111'),
    ]);
    expect(t.resolveOption('+15551231111', 'line-type')?.via).toBe('B');
    const u = state([
      softswitch('B', '+1', { 'line-type': '1' }),
      softswitch('A', '+1', { 'line-type': '0' }),
      ext('+15551231111'),
    ]);
    expect(u.resolveOption('+15551231111', 'line-type')?.via).toBe('A');
  });

  it('routing points and queues do not sit behind a softswitch', () => {
    const s = state([
      softswitch('SS', '5', { 'reject-call-notready': 'true' }),
      { op: 'put', kind: 'dn', key: '5000', value: { type: 'routing-point' } },
      { op: 'put', kind: 'dn', key: '5001', value: { type: 'acd-queue' } },
      { op: 'put', kind: 'dn', key: '5002', value: { type: 'acd-position' } },
    ]);
    expect(s.resolveOption('5000', 'reject-call-notready')?.source).toBe('default');
    expect(s.resolveOption('5001', 'reject-call-notready')?.source).toBe('default');
    expect(s.resolveOption('5002', 'reject-call-notready')?.source).toBe('softswitch');
  });

  it('options that are not inherited stay on their own DN', () => {
    const s = state([softswitch('SS', '+1', { 'oos-check': '10' }), ext('+15551231111')]);
    expect(s.resolveOption('+15551231111', 'oos-check')).toEqual({ value: '0', source: 'default' });
    expect(s.resolveOption('SS', 'oos-check')).toEqual({ value: '10', source: 'dn' });
  });

  it('a number that is no DN (an agent-phone) resolves through its softswitch', () => {
    const s = state([softswitch('SS', '+1', { 'reject-call-notready': 'true' })]);
    expect(s.resolveOption('+1 555 999 0000', 'reject-call-notready')).toEqual({
      value: 'true',
      source: 'softswitch',
      via: 'SS',
    });
  });

  it('follows changes incrementally: a new value, a removed softswitch', () => {
    const s = state([softswitch('SS', '+1', { 'dual-dialog-enabled': 'false' }), ext('+15551231111')]);
    let p = s.plan([{ op: 'patch', kind: 'dn', key: 'SS', value: { options: { 'dual-dialog-enabled': 'true' } } }]);
    s.commit(p.applied);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')).toEqual({
      value: 'true',
      source: 'softswitch',
      via: 'SS',
    });
    p = s.plan([{ op: 'delete', kind: 'dn', key: 'SS' }]);
    s.commit(p.applied);
    expect(s.resolveOption('+15551231111', 'dual-dialog-enabled')?.source).toBe('default');
  });
});

describe('optionBoolean: the one reader of boolean options', () => {
  it('reads the spellings the readers always took; absent or unreadable values read as the default', () => {
    for (const v of ['true', ' TRUE ', '1', 'yes', 'On']) expect(optionBoolean('reject-call-notready', v)).toBe(true);
    for (const v of ['false', ' False', '0', 'no', 'OFF']) expect(optionBoolean('dual-dialog-enabled', v)).toBe(false);
    expect(optionBoolean('dual-dialog-enabled', undefined)).toBe(true);
    expect(optionBoolean('reject-call-notready', undefined)).toBe(false);
    expect(optionBoolean('refer-enabled', 'maybe')).toBe(true);
    expect(() => optionBoolean('sip-t1', 'true')).toThrow(/not a boolean option/);
  });
});
