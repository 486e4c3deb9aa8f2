import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of this repository. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The shared folder beside the checkout (spec, examples, test corpus); overridable for odd layouts. */
export const sharedDir = process.env.SIPSERVER_SHARED ?? resolve(repoRoot, '../shared');
/**
 * The test corpus: `shared/testcorpus` beside the checkout, or (a clone elsewhere) the copy that
 * `scripts/test.sh` unpacks from `test/fixtures/testcorpus.tgz` into `test/.corpus`.
 */
export const corpusDir = existsSync(resolve(sharedDir, 'testcorpus'))
  ? resolve(sharedDir, 'testcorpus')
  : resolve(repoRoot, 'test/.corpus/testcorpus');
export const examplesDir = resolve(repoRoot, 'examples');
