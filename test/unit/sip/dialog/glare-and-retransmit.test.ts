import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/util/clock.js';
import { glareRetryDelay } from '../../../../src/sip/dialog/glare-backoff.js';
import { Invite2xxRetransmitter } from '../../../../src/sip/dialog/invite-2xx-retransmitter.js';

describe('glareRetryDelay (RFC 3261 §14.1)', () => {
  it('Call-ID owner waits 2.1–4 s in 10 ms steps', () => {
    expect(glareRetryDelay(true, () => 0)).toBe(2100);
    expect(glareRetryDelay(true, () => 0.999999)).toBe(4000);
    expect(glareRetryDelay(true, () => 0.5) % 10).toBe(0);
  });
  it('non-owner waits 0–2 s in 10 ms steps', () => {
    expect(glareRetryDelay(false, () => 0)).toBe(0);
    expect(glareRetryDelay(false, () => 0.999999)).toBe(2000);
    for (let i = 0; i < 200; i++) {
      const v = glareRetryDelay(false);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(2000);
      const w = glareRetryDelay(true);
      expect(w).toBeGreaterThanOrEqual(2100);
      expect(w).toBeLessThanOrEqual(4000);
    }
  });
});

describe('Invite2xxRetransmitter (RFC 3261 §13.3.1.4)', () => {
  it('retransmits at T1, 2T1, 4T1… capped at T2, gives up at 64·T1', () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    let gaveUp = -1;
    new Invite2xxRetransmitter(
      clock,
      { t1: 500, t2: 4000 },
      false,
      () => sent.push(clock.now()),
      () => (gaveUp = clock.now()),
    );
    clock.advance(40_000);
    expect(sent.slice(0, 6)).toEqual([500, 1500, 3500, 7500, 11500, 15500]);
    expect(sent.every((t) => t < 32_000)).toBe(true);
    expect(gaveUp).toBe(32_000);
    expect(clock.pending).toBe(0);
  });
  it('stops on ACK', () => {
    const clock = new FakeClock();
    let n = 0;
    let gaveUp = false;
    const r = new Invite2xxRetransmitter(
      clock,
      { t1: 500, t2: 4000 },
      false,
      () => n++,
      () => (gaveUp = true),
    );
    clock.advance(1600);
    r.stop();
    clock.advance(60_000);
    expect(n).toBe(2);
    expect(gaveUp).toBe(false);
    expect(r.active).toBe(false);
  });
  it('reliable transport: no retransmission but still the 64·T1 ACK wait', () => {
    const clock = new FakeClock();
    let n = 0;
    let gaveUp = false;
    new Invite2xxRetransmitter(
      clock,
      { t1: 500, t2: 4000 },
      true,
      () => n++,
      () => (gaveUp = true),
    );
    clock.advance(31_999);
    expect(gaveUp).toBe(false);
    clock.advance(1);
    expect(n).toBe(0);
    expect(gaveUp).toBe(true);
  });
});
