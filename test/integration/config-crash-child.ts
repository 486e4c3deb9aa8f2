/**
 * Child process of config-crash.test.ts: applies one large change-set to the store in
 * argv[2] and reports progress on stdout synchronously from inside the SQLite transaction,
 * so that the parent can SIGKILL it mid-way.
 */
import { writeSync } from 'node:fs';
import { openStore } from '../../src/config/config-store.js';
import type { ChangeRequest } from '../../src/config/change-set.js';

const [dir, countText] = process.argv.slice(2);
const count = Number(countText);
const store = openStore(dir);
const changes: ChangeRequest[] = [];
for (let i = 0; i < count; i++) {
  changes.push({
    op: 'put',
    kind: 'dn',
    key: `+1555${String(i).padStart(7, '0')}`,
    value: { type: 'extension', options: { 'line-type': '1' } },
  });
}
changes.push({ op: 'patch', kind: 'dn', key: 'Softswitch', value: { options: { 'oos-check': '7' } } });
writeSync(1, 'validating\n');
store.apply(changes, {
  origin: 'crash-test',
  progressEvery: 5000,
  onProgress: (n) => writeSync(1, `progress ${n}\n`),
});
writeSync(1, `committed ${store.version}\n`);
store.close();
