// The coordinator: the seed's coordinator / ticker / registry tests ported, plus the API
// surface (options, argument errors, waits, commits, close).
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  ParallelWal,
  ParallelWalCoordinator,
  WalError,
  isWalError,
  listSegmentsSync,
  parallelWalCoordinatorForPath,
  readSegmentSync,
  removeParallelWalCoordinator,
  resolveWalOptions,
  segmentPath,
} from '../lib';
import { catchError, catchRejection } from './helpers';
import { oneFrame, recovered, removeTmpDirs, sampleBatch, tmpDbPath } from './wal-helpers';

const open: ParallelWalCoordinator[] = [];
function coordinator(dbPath: string, options?: ConstructorParameters<typeof ParallelWalCoordinator>[1]): ParallelWalCoordinator {
  const c = new ParallelWalCoordinator(dbPath, options);
  open.push(c);
  return c;
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.close({ abort: true });
});
afterAll(() => removeTmpDirs());

describe('seed coordinator tests', () => {
  test('parallelWalCoordinatorCreation: epoch 0, nothing durable, not running', () => {
    const c = coordinator(tmpDbPath());
    expect(c.currentEpoch()).toBe(0);
    expect(c.durableEpoch()).toBeUndefined();
    expect(c.isRunning()).toBe(false);
  });

  test('threadSlotAssignment: stable within a thread and < slotCount', () => {
    const c = coordinator(tmpDbPath(), { slotCount: 4 });
    const slot1 = c.threadSlot();
    const slot2 = c.threadSlot();
    expect(slot1).toBe(slot2);
    expect(slot1).toBeGreaterThanOrEqual(0);
    expect(slot1).toBeLessThan(4);
  });

  test('globalCoordinatorRegistry: same path, same coordinator; removal closes it', async () => {
    const p = tmpDbPath('registry.db');
    const c1 = parallelWalCoordinatorForPath(p);
    const c2 = parallelWalCoordinatorForPath(p);
    expect(c1).toBe(c2);
    // A relative spelling of the same path is the same entry.
    expect(parallelWalCoordinatorForPath(path.relative(process.cwd(), p))).toBe(c1);
    expect(c1.isRunning()).toBe(true);
    await c1.commit(oneFrame(1));
    expect(await removeParallelWalCoordinator(p)).toBe(true);
    expect(c1.closed).toBe(true);
    expect(await removeParallelWalCoordinator(p)).toBe(false);
    const c3 = parallelWalCoordinatorForPath(p);
    expect(c3).not.toBe(c1);
    expect(c3.currentEpoch()).toBeGreaterThan(0);
    await removeParallelWalCoordinator(p);
  });

  test('epochTickerStartStop: start twice fails, stop is idempotent', async () => {
    const c = coordinator(tmpDbPath('ticker.db'), { slotCount: 4, epochIntervalMs: 5, flushPolicy: 'ticker' });
    expect(c.isRunning()).toBe(false);
    c.start();
    expect(c.isRunning()).toBe(true);
    const err = catchError(() => c.start());
    expect(err.message).toMatch(/already running/);
    expect(err.code).toBe('ERR_INVALID_STATE');
    c.stop();
    expect(c.isRunning()).toBe(false);
    c.stop();
    expect(c.isRunning()).toBe(false);
  });

  test('epochTickerAdvancesEpochs without stalling on inactive slots', async () => {
    const c = coordinator(tmpDbPath('ticker_advance.db'), { slotCount: 2, epochIntervalMs: 5, flushPolicy: 'ticker' });
    const initial = c.currentEpoch();
    c.start();
    // Wait on events, not on time: a commit is durable only once the ticker sealed its epoch.
    await c.commit(oneFrame(1));
    await c.commit(oneFrame(2));
    c.stop();
    expect(c.currentEpoch()).toBeGreaterThan(initial);
    expect(c.durableEpoch()).toBeGreaterThanOrEqual(initial);
  });

  test('epochTickerRestartAfterStop: a stopped ticker starts again', async () => {
    const c = coordinator(tmpDbPath('ticker_restart.db'), { slotCount: 2, epochIntervalMs: 5, flushPolicy: 'ticker' });
    c.start();
    await c.commit(oneFrame(1));
    c.stop();
    c.start({ fsyncPolicy: 'normal' });
    expect(c.isRunning()).toBe(true);
    await c.commit(oneFrame(2));
    c.stop();
    expect(c.isRunning()).toBe(false);
  });

  test('submitBatchPersistsActualFramePayloads', async () => {
    const p = tmpDbPath('submit_batch.db');
    const c = coordinator(p, { slotCount: 1 });
    const epoch = c.submitBatch(sampleBatch(11, 77));
    expect(epoch).toBe(0);
    await c.advanceAndFlush({ timeoutMs: 5000 });
    expect(c.durableEpoch()).toBe(0);
    const seg = readSegmentSync(segmentPath(p, 0));
    expect(seg.records).toHaveLength(2);
    expect(seg.records[0].txnToken.id).toBe(11n);
    expect(seg.records[0].beginSeq).toBe(77n);
    expect(seg.records[0].pageId).toBe(7);
    expect(seg.records[0].afterImage).toEqual(Buffer.alloc(16, 0xaa));
    expect(seg.records[1].pageId).toBe(9);
    expect(seg.records[1].afterImage).toEqual(Buffer.alloc(24, 0xbb));
  });

  test('advanceAndFlushDoesNotMarkEpochDurableOnSegmentWriteFailure', async () => {
    const p = tmpDbPath('write_failure.db');
    const c = coordinator(p, { slotCount: 1, __faultInjection: { op: 'sync', errno: 'EIO', after: 0, persistent: true } });
    c.submitBatch(sampleBatch(21, 99));
    const err = await catchRejection(c.advanceAndFlush({ timeoutMs: 5000 }));
    expect(err.code).toBe('WAL_IO');
    expect(err.message).toMatch(/\b0\b/); // names the failing epoch
    expect(c.durableEpoch()).toBeUndefined();
    const wait = await catchRejection(c.waitForEpochDurable(0, { timeoutMs: 10 }));
    expect(['WAL_IO', 'WAL_TIMEOUT']).toContain(wait.code);
    expect(listSegmentsSync(p)).toHaveLength(0);
  });
});

describe('options', () => {
  test('defaults', () => {
    expect(resolveWalOptions(undefined)).toEqual({
      slotCount: 128,
      bufferCapacityBytes: 4 * 1024 * 1024,
      overflowPolicy: 'block_writer',
      epochIntervalMs: 10,
      flushPolicy: 'adaptive',
      maxFlushDelayMs: 10,
      fsyncPolicy: 'full',
      formatVersion: 2,
      preparedSegments: true,
      logFileBytes: 64 * 1024 * 1024,
      logFileFill: 'auto',
      control: { mode: 'auto' },
      traceQueueCapacity: 4096,
      turnHoldUs: 250,
    });
  });

  test.each([
    [{ slotCount: 0 }, 'RangeError', 'ERR_OUT_OF_RANGE', /"options\.slotCount".*Received number \(0\)/],
    [{ logFileBytes: 5000 }, 'RangeError', 'ERR_OUT_OF_RANGE', /"options\.logFileBytes".*multiple of 4096.*5000/],
    [{ logFileBytes: 512 * 1024 * 1024 }, 'RangeError', 'ERR_OUT_OF_RANGE', /options\.logFileBytes/],
    [{ logFileBytes: '4096' }, 'TypeError', 'ERR_INVALID_ARG_TYPE', /"options\.logFileBytes".*Received "4096"/],
    [{ logFileFill: 'sometimes' }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.logFileFill.*"auto", "always", "never".*"sometimes"/],
    [{ slotCount: 1.5 }, 'RangeError', 'ERR_OUT_OF_RANGE', /options\.slotCount/],
    [{ slotCount: '4' }, 'TypeError', 'ERR_INVALID_ARG_TYPE', /"options\.slotCount".*Received "4"/],
    [{ bufferCapacityBytes: -1 }, 'RangeError', 'ERR_OUT_OF_RANGE', /options\.bufferCapacityBytes.*-1/],
    [{ overflowPolicy: 'drop' }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.overflowPolicy.*"drop"/],
    [{ flushPolicy: 'sometimes' }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.flushPolicy.*"sometimes"/],
    [{ fsyncPolicy: 'always' }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.fsyncPolicy.*"always"/],
    [{ formatVersion: 3 }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.formatVersion.*3/],
    [{ epochIntervalMs: 0 }, 'RangeError', 'ERR_OUT_OF_RANGE', /options\.epochIntervalMs/],
    [{ maxFlushDelayMs: NaN }, 'RangeError', 'ERR_OUT_OF_RANGE', /options\.maxFlushDelayMs.*NaN/],
    [{ slotcount: 4 }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /options\.slotcount/],
    [{ __faultInjection: { op: 'explode' } }, 'TypeError', 'ERR_INVALID_ARG_VALUE', /__faultInjection\.op.*"explode"/],
    [{ __turnHoldUs: 20_000 }, 'RangeError', 'ERR_OUT_OF_RANGE', /"options\.__turnHoldUs".*Received number \(20000\)/],
  ])('%j is rejected naming the option and value', (options, name, code, message) => {
    const err = catchError(() => new ParallelWalCoordinator(tmpDbPath(), options as never));
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('submitBatch arguments', () => {
  const good = () => oneFrame(1);
  test.each([
    [(b: any) => ({ ...b, txnToken: { id: 0 } }), 'RangeError', /"batch\.txnToken\.id"/],
    [(b: any) => ({ ...b, txnToken: { id: 1.5 } }), 'RangeError', /"batch\.txnToken\.id"/],
    [(b: any) => ({ ...b, txnToken: { id: 2 ** 53 } }), 'RangeError', /"batch\.txnToken\.id".*bigint/],
    [(b: any) => ({ ...b, txnToken: { id: '1' } }), 'TypeError', /"batch\.txnToken\.id"/],
    [(b: any) => ({ ...b, txnToken: { id: -1n } }), 'RangeError', /"batch\.txnToken\.id".*-1n/],
    [(b: any) => ({ ...b, txnToken: { id: 2n ** 64n } }), 'RangeError', /"batch\.txnToken\.id"/],
    [(b: any) => ({ ...b, txnToken: { id: 1, epoch: -1 } }), 'RangeError', /"batch\.txnToken\.epoch"/],
    [(b: any) => ({ ...b, txnToken: null }), 'TypeError', /"batch\.txnToken"/],
    [(b: any) => ({ ...b, commitSeq: -3 }), 'RangeError', /"batch\.commitSeq"/],
    [(b: any) => ({ ...b, commitSeq: undefined }), 'TypeError', /"batch\.commitSeq"/],
    [(b: any) => ({ ...b, frames: 'x' }), 'TypeError', /"batch\.frames"/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], pageNumber: 0 }] }), 'RangeError', /"batch\.frames\[0\]\.pageNumber"/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], pageData: 'abc' }] }), 'TypeError', /"batch\.frames\[0\]\.pageData"/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], pageData: Buffer.alloc(65537) }] }), 'RangeError', /"batch\.frames\[0\]\.pageData".*65536/],
    [(b: any) => ({ ...b, frames: [b.frames[0], b.frames[0], { ...b.frames[0], pageNumber: 2 ** 32 }] }), 'RangeError', /"batch\.frames\[2\]\.pageNumber"/],
    [(b: any) => ({ ...b, frames: [b.frames[0], { ...b.frames[0], dbSizeIfCommit: -1 }] }), 'RangeError', /"batch\.frames\[1\]\.dbSizeIfCommit"/],
    [(b: any) => ({ ...b, frames: [b.frames[0], null] }), 'TypeError', /"batch\.frames\[1\]"/],
    // One-frame commits of numbers take the scratch-array path: the same checks and messages.
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], pageNumber: 1.5 }] }), 'RangeError', /"batch\.frames\[0\]\.pageNumber".*1\.5/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], pageNumber: NaN }] }), 'RangeError', /"batch\.frames\[0\]\.pageNumber".*NaN/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], dbSizeIfCommit: 2 ** 32 }] }), 'RangeError', /"batch\.frames\[0\]\.dbSizeIfCommit".*4294967296/],
    [(b: any) => ({ ...b, frames: [{ ...b.frames[0], dbSizeIfCommit: '3' }] }), 'TypeError', /"batch\.frames\[0\]\.dbSizeIfCommit"/],
    [(b: any) => ({ ...b, txnToken: { id: 1, epoch: 2 ** 32 } }), 'RangeError', /"batch\.txnToken\.epoch"/],
    [(b: any) => ({ ...b, commitSeq: 2 ** 53 }), 'RangeError', /"batch\.commitSeq".*bigint/],
    [(b: any) => ({ ...b, commitSeq: Infinity }), 'RangeError', /"batch\.commitSeq".*Infinity/],
    [() => null, 'TypeError', /"batch"/],
  ])('bad batch %# names the field', (mutate, name, message) => {
    const c = coordinator(tmpDbPath());
    const err = catchError(() => c.submitBatch(mutate(good()) as never));
    expect(err.name).toBe(name);
    expect(err.code).toMatch(/^ERR_(INVALID_ARG_TYPE|OUT_OF_RANGE|INVALID_ARG_VALUE)$/);
    expect(err.message).toMatch(message);
    // Nothing was appended.
    expect(c.stats().submits).toBe(0);
  });

  test('u64 values round-trip exactly (bigint in, bigint out of recovery)', async () => {
    const p = tmpDbPath();
    const c = coordinator(p);
    const id = 2n ** 64n - 1n;
    const seq = 2n ** 63n + 12345n;
    c.submitBatch({ txnToken: { id, epoch: 2 ** 32 - 1 }, commitSeq: seq, frames: [{ pageNumber: 2 ** 32 - 1, pageData: new Uint8Array([1, 2, 3]) }] });
    c.submitBatch({ txnToken: { id: Number.MAX_SAFE_INTEGER }, commitSeq: 0, frames: [{ pageNumber: 1, pageData: new DataView(new ArrayBuffer(4)) }] });
    await c.advanceAndFlush();
    const recs = recovered(p);
    expect(recs.map((r) => [r.txnId, r.seq, r.page])).toEqual([
      [BigInt(Number.MAX_SAFE_INTEGER), 0n, 1],
      [id, seq, 2 ** 32 - 1],
    ]);
  });

  test('a batch with no frames appends nothing (the seed returns the epoch)', async () => {
    const p = tmpDbPath();
    const c = coordinator(p);
    expect(c.submitBatch({ txnToken: { id: 1 }, commitSeq: 1, frames: [] })).toBe(c.currentEpoch());
    await c.advanceAndFlush();
    expect(recovered(p)).toEqual([]);
  });

  test('a batch too large for a lane is rejected, not retried forever', async () => {
    const c = coordinator(tmpDbPath(), { bufferCapacityBytes: 1024 });
    const huge = await catchRejection(c.commit(oneFrame(1, 1, 1, 4096)));
    expect(huge.code).toMatch(/^ERR_/);
  });
});

describe('waits and commits', () => {
  test('waitForEpochDurable resolves at once when already durable, times out with WAL_TIMEOUT otherwise', async () => {
    const c = coordinator(tmpDbPath());
    const e = c.submitBatch(oneFrame(1));
    const timeout = await catchRejection(c.waitForEpochDurable(e, { timeoutMs: 20 }));
    expect(timeout).toBeInstanceOf(WalError);
    expect(timeout.code).toBe('WAL_TIMEOUT');
    expect(timeout.message).toMatch(new RegExp(`epoch ${e}\\b`));
    await c.advanceAndFlush();
    await expect(c.waitForEpochDurable(e, { timeoutMs: 0 })).resolves.toBeUndefined();
    await expect(c.waitForEpochDurable(BigInt(e))).resolves.toBeUndefined();
    const bad = await catchRejection(c.waitForEpochDurable(-1));
    expect(bad.code).toBe('ERR_OUT_OF_RANGE');
  });

  test('waits on epochs without records always resolve with a running flusher, interleaved with commits', async () => {
    // Each wait asks for its (empty) epoch to be sealed while commits make the flusher seal on
    // its own; a request that races with the seal covering its epoch must still end in an event.
    const c = ParallelWal.open(tmpDbPath(), { fsyncPolicy: 'off' });
    open.push(c);
    for (let i = 1; i <= 400; i++) {
      const pending = i % 2 === 0 ? c.commit(oneFrame(i)) : undefined;
      await c.waitForEpochDurable(c.currentEpoch(), { timeoutMs: 10000 });
      if (pending) await pending;
    }
    const s = c.stats();
    expect(s.segmentsWritten).toBe(200);
  });

  test('a wait resolves when another caller flushes (event driven, no polling)', async () => {
    const c = coordinator(tmpDbPath());
    const e = c.submitBatch(oneFrame(1));
    const waiting = c.waitForEpochDurable(e);
    expect(c.pendingEpochs()).toEqual([e]);
    await c.advanceAndFlush();
    await waiting;
    expect(c.pendingEpochs()).toEqual([]);
  });

  test('commit resolves with its durable epoch', async () => {
    const p = tmpDbPath();
    const c = ParallelWal.open(p);
    open.push(c);
    const a = c.commit(oneFrame(1));
    const b = c.commit(oneFrame(2));
    const [ea, eb] = await Promise.all([a, b]);
    expect(c.durableEpoch()).toBeGreaterThanOrEqual(Math.max(ea, eb));
    expect(a).not.toBe(b); // each caller its own promise (unhandled failures stay visible)
    expect(recovered(p).map((r) => r.txnId)).toEqual([1n, 2n]);
  });

  test('many concurrent commits from one thread all resolve and are all recovered', async () => {
    const p = tmpDbPath();
    const c = ParallelWal.open(p);
    open.push(c);
    const n = 2000;
    const done = await Promise.all(Array.from({ length: n }, (_, i) => c.commit(oneFrame(i + 1))));
    expect(done).toHaveLength(n);
    const recs = recovered(p);
    expect(recs.map((r) => Number(r.txnId)).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Fewer epochs than commits: group commit, and at most one JS callback per epoch.
    const stats = c.stats();
    expect(stats.segmentsWritten).toBeLessThan(n);
    expect(c.nativeEventCount()).toBeGreaterThan(0);
    expect(c.nativeEventCount()).toBeLessThanOrEqual(stats.epochsDurable);
  });

  test('callers who commit again as soon as their commit resolves make one epoch per sync, not halves (turn holds)', async () => {
    const p = tmpDbPath();
    // A hold long enough that only the end of the JS turn ends it (Wal::HoldSealForTurn).
    const c = ParallelWal.open(p, { fsyncPolicy: 'off', __turnHoldUs: 10_000 });
    open.push(c);
    const callers = 32;
    const rounds = 30;
    let txn = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        for (let r = 0; r < rounds; r++) await c.commit(oneFrame(++txn));
      }),
    );
    const stats = c.stats();
    // Each durable event's turn resolves its commits, whose callers commit again in that turn;
    // the flusher waits for the turn to end and seals those commits together with everything
    // already pending: after the first round or two every epoch holds all 32 callers. Without
    // holds the loop settles into two halves that alternate (two epochs per round).
    expect(stats.turnHolds).toBeGreaterThan(0);
    // A hold that runs out (a turn over 10 ms: a collection) pauses holds for 2 epochs.
    expect(stats.epochsSealed).toBeLessThanOrEqual(rounds + 3 + 3 * stats.turnHoldsExpired);
    expect(stats.recordsWritten).toBe(callers * rounds);
    expect(recovered(p)).toHaveLength(callers * rounds);
  });

  test('advanceAndFlush returns the new current epoch and works with the flusher running', async () => {
    const c = ParallelWal.open(tmpDbPath());
    open.push(c);
    const e = c.submitBatch(oneFrame(1));
    const next = await c.advanceAndFlush();
    expect(next).toBeGreaterThan(e);
    expect(c.durableEpoch()).toBeGreaterThanOrEqual(e);
  });
});

describe('close', () => {
  test('close() makes pending epochs durable and settles every promise', async () => {
    const p = tmpDbPath();
    const c = coordinator(p); // flusher stopped: only close can flush
    const commits = [c.commit(oneFrame(1)), c.commit(oneFrame(2))];
    const wait = c.waitForEpochDurable(c.currentEpoch());
    await c.close();
    await expect(Promise.all(commits)).resolves.toHaveLength(2);
    await expect(wait).resolves.toBeUndefined();
    expect(recovered(p).map((r) => r.txnId)).toEqual([1n, 2n]);
    const after = catchError(() => c.submitBatch(oneFrame(3)));
    expect(after.code).toBe('WAL_CLOSED');
    const afterCommit = await catchRejection(c.commit(oneFrame(3)));
    expect(afterCommit.code).toBe('WAL_CLOSED');
    await c.close(); // idempotent
  });

  test('close({ abort: true }) rejects pending promises with WAL_CLOSED', async () => {
    const c = coordinator(tmpDbPath());
    const commit = c.commit(oneFrame(1));
    const wait = c.waitForEpochDurable(0, { timeoutMs: 60_000 });
    await c.close({ abort: true });
    const e1 = await catchRejection(commit);
    const e2 = await catchRejection(wait);
    expect(e1.code).toBe('WAL_CLOSED');
    expect(e2.code).toBe('WAL_CLOSED');
    expect(isWalError(e1, 'WAL_CLOSED')).toBe(true);
    expect(e1.message).toMatch(/epoch 0/);
  });

  test('closing releases the path: it can be reopened and continues after the newest epoch', async () => {
    const p = tmpDbPath();
    const c = ParallelWal.open(p);
    const e = await c.commit(oneFrame(1));
    await c.close();
    const c2 = ParallelWal.open(p);
    open.push(c2);
    expect(c2.currentEpoch()).toBeGreaterThan(e);
    expect(c2.durableEpoch()).toBeGreaterThanOrEqual(e);
  });

  test('methods of a closed coordinator throw WAL_CLOSED', async () => {
    const c = coordinator(tmpDbPath());
    await c.close();
    for (const f of [() => c.currentEpoch(), () => c.durableEpoch(), () => c.threadSlot(), () => c.start()]) {
      expect(catchError(f).code).toBe('WAL_CLOSED');
    }
    expect((await catchRejection(c.advanceAndFlush())).code).toBe('WAL_CLOSED');
    expect(c.isRunning()).toBe(false);
    c.stop();
  });
});

test('segments appear beside the db path with the documented name', async () => {
  const p = tmpDbPath('named.db');
  const c = coordinator(p);
  c.submitBatch(oneFrame(1));
  await c.advanceAndFlush();
  expect(fs.readdirSync(path.dirname(p)).filter((n) => n.startsWith('named.db-wal-seg-'))).toEqual(['named.db-wal-seg-0000000000000000']);
});
