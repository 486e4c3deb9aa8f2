import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Call, CallLeg, LegState } from '../../../../src/contact-center/calls/call.js';
import { SqliteCallJournal } from '../../../../src/contact-center/calls/sqlite-call-journal.js';
import { FakeClock } from '../../../../src/util/clock.js';

function call(connId: string, now: number, parties: Array<[dn: string | undefined, address: string]>): Call {
  const c = new Call(connId, 'Inbound', parties[0]![1], parties[1]?.[1], now);
  for (const [dn, address] of parties) c.add(new CallLeg(dn, address, dn ? 'out' : 'in'));
  return c;
}

describe('SqliteCallJournal (DATA/calls.sqlite)', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'call-journal-'));
    clock = new FakeClock(Date.parse('2026-11-26T10:00:00Z'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes behind: a call shows after the flush period, a crash (no close) leaves it to be reported once', () => {
    const j = SqliteCallJournal.open(dir, clock, 200);
    expect(j.takeLost()).toEqual([]);
    const c = call('00000000000000a1', clock.now(), [
      [undefined, '5551234'],
      ['7001', '7001'],
    ]);
    j.opened(c);
    // Not flushed yet: a second process reading now would not see it.
    const peek = SqliteCallJournal.open(dir, clock, 200);
    expect(peek.takeLost()).toEqual([]);
    peek.close();
    clock.advance(200);
    // "Crash": the first journal is never closed; a new process reads the table.
    const next = SqliteCallJournal.open(dir, clock, 200);
    expect(next.takeLost()).toEqual([
      {
        connId: '00000000000000a1',
        parties: ['5551234', '7001'],
        ani: '5551234',
        dnis: '7001',
        callType: 'Inbound',
        startedAt: '2026-11-26T10:00:00.000Z',
        cause: 'crash',
      },
    ]);
    expect(next.takeLost()).toEqual([]); // cleared once reported
    next.close();
    j.close();
  });

  it('a call that ends before the flush never reaches the disk; one that ends after is deleted', () => {
    const j = SqliteCallJournal.open(dir, clock, 200);
    j.takeLost();
    const short = call('00000000000000b1', clock.now(), [
      [undefined, 'a'],
      ['7001', '7001'],
    ]);
    const long = call('00000000000000b2', clock.now(), [
      [undefined, 'b'],
      ['7002', '7002'],
    ]);
    j.opened(short);
    j.opened(long);
    j.closed(short);
    clock.advance(200);
    const peek = SqliteCallJournal.open(dir, clock);
    expect(peek.takeLost().map((l) => l.connId)).toEqual(['00000000000000b2']);
    peek.close();
    j.opened(long); // write it again (peek cleared the table)
    clock.advance(200);
    j.closed(long);
    clock.advance(200);
    const after = SqliteCallJournal.open(dir, clock);
    expect(after.takeLost()).toEqual([]);
    after.close();
    j.close();
  });

  it('parties follow changes (transfer): the live legs at the last flush', () => {
    const j = SqliteCallJournal.open(dir, clock, 200);
    j.takeLost();
    const c = call('00000000000000c1', clock.now(), [
      [undefined, '5551234'],
      ['7001', '7001'],
    ]);
    j.opened(c);
    clock.advance(200);
    c.legs[1]!.state = LegState.Released;
    c.add(new CallLeg('7002', '7002', 'out'));
    j.changed(c);
    clock.advance(200);
    const next = SqliteCallJournal.open(dir, clock);
    expect(next.takeLost()[0]!.parties).toEqual(['5551234', '7002']);
    next.close();
    j.close();
  });

  it('an orderly stop (freeze) keeps the calls it releases and reports them with cause shutdown', () => {
    const j = SqliteCallJournal.open(dir, clock, 200);
    j.takeLost();
    const a = call('00000000000000d1', clock.now(), [
      [undefined, 'a'],
      ['7001', '7001'],
    ]);
    const b = call('00000000000000d2', clock.now(), [
      [undefined, 'b'],
      ['7002', '7002'],
    ]);
    j.opened(a);
    clock.advance(200);
    j.opened(b); // not flushed yet: freeze writes it
    j.freeze([a, b]);
    j.closed(a); // the stop releases the calls: ignored
    j.closed(b);
    j.close();
    const next = SqliteCallJournal.open(dir, clock);
    expect(next.takeLost().map((l) => [l.connId, l.cause])).toEqual([
      ['00000000000000d1', 'shutdown'],
      ['00000000000000d2', 'shutdown'],
    ]);
    next.close();
    const third = SqliteCallJournal.open(dir, clock);
    expect(third.takeLost()).toEqual([]);
    third.close();
  });
});
