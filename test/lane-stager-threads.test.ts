// The reference's worker-thread lane-stager tests: lane ids come from the native thread slot.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { type ParallelWalControlSurface, ParallelWalLaneStager, __resetThreadSlotCounterForTesting, threadSlot } from '../lib/index';
import { FIXTURES } from './wal-helpers';

function laneOfNewThread(control: ParallelWalControlSurface): Promise<{ first: number; second: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(FIXTURES, 'control-worker.js'), { workerData: { mode: 'lane', control } });
    w.once('message', (m: { first: number; second: number; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    w.once('error', reject);
  });
}

test('testLaneStagerIdentityIsStableWithinThread (native thread slot)', async () => {
  const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 4 });
  expect(stager.currentLaneId()).toBe(stager.currentLaneId());
  expect(stager.currentLaneId()).toBe(threadSlot(4));
  const w = await laneOfNewThread({ mode: 'auto', laneCountOverride: 4 });
  expect(w.first).toBe(w.second);
  expect(w.first).toBeLessThan(4);
}, 30000);

test('testLaneStagerReusesLanesAfterWorkerChurn', async () => {
  const control: ParallelWalControlSurface = { mode: 'auto', laneCountOverride: 2 };
  const wave = async (): Promise<number[]> => {
    const lanes = await Promise.all([laneOfNewThread(control), laneOfNewThread(control)]);
    return lanes.map((l) => l.first).sort();
  };
  __resetThreadSlotCounterForTesting();
  expect(await wave()).toEqual([0, 1]);
  expect(await wave()).toEqual([0, 1]);
}, 60000);

test('testLaneStagerConservativeModeCollapsesToSingleLane (across threads)', async () => {
  const control: ParallelWalControlSurface = { mode: 'conservative', laneCountOverride: 8 };
  expect(new ParallelWalLaneStager<number>(control).laneCount()).toBe(1);
  const lanes = await Promise.all([laneOfNewThread(control), laneOfNewThread(control)]);
  expect(lanes.map((l) => l.first)).toEqual([0, 0]);
  expect(new ParallelWalLaneStager<number>(control).currentLaneId()).toBe(0);
}, 60000);

test('threadSlot validates its count', () => {
  expect(() => threadSlot(0)).toThrow(/must be an integer/);
  expect(() => threadSlot(65536)).toThrow(/must be an integer/);
  expect(threadSlot(1)).toBe(0);
});
