import { describe, expect, it, vi } from 'vitest';
import { runDetached } from '../../../src/util/detached.js';

function logger() {
  return { error: vi.fn() };
}

describe('runDetached', () => {
  it('a synchronous throw goes to onError, not to the caller', () => {
    const log = logger();
    const onError = vi.fn();
    expect(() =>
      runDetached(
        log,
        'x',
        () => {
          throw new Error('boom');
        },
        onError,
      ),
    ).not.toThrow();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
    expect(log.error).not.toHaveBeenCalled();
  });

  it('a rejection goes to onError (async function and promise)', async () => {
    const log = logger();
    const onError = vi.fn();
    runDetached(
      log,
      'x',
      async () => {
        throw new Error('a');
      },
      onError,
    );
    runDetached(log, 'y', Promise.reject(new Error('b')), onError);
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(2));
  });

  it('without onError the failure is logged with what it was', async () => {
    const log = logger();
    runDetached(log, 'BYE', () => Promise.reject(new Error('c')));
    await vi.waitFor(() =>
      expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ what: 'BYE' }), 'detached work failed'),
    );
  });

  it('an onError that throws is logged and goes no further; success calls nothing', async () => {
    const log = logger();
    runDetached(
      log,
      'x',
      () => {
        throw new Error('d');
      },
      () => {
        throw new Error('e');
      },
    );
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ what: 'x' }),
      'error handler of detached work failed',
    );
    const onError = vi.fn();
    runDetached(log, 'ok', async () => 1, onError);
    await Promise.resolve();
    expect(onError).not.toHaveBeenCalled();
  });
});
