import { describe, expect, it } from 'vitest';
import { isPhoneNumber, normaliseNumber } from '../../../src/config/number-normalise.js';

describe('normaliseNumber (interfaces §2)', () => {
  it('removes spaces, dashes, dots and parentheses and keeps a leading +', () => {
    expect(normaliseNumber('+1 555 123 1111')).toBe('+15551231111');
    expect(normaliseNumber('+1 (555) 123-11.11')).toBe('+15551231111');
    expect(normaliseNumber('8888')).toBe('8888');
  });
  it('keeps names that are not numbers', () => {
    expect(normaliseNumber('Softswitch')).toBe('Softswitch');
    expect(normaliseNumber('gcti::park')).toBe('gcti::park');
  });
  it('tells numbers from names', () => {
    expect(isPhoneNumber('+15551231111')).toBe(true);
    expect(isPhoneNumber('Softswitch')).toBe(false);
    expect(isPhoneNumber('1+5')).toBe(false);
  });
});
