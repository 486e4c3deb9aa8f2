/**
 * A full garbage collection from any bench, without starting Node with `--expose-gc` (the flag is
 * set at run time and `gc` taken from a fresh context): heap figures of live objects only.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Run a full garbage collection. */
export function gc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
