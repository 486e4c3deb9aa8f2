/** `Allow-Events` token matching for RequestAnswerCall (RFC 6665 §8.2.2: event packages, case-insensitive, parameters ignored). */
import { describe, expect, it } from 'vitest';
import { allowsEvent } from '../../../../src/contact-center/calls/answer-call.js';

describe('allowsEvent', () => {
  it.each([
    [['talk'], true],
    [['hold, TALK'], true],
    [['hold', 'talk;x=1'], true],
    [[' talk '], true],
    [['talker, hold'], false],
    [['hold'], false],
    [[], false],
  ])('%j → %s', (values, expected) => {
    expect(allowsEvent(values, 'talk')).toBe(expected);
  });
});
