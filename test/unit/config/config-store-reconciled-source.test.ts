/**
 * `start --config FILE` skips the reconcile when the file is unchanged since the last successful
 * one (interfaces §1): the store records the file's hash and its version in the meta table
 * (`ConfigStore.recordReconciledSource`), `openStartConfiguration` (src/config/config-bootstrap.ts) compares.
 * A changed file, or a store changed since, gives the same change-set as `openConfiguration`.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigFileError,
  configFileHash,
  openConfiguration,
  openStartConfiguration,
} from '../../../src/config/config-bootstrap.js';
import { openStore, type ConfigStore } from '../../../src/config/config-store.js';
import { RECONCILED_SOURCE_KEY, peekReconciledSource } from '../../../src/config/reconciled-source.js';
import { STORE_FILE } from '../../../src/config/store-database.js';
import type { CommittedChangeSet } from '../../../src/config/change-set.js';
import { silentLogger, type Logger } from '../../../src/util/logger.js';
import { examplesDir } from '../../helpers/paths.js';

/** A logger that keeps every line's `msg` (warnings and the reconcile summary). */
function capturingLogger(): {
  logger: Logger;
  lines: { level: number; msg: string; unchanged?: boolean; applied?: number }[];
} {
  const lines: { level: number; msg: string; unchanged?: boolean; applied?: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** The change feed without commit times. */
function feed(store: ConfigStore): Omit<CommittedChangeSet, 'time'>[] {
  return store.changesSince(0).map(({ time: _t, ...rest }) => rest);
}

describe('openStartConfiguration: reconcile skipped for an unchanged file', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'sipserver-recsrc-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('unchanged file → no change-set and no parse; the record holds the hash and version', () => {
    const d = tmp();
    const file = join(d, 'office.yaml');
    copyFileSync(join(examplesDir, 'office.yaml'), file);
    const data = join(d, 'data');
    expect(peekReconciledSource(data)).toBeUndefined();

    const a = openStartConfiguration(data, file, silentLogger);
    expect(a.version).toBe(1);
    expect(a.changesSince(0)).toHaveLength(1);
    expect(a.reconciledSource()).toEqual({
      hash: configFileHash(readFileSync(file, 'utf8')),
      version: 1,
      warnings: [],
    });
    a.close();
    expect(peekReconciledSource(data)).toEqual({
      source: { hash: configFileHash(readFileSync(file, 'utf8')), version: 1, warnings: [] },
      version: 1,
    });

    const { logger, lines } = capturingLogger();
    const b = openStartConfiguration(data, file, logger);
    expect(b.version).toBe(1);
    expect(b.changesSince(1)).toEqual([]);
    expect(b.dnCount).toBe(4);
    expect(lines.map((l) => [l.msg, l.unchanged, l.applied])).toEqual([
      ['configuration store already matches the file (file unchanged since it was reconciled)', true, 0],
    ]);
    b.close();
  });

  it('changed file, or a store changed since (API), gives the same change-sets as openConfiguration', () => {
    const d = tmp();
    const file = join(d, 'office.yaml');
    const original = readFileSync(join(examplesDir, 'office.yaml'), 'utf8');
    writeFileSync(file, original);
    const before = join(d, 'data-before'); // openConfiguration: reconciles at every start
    const after = join(d, 'data-after'); // openStartConfiguration
    const both = (fn: (store: ConfigStore) => void = () => undefined): void => {
      const x = openConfiguration(before, file).store;
      const y = openStartConfiguration(after, file, silentLogger);
      try {
        fn(x);
        fn(y);
        expect(feed(y)).toEqual(feed(x));
        expect(y.exportModel()).toEqual(x.exportModel());
      } finally {
        x.close();
        y.close();
      }
    };
    both(); // first start: one change-set
    both(); // unchanged: none (skipped on the new path)
    // A change through the API: the next start reverts it to the file on both paths.
    both((s) =>
      s.apply([{ op: 'patch', kind: 'dn', key: '7777', value: { options: { 'oos-check': '33' } } }], { origin: 'api' }),
    );
    both();
    // The file changes: an option edited, a DN added.
    writeFileSync(
      file,
      original.replace('dns:\n', 'dns:\n  - { number: "7010", type: extension, options: { contact: "*" } }\n'),
    );
    both();
    both();
    // Reverted to the original text: reconciled again (its old record is for an older version).
    writeFileSync(file, original);
    both();
    const s = openStore(after);
    try {
      const origins = s.changesSince(0).map((c) => [c.version, c.origin]);
      expect(origins).toEqual([
        [1, 'reconcile'],
        [2, 'api'],
        [3, 'reconcile'],
        [4, 'reconcile'],
        [5, 'reconcile'],
      ]);
      expect(s.changesSince(4)[0].changes.map((c) => `${c.op} ${c.key}`)).toEqual(['delete 7010']);
      expect(s.reconciledSource()?.version).toBe(5);
    } finally {
      s.close();
    }
  });

  it('a file with warnings logs the same lines when skipped as the reconcile did; an invalid file throws as before', () => {
    const d = tmp();
    const file = join(d, 'warn.yaml');
    // An unknown option is a warning (docs/options.md), not an error.
    writeFileSync(
      file,
      'server: { name: T, sip: { listen: ["udp:127.0.0.1:5060"] } }\ndns:\n  - { number: "1000", type: extension, options: { no-such-option: "1" } }\n',
    );
    const warningsOf = (lines: { level: number; msg: string }[]): string[] =>
      lines.filter((l) => l.level === 40).map((l) => l.msg);
    const before = join(d, 'data-before');
    const after = join(d, 'data-after');
    for (let start = 1; start <= 2; start++) {
      const x = capturingLogger();
      openConfiguration(before, file, x.logger).store.close();
      const y = capturingLogger();
      openStartConfiguration(after, file, y.logger).close();
      expect(warningsOf(y.lines)).toEqual(warningsOf(x.lines));
      expect(warningsOf(y.lines)).toContain(`${file}:3: warning: DN 1000: unknown option no-such-option (kept)`);
      expect(y.lines.at(-1)?.unchanged).toBe(start === 2 ? true : undefined);
    }

    const bad = join(d, 'bad.yaml');
    writeFileSync(bad, 'dns:\n  - number: "1"\n    type: nope\n');
    expect(() => openStartConfiguration(after, bad, silentLogger)).toThrow(ConfigFileError);
    const s = openStore(after);
    try {
      expect(s.version).toBe(1);
      expect(s.reconciledSource()?.hash).toBe(configFileHash(readFileSync(file, 'utf8')));
    } finally {
      s.close();
    }
  });

  it('a record of another hash, or an unreadable one, gives a full reconcile that records the file again', () => {
    const d = tmp();
    const data = join(d, 'data');
    const file = join(d, 'office.yaml');
    copyFileSync(join(examplesDir, 'office.yaml'), file);
    openStartConfiguration(data, file, silentLogger).close();
    const s = openStore(data);
    s.recordReconciledSource('sha256:something-else');
    s.close();
    const { logger, lines } = capturingLogger();
    const a = openStartConfiguration(data, file, logger);
    expect(lines.at(-1)?.msg).toBe('configuration store already matches the file'); // diffed, nothing to apply
    expect(a.version).toBe(1);
    expect(a.reconciledSource()?.hash).toBe(configFileHash(readFileSync(file, 'utf8')));
    a.close();
    // A garbled record reads as absent.
    const db = new Database(join(data, STORE_FILE));
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run('{not json', RECONCILED_SOURCE_KEY);
    db.close();
    expect(peekReconciledSource(data)).toEqual({ source: undefined, version: 1 });
    const b = openStartConfiguration(data, file, silentLogger);
    expect(b.version).toBe(1);
    expect(b.reconciledSource()).toEqual({
      hash: configFileHash(readFileSync(file, 'utf8')),
      version: 1,
      warnings: [],
    });
    b.close();
  });
});
