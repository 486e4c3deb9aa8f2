import { describe, expect, it } from 'vitest';
import { BatchController } from '../../../../src/cli/migrate/batch-controller.js';

const limits = { initial: 50, max: 1000, maxCpu: 70, maxLag: 50, backoffMs: 1000 };

describe('BatchController', () => {
  it('doubles while CPU and lag are under the limits, up to --max-batch', () => {
    const c = new BatchController(limits);
    const sizes = [c.size];
    for (let i = 0; i < 6; i++) sizes.push(c.next({ cpu: 10, lag: 2 }).size);
    expect(sizes).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('halves and waits longer while either limit is reached, then grows again', () => {
    const c = new BatchController(limits);
    c.next({ cpu: 10, lag: 1 }); // 100
    expect(c.next({ cpu: 70, lag: 1 })).toEqual({ size: 50, waitMs: 1000, reason: 'shrink' });
    expect(c.next({ cpu: 10, lag: 50 })).toEqual({ size: 25, waitMs: 2000, reason: 'shrink' });
    expect(c.next({ cpu: 90, lag: 90 })).toEqual({ size: 12, waitMs: 4000, reason: 'shrink' });
    for (let i = 0; i < 5; i++) c.next({ cpu: 99, lag: 1 });
    expect(c.size).toBe(1);
    expect(c.next({ cpu: 99, lag: 1 }).waitMs).toBe(8000);
    expect(c.next({ cpu: 5, lag: 1 })).toEqual({ size: 2, waitMs: 0, reason: 'grow' });
  });

  it('holds the size when the server reports no load', () => {
    const c = new BatchController(limits);
    expect(c.next({ cpu: null, lag: null })).toEqual({ size: 50, waitMs: 0, reason: 'hold' });
  });

  it('refuses --batch above --max-batch', () => {
    expect(() => new BatchController({ ...limits, initial: 2000 })).toThrow(/--batch/);
  });
});

describe('BatchController with --max-apply-ms', () => {
  const capped = { ...limits, maxApplyMs: 25 };

  it('grows while the apply stays under the bound, to the size that fits it', () => {
    const c = new BatchController(capped);
    expect(c.next({ cpu: 10, lag: 1, applyMs: 5 })).toEqual({ size: 100, waitMs: 0, reason: 'grow' });
    // 100 agents took 20 ms: 125 fit in 25 ms.
    expect(c.next({ cpu: 10, lag: 1, applyMs: 20 })).toEqual({ size: 125, waitMs: 0, reason: 'grow' });
    expect(c.next({ cpu: 10, lag: 1, applyMs: 25 })).toEqual({ size: 125, waitMs: 0, reason: 'hold' });
  });

  it('shrinks without waiting when the apply took longer, at most by half', () => {
    const c = new BatchController({ ...capped, initial: 400 });
    expect(c.next({ cpu: 10, lag: 1, applyMs: 40 })).toEqual({ size: 250, waitMs: 0, reason: 'shrink' });
    expect(c.next({ cpu: 10, lag: 1, applyMs: 500 })).toEqual({ size: 125, waitMs: 0, reason: 'shrink' });
  });

  it('CPU or lag over their limits still halve and wait', () => {
    const c = new BatchController(capped);
    expect(c.next({ cpu: 80, lag: 1, applyMs: 1 })).toEqual({ size: 25, waitMs: 1000, reason: 'shrink' });
  });
});
