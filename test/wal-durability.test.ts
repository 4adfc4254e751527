// Durability behaviour of the coordinator: restart, lock, backpressure, write/fsync failures.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ParallelWal, ParallelWalCoordinator, WalError, listSegmentsSync, writeSegmentSync } from '../lib';
import { catchError, catchRejection } from './helpers';
import { ensureFreshDist, oneFrame, recovered, removeTmpDirs, runChild, tmpDbPath } from './wal-helpers';

const open: ParallelWalCoordinator[] = [];
function track<T extends ParallelWalCoordinator>(c: T): T {
  open.push(c);
  return c;
}
afterEach(async () => {
  for (const c of open.splice(0)) await c.close({ abort: true });
});
beforeAll(() => ensureFreshDist());
afterAll(() => removeTmpDirs());

function snapshot(dbPath: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of listSegmentsSync(dbPath)) {
    out.set(path.basename(s.path), createHash('sha256').update(fs.readFileSync(s.path)).digest('hex'));
  }
  return out;
}

describe('restart', () => {
  test('reopening continues after the newest epoch on disk and never overwrites a segment', async () => {
    const p = tmpDbPath();
    const c1 = ParallelWal.open(p);
    const first: number[] = [];
    for (let i = 1; i <= 5; i++) first.push(await c1.commit(oneFrame(i)));
    await c1.close();
    const before = snapshot(p);
    expect(before.size).toBeGreaterThan(0);
    const newest = Math.max(...first);

    const c2 = track(ParallelWal.open(p));
    expect(c2.currentEpoch()).toBeGreaterThan(newest);
    expect(c2.durableEpoch()).toBe(newest);
    const second: number[] = [];
    for (let i = 6; i <= 10; i++) second.push(await c2.commit(oneFrame(i)));
    expect(Math.min(...second)).toBeGreaterThan(newest);
    await c2.close();

    const after = snapshot(p);
    for (const [name, hash] of before) expect(after.get(name)).toBe(hash); // untouched
    expect(after.size).toBeGreaterThan(before.size);
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('a segment written by someone else at a high epoch moves the first epoch past it', async () => {
    const p = tmpDbPath();
    writeSegmentSync(p, {
      epoch: 1000n,
      records: [
        {
          txnToken: { id: 1n, epoch: 0 },
          epoch: 1000n,
          pageId: 3,
          beginSeq: 1n,
          endSeq: 1n,
          beforeImage: Buffer.alloc(0),
          afterImage: Buffer.from('old'),
        },
      ],
      recordsPerCore: [1],
    });
    const c = track(new ParallelWalCoordinator(p));
    expect(c.currentEpoch()).toBe(1001);
    expect(c.durableEpoch()).toBe(1000);
    const e = c.submitBatch(oneFrame(2));
    expect(e).toBe(1001);
    await c.advanceAndFlush();
    expect(recovered(p).map((r) => [Number(r.epoch), Number(r.txnId)])).toEqual([
      [1000, 1],
      [1001, 2],
    ]);
  });
});

describe('lock', () => {
  test('a second process opening the same path fails with WAL_LOCKED; after close it succeeds', async () => {
    const p = tmpDbPath();
    const c = ParallelWal.open(p);
    await c.commit(oneFrame(1));
    const locked = await runChild('wal-child.js', ['lock', p]);
    expect(locked.stderr).toBe('');
    const res = JSON.parse(locked.stdout.trim());
    expect(res.code).toBe('WAL_LOCKED');
    expect(res.message).toMatch(/lock/i);
    await c.close();
    const ok = await runChild('wal-child.js', ['lock', p]);
    expect(JSON.parse(ok.stdout.trim())).toEqual({ ok: true, epoch: expect.any(Number) });
    expect(JSON.parse(ok.stdout.trim()).epoch).toBeGreaterThan(0);
  });

  test('within one process the same path shares one native WAL (one epoch sequence)', async () => {
    const p = tmpDbPath();
    const a = track(ParallelWal.open(p));
    const b = track(new ParallelWalCoordinator(p));
    expect(b.isRunning()).toBe(true); // joined the running shared WAL
    const ea = await a.commit(oneFrame(1));
    expect(b.durableEpoch()).toBeGreaterThanOrEqual(ea);
    await b.commit(oneFrame(2));
    await a.close();
    // b still works after a closed its handle.
    await b.commit(oneFrame(3));
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1, 2, 3]);
  });
});

describe('backpressure', () => {
  // Accounted record cost: 48 bytes + image. 3 records of 16 bytes fit in 200 bytes, 4 do not.
  const options = { bufferCapacityBytes: 200, slotCount: 1 };

  test('a full slot makes submitBatch throw WAL_BACKPRESSURE and append nothing', async () => {
    const p = tmpDbPath();
    const c = track(new ParallelWalCoordinator(p, options)); // flusher stopped
    let accepted = 0;
    let err: (Error & { code?: string }) | undefined;
    for (let i = 1; i <= 10 && err === undefined; i++) {
      try {
        c.submitBatch(oneFrame(i));
        accepted++;
      } catch (e) {
        err = e as Error & { code?: string };
      }
    }
    expect(accepted).toBe(3);
    expect(err).toBeInstanceOf(WalError);
    expect(err!.code).toBe('WAL_BACKPRESSURE');
    const statsBefore = c.stats();
    // A multi-frame batch that would straddle the limit is refused whole.
    const again = catchError(() =>
      c.submitBatch({ txnToken: { id: 99 }, commitSeq: 99, frames: [oneFrame(99).frames[0], oneFrame(100).frames[0]] }),
    );
    expect(again.code).toBe('WAL_BACKPRESSURE');
    expect(c.stats().submittedRecords).toBe(statsBefore.submittedRecords);
    await c.advanceAndFlush();
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1, 2, 3]);
  });

  test('commit() waits for room instead of throwing, then succeeds once flushed', async () => {
    const p = tmpDbPath();
    const c = track(new ParallelWalCoordinator(p, options)); // flusher stopped
    for (let i = 1; i <= 3; i++) c.submitBatch(oneFrame(i));
    expect(catchError(() => c.submitBatch(oneFrame(4))).code).toBe('WAL_BACKPRESSURE');
    let settled = false;
    const pending = c.commit(oneFrame(4)).finally(() => (settled = true));
    // Nothing can make room while the flusher is stopped: the commit keeps waiting.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(c.stats().backpressure).toBeGreaterThanOrEqual(2);
    c.start(); // the flusher drains the slot; the commit retries into a new epoch
    const epoch = await pending;
    expect(c.durableEpoch()).toBeGreaterThanOrEqual(epoch);
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1, 2, 3, 4]);
  });

  test('many commits through a tiny buffer all complete (waiting, not failing)', async () => {
    const p = tmpDbPath();
    const c = track(ParallelWal.open(p, options));
    const n = 300;
    await Promise.all(Array.from({ length: n }, (_, i) => c.commit(oneFrame(i + 1))));
    const ids = recovered(p).map((r) => Number(r.txnId)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(c.stats().backpressure).toBeGreaterThan(0);
  });
});

describe('write and fsync failures', () => {
  test('a persistent fsync failure rejects waiters with WAL_IO naming the epoch; nothing becomes durable; the WAL refuses work until reopened', async () => {
    const p = tmpDbPath();
    const c = track(ParallelWal.open(p, { __faultInjection: { op: 'sync', errno: 'EIO', after: 0, persistent: true } }));
    const a = c.commit(oneFrame(1));
    const err = await catchRejection(a);
    expect(err).toBeInstanceOf(WalError);
    expect(err.code).toBe('WAL_IO');
    const failedEpoch = (err as WalError).epoch!;
    expect(typeof failedEpoch).toBe('number');
    expect(err.message).toMatch(new RegExp(`epoch ${failedEpoch}\\b`));
    expect(err.message).toMatch(/EIO|I\/O|input\/output|sync/i);
    expect((err as WalError).errno).toBe(5);
    expect(c.durableEpoch()).toBeUndefined();
    // Rewritten from memory into new files a bounded number of times (never re-synced).
    expect(c.stats().writeFailures).toBeGreaterThanOrEqual(1);
    expect(listSegmentsSync(p)).toHaveLength(0);

    // Refuses new work, and every later wait rejects with the same cause.
    const refused = catchError(() => c.submitBatch(oneFrame(2)));
    expect(refused.code).toBe('WAL_IO');
    const later = await catchRejection(c.waitForEpochDurable(failedEpoch + 5));
    expect(later.code).toBe('WAL_IO');
    expect(later.message).toMatch(new RegExp(`epoch ${failedEpoch}\\b`));
    expect((await catchRejection(c.commit(oneFrame(3)))).code).toBe('WAL_IO');
    expect(c.durableEpoch()).toBeUndefined();
    await c.close();

    // Reopened without the fault: works, and the failed commit is not there.
    const c2 = track(ParallelWal.open(p));
    await c2.commit(oneFrame(4));
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([4]);
  });

  test('every waiter of every pending epoch is rejected, none resolved out of order', async () => {
    const p = tmpDbPath();
    const c = track(new ParallelWalCoordinator(p, { __faultInjection: { op: 'write', errno: 'ENOSPC', after: 0, persistent: true } }));
    const e0 = c.submitBatch(oneFrame(1));
    const w0 = c.waitForEpochDurable(e0);
    const c0 = c.commit(oneFrame(2));
    const flush = catchRejection(c.advanceAndFlush());
    const [r0, r1, rf] = await Promise.all([catchRejection(w0), catchRejection(c0), flush]);
    for (const r of [r0, r1, rf]) {
      expect(r.code).toBe('WAL_IO');
      expect(r.message).toMatch(new RegExp(`epoch ${e0}\\b`));
    }
    expect((r0 as WalError).errno).toBe(28);
    expect(c.durableEpoch()).toBeUndefined();
  });

  test('a transient fsync failure is rewritten into a new file and becomes durable', async () => {
    const p = tmpDbPath();
    const c = track(ParallelWal.open(p, { __faultInjection: { op: 'sync', errno: 'EIO', after: 0, persistent: false } }));
    const e = await c.commit(oneFrame(1));
    expect(c.durableEpoch()).toBeGreaterThanOrEqual(e);
    expect(c.stats().writeFailures).toBe(1);
    await c.commit(oneFrame(2));
    await c.close();
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1, 2]);
    // No temporary left visible as a segment.
    for (const name of fs.readdirSync(path.dirname(p))) expect(name).not.toMatch(/\.tmp-.*\.tmp-/);
  });

  test('a transient rename failure also recovers', async () => {
    const p = tmpDbPath();
    const c = track(ParallelWal.open(p, { __faultInjection: { op: 'rename', after: 0 } }));
    await c.commit(oneFrame(1));
    expect(c.stats().writeFailures).toBe(1);
    await c.close();
    expect(recovered(p).map((r) => Number(r.txnId))).toEqual([1]);
  });
});
