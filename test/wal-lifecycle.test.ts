// Node citizenship: idle WALs do not hold the process, process.exit() and worker termination
// with commits in flight crash nothing, and workers share one WAL with the main thread.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { ParallelWal, parallelWalCoordinatorForPath, removeParallelWalCoordinator } from '../lib';
import { native, type NativeWalOptions } from '../lib/native';
import { catchError } from './helpers';
import { FIXTURES, ensureFreshDist, oneFrame, recovered, removeTmpDirs, runChild, tmpDbPath } from './wal-helpers';

beforeAll(() => ensureFreshDist());
afterAll(() => removeTmpDirs());

describe('the native one-frame submit function', () => {
  // submitScratch is a plain function bound to its handle (not a method that unwraps `this`).
  // It must never reach a handle that was closed or collected: each call then throws WAL_CLOSED.
  test('throws WAL_CLOSED once its handle is closed, and once the handle is collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const p = tmpDbPath();
    const data = Buffer.alloc(16, 1);
    let handle: ReturnType<typeof open> | undefined = open();
    function open() {
      // Every option has a native default (native/binding/wal_options.cc).
      const h = new native.NativeWal(p, {} as NativeWalOptions, () => {});
      const scratch = new Float64Array([7, 0, 7, 1, 0]); // id, txn epoch, commitSeq, pageNumber, dbSize
      return { h, submit: h.bindScratch(scratch) };
    }
    // Live: the function submits through its handle.
    expect(handle.submit(data)).toBe(handle.h.currentEpoch());
    const submit = handle.submit;
    handle.h.close(false);
    expect(catchError(() => submit(data)).code).toBe('WAL_CLOSED');
    // Collected: drop the handle, collect until it is gone, then let its finalizer run (Node
    // queues it behind the collection; this immediate is queued after it).
    // (A WeakRef's target stays alive until the end of the task that read it: collect in a
    // later task than the check.)
    const gone = new WeakRef(handle.h);
    handle = undefined;
    let collected = false;
    for (let i = 0; i < 50 && !collected; i++) {
      await new Promise<void>((r) => setImmediate(r));
      gc();
      await new Promise<void>((r) => setImmediate(r));
      collected = gone.deref() === undefined;
    }
    expect(collected).toBe(true);
    await new Promise<void>((r) => setImmediate(r));
    const err = catchError(() => submit(data));
    expect(err.code).toBe('WAL_CLOSED');
    expect(err.message).toMatch(/handle was collected/);
  });
});

describe('process lifecycle (child processes)', () => {
  test('an idle open WAL does not keep the process alive', async () => {
    const p = tmpDbPath();
    const r = await runChild('wal-child.js', ['idle', p], 15_000);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull(); // not killed by our timeout
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('acked\n');
    expect(recovered(p).map((x) => Number(x.txnId))).toEqual([1]);
  });

  test('process.exit() with commits in flight does not crash', async () => {
    for (let i = 0; i < 4; i++) {
      const p = tmpDbPath();
      const r = await runChild('wal-child.js', ['exit', p], 15_000);
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      // Whatever became durable is a valid prefix: recovery succeeds.
      expect(() => recovered(p)).not.toThrow();
    }
  });

  test('workers that commit and are terminated mid-flight crash nothing (addon only in workers)', async () => {
    const p = tmpDbPath();
    const r = await runChild('wal-child.js', ['worker-terminate', p, '12'], 60_000);
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    // On Linux the fixture reports whether the addon stayed mapped after the last worker exited.
    expect(r.stdout).toBe(process.platform === 'linux' ? 'pinned\ndone\n' : 'done\n');
    const ids = new Set(recovered(p).map((x) => Number(x.txnId)));
    expect(ids.has(1)).toBe(true);
    for (let i = 1; i <= 10; i++) expect(ids.has(999_000_000 + i)).toBe(true);
  });
});

describe('worker_threads', () => {
  function runWorker(data: object): Promise<{ acked: number[]; slot: number; threadId: number; error?: string }> {
    return new Promise((resolve, reject) => {
      const w = new Worker(path.join(FIXTURES, 'wal-worker.js'), { workerData: data });
      w.once('message', (m) => (m && m.error ? reject(new Error(m.error)) : resolve(m)));
      w.once('error', reject);
    });
  }

  test('main thread and several workers commit to one WAL at once: every acknowledged commit is recovered, in replay order', async () => {
    const p = tmpDbPath();
    const main = parallelWalCoordinatorForPath(p);
    const count = 400;
    const mainAcked: number[] = [];
    const mainWork = (async () => {
      let next = 1;
      const one = async () => {
        while (next <= count) {
          const id = next++;
          await main.commit(oneFrame(id, id, 1 + (id % 13), 64));
          mainAcked.push(id);
        }
      };
      await Promise.all(Array.from({ length: 16 }, one));
    })();
    const workers = await Promise.all([
      runWorker({ dbPath: p, mode: 'commit', base: 1_000_000, count, inFlight: 16, close: true }),
      runWorker({ dbPath: p, mode: 'commit', base: 2_000_000, count, inFlight: 16, close: true }),
      runWorker({ dbPath: p, mode: 'commit', base: 3_000_000, count, inFlight: 16, close: true }),
      mainWork.then(() => ({ acked: mainAcked, slot: main.threadSlot(), threadId: 0 })),
    ]);
    // One native WAL; each thread keeps the slot it got on first use. Slots are a process-wide
    // counter modulo slotCount, and other test files in this jest process may reset that counter
    // (__resetThreadSlotCounterForTesting), so distinctness is not a guarantee: validity and
    // stability are.
    for (const w of workers) expect(Number.isInteger(w.slot) && w.slot >= 0 && w.slot < 128).toBe(true);
    expect(main.threadSlot()).toBe(workers[3].slot);
    await removeParallelWalCoordinator(p);

    const recs = recovered(p);
    const acked = workers.flatMap((w) => w.acked);
    expect(acked).toHaveLength(4 * count);
    const byId = new Map(recs.map((r) => [Number(r.txnId), r]));
    expect(byId.size).toBe(recs.length); // each commit exactly once
    for (const id of acked) {
      const r = byId.get(id);
      expect(r).toBeDefined();
      expect(r!.data.readBigUInt64LE(0)).toBe(BigInt(id)); // the payload that was submitted
    }
    // Replay order: (epoch, beginSeq, txnId, pageId) ascending.
    for (let i = 1; i < recs.length; i++) {
      const a = recs[i - 1];
      const b = recs[i];
      const cmp = a.epoch !== b.epoch ? (a.epoch < b.epoch ? -1 : 1) : a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : a.txnId !== b.txnId ? (a.txnId < b.txnId ? -1 : 1) : a.page - b.page;
      expect(cmp).toBeLessThanOrEqual(0);
    }
  });

  test('a worker opening the path while the main thread has it open joins the same WAL (no WAL_LOCKED)', async () => {
    const p = tmpDbPath();
    const main = ParallelWal.open(p);
    const e = await main.commit(oneFrame(1));
    const w = await runWorker({ dbPath: p, mode: 'commit', base: 5_000_000, count: 20, inFlight: 4, close: true });
    expect(w.acked).toHaveLength(20);
    expect(main.durableEpoch()).toBeGreaterThan(e);
    await main.close();
    expect(recovered(p)).toHaveLength(21);
  });
});
