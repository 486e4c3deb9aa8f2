import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of this repository. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The shared folder beside the checkout (spec, examples, test corpus); overridable for odd layouts. */
export const sharedDir = process.env.SIPSERVER_SHARED ?? resolve(repoRoot, '../shared');
export const corpusDir = resolve(sharedDir, 'testcorpus');
export const examplesDir = resolve(repoRoot, 'examples');
