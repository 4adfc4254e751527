// Checkpoints (ParallelWalCoordinator.checkpoint) on real files: the application says which
// epochs it has applied; the WAL deletes its oldest files that hold nothing later, beside the
// running flusher, and recovery then returns every later epoch. The crash-safety of the
// deletions (power loss at every step) is proven in native/tests/wal_crash_test.cc
// (WalCheckpoint.*).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ParallelWal, type ParallelWalCoordinator, listSegments, recoverSegments, segmentPath } from '../lib';
import { catchRejection } from './helpers';
import { oneFrame, removeTmpDirs, tmpDbPath } from './wal-helpers';

const SLOT = 4096;
const LOG_BYTES = 16 * SLOT; // 16 one-slot frames per log file

afterAll(removeTmpDirs);

/** Commits txns first..last one at a time (one epoch each); returns txn -> epoch. */
async function commitEach(wal: ParallelWalCoordinator, first: number, last: number, epochs: Map<number, number>): Promise<void> {
  for (let t = first; t <= last; t++) epochs.set(t, await wal.commit(oneFrame(t, t)));
}

async function recoveredTxns(db: string): Promise<number[]> {
  const { records } = await recoverSegments(db);
  return records.map((r) => Number(r.txnToken.id));
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('checkpoint', () => {
  test('deletes whole log files up to its epoch; recovery returns every later epoch', async () => {
    const db = tmpDbPath();
    // Grown by appending: one 4 KiB slot per epoch, 16 per file, no preparer involved.
    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'never' });
    const epochs = new Map<number, number>();
    await commitEach(wal, 1, 40, epochs);
    const files = await listSegments(db);
    expect(files.length).toBe(3); // txns 1-16, 17-32, 33-40

    // Epoch of txn 20 is inside the second file: only the first goes.
    let r = await wal.checkpoint(epochs.get(20)!);
    expect(r).toEqual({ filesDeleted: 1, bytesFreed: LOG_BYTES, firstRetainedEpoch: epochs.get(17) });
    expect(fs.existsSync(files[0].path)).toBe(false);
    expect(await recoveredTxns(db)).toEqual(range(17, 40));

    // Everything durable, as a bigint: the second file goes, the newest stays.
    r = await wal.checkpoint(BigInt(wal.durableEpoch()!));
    expect(r).toEqual({ filesDeleted: 1, bytesFreed: LOG_BYTES, firstRetainedEpoch: epochs.get(33) });
    r = await wal.checkpoint(wal.durableEpoch()!);
    expect(r.filesDeleted).toBe(0);
    expect(await recoveredTxns(db)).toEqual(range(33, 40));

    // The log goes on after checkpoints, and across a reopen.
    await commitEach(wal, 41, 50, epochs);
    await wal.close();
    const again = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'never' });
    await commitEach(again, 51, 52, epochs);
    expect(epochs.get(51)!).toBeGreaterThan(epochs.get(50)!);
    await again.close();
    expect(await recoveredTxns(db)).toEqual(range(33, 52));
  });

  test('beside commits in flight: nothing after the checkpoint is lost', async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'never' });
    const epochs = new Map<number, number>();
    let upto = -1;
    let deleted = 0;
    for (let round = 0; round < 60; round++) {
      const base = round * 10;
      // 10 concurrent commits, and a checkpoint a few epochs behind the durable one while they fly.
      const inFlight = range(base + 1, base + 10).map(async (t) => epochs.set(t, await wal.commit(oneFrame(t, t))));
      const durable = wal.durableEpoch();
      if (durable !== undefined && durable >= 2) {
        upto = durable - 2;
        deleted += (await wal.checkpoint(upto)).filesDeleted;
      }
      await Promise.all(inFlight);
    }
    await wal.close();
    expect(deleted).toBeGreaterThan(0);
    const got = new Set(await recoveredTxns(db));
    const kept = [...epochs].filter(([, e]) => e > upto).map(([t]) => t);
    expect(kept.length).toBeGreaterThan(0);
    for (const t of kept) expect(got.has(t)).toBe(true);
    expect(got.size).toBeLessThan(epochs.size); // something was deleted
  });

  test('a failed deletion rejects with WAL_IO and the errno; the WAL goes on and the next checkpoint finishes', async () => {
    const db = tmpDbPath();
    // The second file deletion fails (ENOSPC: any errno the file system reports).
    const wal = ParallelWal.open(db, {
      logFileBytes: LOG_BYTES,
      logFileFill: 'never',
      __faultInjection: { op: 'delete', errno: 'ENOSPC', after: 1 },
    });
    const epochs = new Map<number, number>();
    await commitEach(wal, 1, 40, epochs);
    // Over a fault-injecting file system the WAL does not prepare files (preparation needs the
    // default one): a file per epoch, and no temporaries of the preparer's.
    const before = (await listSegments(db)).map((f) => f.path);
    expect(before.length).toBe(40);
    const retired = () => fs.readdirSync(path.dirname(db)).filter((n) => n.includes('.tmp-prep-'));
    const err = await catchRejection(wal.checkpoint(epochs.get(40)!));
    expect(err.code).toBe('WAL_IO');
    expect(err.errno).toBe(28);
    expect(err.message).toMatch(/checkpoint/);
    // Files are first renamed out of the log (oldest first), then deleted: the one whose
    // deletion failed is out of the log already, under a temporary name.
    expect(err.message).toContain(`unlink ${segmentPath(db, 0)}.tmp-prep-`);
    expect(retired()).toHaveLength(1);
    // Every file but the newest is out of the log, which recovers strictly.
    expect((await listSegments(db)).map((f) => f.path)).toEqual(before.slice(39));
    expect(await recoveredTxns(db)).toEqual([40]);
    // The WAL goes on; the next checkpoint takes txn 40's file out and deletes the leftover.
    await commitEach(wal, 41, 42, epochs);
    const r = await wal.checkpoint(epochs.get(40)!);
    expect(r.filesDeleted).toBe(1);
    expect(r.firstRetainedEpoch).toBe(epochs.get(41));
    expect(retired()).toEqual([]);
    await wal.close();
    expect(await recoveredTxns(db)).toEqual([41, 42]);
  });

  test('validates its epoch and refuses after close', async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES });
    let err = await catchRejection(wal.checkpoint(0));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toMatch(/"epoch" is out of range\. It must be <= durableEpoch\(\) \(no epoch is durable yet\)\. Received number \(0\)/);
    const e = await wal.commit(oneFrame(1, 1));
    err = await catchRejection(wal.checkpoint(e + 1));
    expect(err.code).toBe('ERR_OUT_OF_RANGE');
    expect(err.message).toContain(`It must be <= durableEpoch() (${e}). Received number (${e + 1})`);
    err = await catchRejection(wal.checkpoint(-1));
    expect(err.code).toBe('ERR_OUT_OF_RANGE');
    err = await catchRejection(wal.checkpoint(1.5));
    expect(err.code).toBe('ERR_OUT_OF_RANGE');
    err = await catchRejection(wal.checkpoint('3' as unknown as number));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(await wal.checkpoint(e)).toEqual({ filesDeleted: 0, bytesFreed: 0, firstRetainedEpoch: e });
    await wal.close();
    err = await catchRejection(wal.checkpoint(e));
    expect(err.code).toBe('WAL_CLOSED');
  });
});
