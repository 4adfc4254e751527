// ParallelWalLaneStager: every lane-stager test of the reference, ported.
import { MAX_PARALLEL_WAL_LANE_COUNT } from '../lib/control';
import { ParallelWalLaneStager, type ParallelWalLaneBatch, type TransactionFrameBatchContext } from '../lib/lane-stager';

function sampleLaneBatch(batchId: number, laneId: number, stagedFrameCount: number, payload: number): ParallelWalLaneBatch<number> {
  return { batchId, laneId, stagedFrameCount, stagingElapsedNs: stagedFrameCount * 10, shadowVerdict: 'not_run', payload };
}

function sampleLaneContext(batchId: number, laneId: number): TransactionFrameBatchContext {
  return { batchId, laneId, stagedFrameCount: 1, stagingElapsedNs: 10 };
}

// In-process stand-in for thread identity in the pure tests; worker-thread tests live in
// test/lane-stager-threads.test.ts and use the native thread slot.
const fixedLane = (id: number) => (count: number) => id % count;

test('testLaneStagerIdentityIsStableWithinThread', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 4 }, { laneIdProvider: fixedLane(6) });
  const first = stager.currentLaneId();
  const second = stager.currentLaneId();
  expect(first).toBe(second);
  expect(first).toBeLessThan(4);
});

test('testLaneStagerConservativeModeCollapsesToSingleLane', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'conservative', laneCountOverride: 8 }, { laneIdProvider: fixedLane(5) });
  expect(stager.laneCount()).toBe(1);
  expect(stager.currentLaneId()).toBe(0);
});

test('testLaneStagerClampsLaneCountToLaneIdRange', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: MAX_PARALLEL_WAL_LANE_COUNT + 1 }, { laneIdProvider: fixedLane(70000) });
  expect(stager.laneCount()).toBe(MAX_PARALLEL_WAL_LANE_COUNT);
  expect(stager.laneCount()).toBe(0xffff);
  expect(stager.currentLaneId()).toBeLessThan(stager.laneCount());
  expect(new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 0 }).laneCount()).toBe(1);
});

test('testLaneStagerSameLaneOrderMismatchReturnsNoneWithoutDrain', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 });
  expect(stager.recordBatch(sampleLaneBatch(10, 0, 1, 10))).toBe(1);
  expect(stager.recordBatch(sampleLaneBatch(11, 0, 1, 11))).toBe(2);
  expect(stager.takeBatchesForFlush([sampleLaneContext(11, 0), sampleLaneContext(10, 0)])).toBeUndefined();
  expect(stager.currentLaneBacklog(0)).toBe(2);
  const drained = stager.takeBatchesForFlush([sampleLaneContext(10, 0), sampleLaneContext(11, 0)]);
  expect(drained).toBeDefined();
  expect(drained!.size).toBe(2);
  expect(drained!.get(10)?.payload).toBe(10);
  expect(drained!.get(11)?.payload).toBe(11);
  expect(stager.currentLaneBacklog(0)).toBe(0);
});

test('testLaneStagerDiscardBatchesForFlushRemovesStalePayloads', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 });
  expect(stager.recordBatch(sampleLaneBatch(10, 0, 2, 10))).toBe(2);
  expect(stager.recordBatch(sampleLaneBatch(11, 0, 3, 11))).toBe(5);
  expect(stager.recordBatch(sampleLaneBatch(12, 0, 5, 12))).toBe(10);
  expect(stager.discardBatchesForFlush([sampleLaneContext(11, 0)])).toBe(1);
  // discarding a stale middle batch subtracts its staged frames without disturbing the others
  expect(stager.currentLaneBacklog(0)).toBe(7);
  const drained = stager.takeBatchesForFlush([sampleLaneContext(10, 0), sampleLaneContext(12, 0)]);
  expect(drained).toBeDefined();
  expect(drained!.size).toBe(2);
  expect(drained!.get(10)?.payload).toBe(10);
  expect(drained!.get(12)?.payload).toBe(12);
  expect(stager.currentLaneBacklog(0)).toBe(0);
});

test('testLaneStagerDiscardBatchesForFlushIsIdempotent', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 });
  expect(stager.recordBatch(sampleLaneBatch(20, 1, 4, 20))).toBe(4);
  const context = [sampleLaneContext(20, 1)];
  expect(stager.discardBatchesForFlush(context)).toBe(1);
  expect(stager.currentLaneBacklog(1)).toBe(0);
  expect(stager.discardBatchesForFlush(context)).toBe(0);
  expect(stager.currentLaneBacklog(1)).toBe(0);
});

test('testLaneStagerDiscardBatchesForFlushIgnoresUnknownIds', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 });
  expect(stager.recordBatch(sampleLaneBatch(30, 0, 2, 30))).toBe(2);
  expect(stager.discardBatchesForFlush([sampleLaneContext(99, 0)])).toBe(0);
  expect(stager.currentLaneBacklog(0)).toBe(2);
  const drained = stager.takeBatchesForFlush([sampleLaneContext(30, 0)]);
  expect(drained?.get(30)?.payload).toBe(30);
  expect(stager.currentLaneBacklog(0)).toBe(0);
});

test('a flush naming a batch on a lane with nothing queued drains nothing', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 });
  stager.recordBatch(sampleLaneBatch(1, 0, 1, 1));
  expect(stager.takeBatchesForFlush([sampleLaneContext(1, 0), sampleLaneContext(2, 1)])).toBeUndefined();
  expect(stager.currentLaneBacklog(0)).toBe(1);
  expect(stager.discardBatchesForFlush([])).toBe(0);
});

test('batch ids start at 1 and increase', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto' });
  expect(stager.nextBatchId()).toBe(1);
  expect(stager.nextBatchId()).toBe(2);
});

test('a provider that returns an out-of-range lane is reported, not trusted', () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 2 }, { laneIdProvider: () => 5 });
  expect(() => stager.currentLaneId()).toThrow(/lane id provider returned 5/);
});
