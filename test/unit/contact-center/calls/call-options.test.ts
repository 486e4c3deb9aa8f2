import { describe, expect, it } from 'vitest';
import {
  connectNailedUpOnLogin,
  disconnectNailedUpTimeoutMs,
  isNailedUpLine,
  noResponseDnOf,
  singleDialogOnly,
  tryingTimeoutOf,
} from '../../../../src/contact-center/calls/call-options.js';

/** A directory of DN options; effectiveOption: the DN's own, else its softswitch's (`ss`), else the application's. */
function directory(
  dns: Record<string, Record<string, string>>,
  app: Record<string, string> = {},
  softswitchOf: Record<string, string> = {},
) {
  return {
    getDn: (n: string) => (dns[n] ? { number: n, type: 'extension', options: dns[n] } : undefined),
    effectiveOption: (n: string, name: string) =>
      dns[n]?.[name] ?? (softswitchOf[n] ? dns[softswitchOf[n]]?.[name] : undefined) ?? app[name],
  };
}

describe('sip-trying-timeout and no-response-dn lookup (behaviour §4, §14)', () => {
  it("the DN's own value first, then the route's softswitch, then the DN's effective one", () => {
    const d = directory(
      {
        '1001': { 'sip-trying-timeout': '3' },
        '1002': {},
        A: { 'sip-trying-timeout': '5' },
        B: { 'sip-trying-timeout': '7' },
      },
      {},
      { '1002': 'A' },
    );
    expect(tryingTimeoutOf(d, '1001', 'A')).toBe(3000);
    expect(tryingTimeoutOf(d, '1002', 'B')).toBe(7000); // the route actually used
    expect(tryingTimeoutOf(d, '1002', undefined)).toBe(5000); // its softswitch by inheritance
    expect(tryingTimeoutOf(d, undefined, 'A')).toBe(5000); // an external number through A
  });

  it('empty = the application sip-invite-timeout when set (≤ 34 s); 0 or nothing = no trying timer; at most 256 s', () => {
    expect(
      tryingTimeoutOf(directory({ A: { 'sip-trying-timeout': '' } }, { 'sip-invite-timeout': '20' }), undefined, 'A'),
    ).toBe(20_000);
    expect(tryingTimeoutOf(directory({ A: {} }, { 'sip-invite-timeout': '0' }), undefined, 'A')).toBeUndefined();
    expect(tryingTimeoutOf(directory({ A: {} }), undefined, 'A')).toBeUndefined();
    expect(tryingTimeoutOf(directory({ A: { 'sip-trying-timeout': '0' } }), undefined, 'A')).toBeUndefined();
    expect(tryingTimeoutOf(directory({ A: { 'sip-trying-timeout': '999' } }), undefined, 'A')).toBe(256_000);
  });

  it("no-response-dn: the DN's, else the softswitch's; none = undefined", () => {
    const d = directory({ '1001': { 'no-response-dn': '2000' }, A: { 'no-response-dn': ' 3000 ' }, B: {} });
    expect(noResponseDnOf(d, '1001', 'A')).toBe('2000');
    expect(noResponseDnOf(d, undefined, 'A')).toBe('3000');
    expect(noResponseDnOf(d, undefined, 'B')).toBeUndefined();
  });
});

describe('nailed-up options (behaviour §10)', () => {
  const d = directory(
    {
      '+15551231111': { 'line-type': '1' },
      '+15551232222': { 'line-type': '0', 'disconnect-nailedup-timeout': '30' },
      Softswitch: { 'connect-nailedup-on-login': ' gcti::park ', 'disconnect-nailedup-timeout': 'x' },
    },
    {},
    { '+15551231111': 'Softswitch', '+15551232222': 'Softswitch' },
  );
  it('line-type 1 on the DN; connect-nailedup-on-login and disconnect-nailedup-timeout from its softswitch', () => {
    expect(isNailedUpLine(d, '+15551231111')).toBe(true);
    expect(isNailedUpLine(d, '+15551232222')).toBe(false);
    expect(connectNailedUpOnLogin(d, '+15551231111')).toBe('gcti::park');
    expect(connectNailedUpOnLogin(directory({ X: { 'connect-nailedup-on-login': '' } }), 'X')).toBeUndefined();
    expect(disconnectNailedUpTimeoutMs(d, '+15551232222')).toBe(30_000);
    expect(disconnectNailedUpTimeoutMs(d, '+15551231111')).toBe(0); // not a number: never
  });
});

describe('single-dialog devices (behaviour §6, §10.4)', () => {
  it('dual-dialog-enabled = false, or a nailed-up DN (line-type = 1) whatever dual-dialog-enabled says', () => {
    const d = directory(
      {
        office: {},
        pstn: { 'dual-dialog-enabled': 'false' },
        nailed: { 'line-type': '1', 'dual-dialog-enabled': 'true' },
        behind: {},
        SS: { 'dual-dialog-enabled': 'false' },
      },
      {},
      { behind: 'SS' },
    );
    expect(singleDialogOnly(d, 'office')).toBe(false);
    expect(singleDialogOnly(d, 'pstn')).toBe(true);
    expect(singleDialogOnly(d, 'nailed')).toBe(true);
    expect(singleDialogOnly(d, 'behind')).toBe(true); // from its softswitch
  });
});
