// Property-based tests (fast-check) of the public JS API:
//   - arbitrary arguments to every exported function never crash the process: they return, or
//     throw (reject) a typed error: TypeError/RangeError/Error whose `code` is ERR_* or WAL_*;
//   - writeSegment/readSegment/decodeSegment round trips hold for arbitrary records, u64 fields
//     exactly (bigints up to 2^64-1), both formats; unsafe numbers are refused, never rounded;
//   - crc32c concatenation: crc32c(a ++ b) === crc32c(b, crc32c(a)), for every implementation;
//   - the lane stager against a model under random operation sequences.
// PWAL_PROPERTY_RUNS scales the run counts (CI default 1 = the counts below).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';

import * as api from '../lib';
import { ParallelWalLaneStager, type ParallelWalLaneBatch, type TransactionFrameBatchContext } from '../lib/lane-stager';

const SCALE = Number(process.env.PWAL_PROPERTY_RUNS || 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

const dirs: string[] = [];
function freshDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-prop-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// ---- arbitrary arguments never crash ----------------------------------------------------------

// Duck-typed: errors made by the addon come from node's realm, not jest's sandbox realm, so
// `instanceof Error` is false for them.
function typedError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || typeof (e as Error).message !== 'string') return false;
  if (!['TypeError', 'RangeError', 'Error', 'WalError'].includes((e as Error).name)) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^(ERR_|WAL_)/.test(code);
}

/** Calls fn; it must return, or throw/reject a typed error. Returns a description of a violation. */
async function mustBehave(name: string, fn: () => unknown): Promise<string | undefined> {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    return typedError(e) ? undefined : `${name} threw an untyped error: ${String((e as Error)?.stack ?? e)}`;
  }
  if (r instanceof Promise) {
    try {
      await r;
    } catch (e) {
      return typedError(e) ? undefined : `${name} rejected with an untyped error: ${String((e as Error)?.stack ?? e)}`;
    }
  }
  return undefined;
}

// Arbitrary JS values, biased towards what these functions look at (numbers at the edges,
// bigints, typed arrays, objects shaped like records and batches).
const edgeNumbers = fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 - 1, 2 ** 64, NaN, Infinity, -Infinity, Number.MAX_VALUE);
const edgeBigints = fc.constantFrom(0n, 1n, -1n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n));
const bytes = fc.uint8Array({ maxLength: 200 }).map((u) => (u.length % 2 ? Buffer.from(u) : u));
const leaf = fc.oneof(fc.anything(), edgeNumbers, edgeBigints, bytes, fc.string(), fc.constant(undefined), fc.constant(null));
const recordLike = fc.record(
  {
    txnToken: fc.oneof(fc.record({ id: leaf, epoch: leaf }), leaf),
    epoch: leaf,
    pageId: leaf,
    beginSeq: leaf,
    endSeq: leaf,
    beforeImage: fc.oneof(bytes, leaf),
    afterImage: fc.oneof(bytes, leaf),
  },
  { requiredKeys: [] },
);
const batchLike = fc.record(
  { epoch: leaf, records: fc.oneof(fc.array(recordLike, { maxLength: 3 }), leaf), recordsPerCore: fc.oneof(fc.array(leaf, { maxLength: 3 }), leaf), dbSizePages: leaf },
  { requiredKeys: [] },
);
const value = fc.oneof(leaf, recordLike, batchLike, fc.array(leaf, { maxLength: 3 }));

test('arbitrary arguments to every exported function throw typed errors, never crash', async () => {
  const dir = freshDir();
  // Paths stay inside a fresh directory (the functions write and delete files); every other
  // argument is arbitrary.
  const pathArg = fc.oneof(
    fc.string({ maxLength: 12 }).map((s) => path.join(dir, 'db' + s.replace(/[/\0]/g, '_'))),
    fc.constantFrom(path.join(dir, 'missing', 'x.db'), dir, path.join(dir, 'db-wal-seg-0000000000000001')),
    fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined), fc.object(), bytes),
  );
  // Classes (constructed with `new`, exercised by their own tests) are left out by shape, so a
  // newly exported class is not mistaken for a function that throws untyped errors.
  const isClass = (v: unknown) => typeof v === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(v));
  const exported = Object.entries(api).filter(([, v]) => typeof v === 'function' && !isClass(v)) as Array<[string, (...a: unknown[]) => unknown]>;
  // Classes are constructed; the coordinator constructor opens WALs: covered separately below.
  const skip = new Set(['ParallelWalCoordinator', 'ParallelWalLaneStager', 'SegmentHeader', 'WalError', 'ParallelWal']);
  const takesPath = /segment|Segments|maxDurableEpoch|recover|iterate|parallelWalCoordinatorForPath|removeParallelWalCoordinator/;
  const violations: string[] = [];
  let calls = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...exported.filter(([n]) => !skip.has(n))), pathArg, fc.array(value, { maxLength: 4 }), async ([name, fn], p, args) => {
      const full = takesPath.test(name) && name !== 'decodeSegment' ? [p, ...args] : args;
      calls++;
      let v = await mustBehave(name, () => {
        const r = fn(...full);
        // Async iterators: drive them.
        if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
          return (async () => {
            for await (const _ of r as AsyncIterable<unknown>) void _;
          })();
        }
        return r;
      });
      // A coordinator obtained by accident (parallelWalCoordinatorForPath on a valid path) is closed.
      if (v === undefined && name === 'parallelWalCoordinatorForPath') {
        v = await mustBehave('removeParallelWalCoordinator', () => api.removeParallelWalCoordinator(p as string).catch((e: unknown) => { if (!typedError(e)) throw e; }));
      }
      if (v !== undefined) violations.push(v.split('\n')[0]);
      return true; // collect every violation, reported together below
    }),
    { numRuns: runs(3000), seed: 20241121 },
  );
  expect([...new Set(violations)]).toEqual([]);
  expect(calls).toBeGreaterThanOrEqual(runs(3000));
}, 120_000 * Math.max(1, SCALE));

test('arbitrary options and batches to ParallelWal.open / submitBatch / commit throw typed errors', async () => {
  const dir = freshDir();
  let n = 0;
  let opened = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.record({ slotCount: leaf, bufferCapacityBytes: leaf, overflowPolicy: leaf, flushPolicy: leaf, fsyncPolicy: leaf, formatVersion: leaf, epochIntervalMs: leaf, maxFlushDelayMs: leaf }, { requiredKeys: [] }), leaf), fc.array(fc.oneof(fc.record({ txnToken: fc.oneof(fc.record({ id: leaf, epoch: leaf }, { requiredKeys: [] }), leaf), commitSeq: leaf, frames: fc.oneof(fc.array(fc.record({ pageNumber: leaf, pageData: fc.oneof(bytes, leaf), dbSizeIfCommit: leaf }, { requiredKeys: [] }), { maxLength: 3 }), leaf) }, { requiredKeys: [] }), leaf), { maxLength: 4 }), fc.oneof(leaf, fc.record({ timeoutMs: leaf })), async (opts, batches, waitOpts) => {
      const p = path.join(dir, `w${n++}.db`);
      let wal: api.ParallelWalCoordinator | undefined;
      const v0 = await mustBehave('ParallelWal.open', () => {
        wal = api.ParallelWal.open(p, opts as api.OpenOptions);
      });
      if (v0 !== undefined) throw new Error(v0);
      if (wal === undefined) return;
      opened++;
      const w = wal;
      // Promises are not awaited one by one (a ticker with a long interval may take long);
      // close() must settle every one of them.
      const pending: Array<Promise<string | undefined>> = [];
      for (const b of batches) {
        pending.push(mustBehave('submitBatch', () => w.submitBatch(b as api.ParallelWalBatch)));
        pending.push(mustBehave('commit', () => w.commit(b as api.ParallelWalBatch)));
      }
      pending.push(mustBehave('waitForEpochDurable', () => w.waitForEpochDurable(batches.length, waitOpts as api.WaitOptions)));
      pending.push(mustBehave('advanceAndFlush', () => w.advanceAndFlush(waitOpts as api.AdvanceAndFlushOptions)));
      pending.push(mustBehave('close', () => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const all = await Promise.race([
        Promise.all(pending),
        new Promise<string[]>((r) => (timer = setTimeout(() => r(['a promise did not settle within 20 s of close()']), 20_000))),
      ]);
      clearTimeout(timer);
      const bad = all.filter((v) => v !== undefined);
      if (bad.length) throw new Error(bad.join('\n'));
    }),
    { numRuns: runs(300), seed: 7 },
  );
  // Enough arbitrary option sets were valid to exercise the open WAL too.
  expect(opened).toBeGreaterThan(runs(300) / 20);
}, 120_000 * Math.max(1, SCALE));

// ---- round trips --------------------------------------------------------------------------------

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const image = fc.oneof({ weight: 15, arbitrary: fc.uint8Array({ maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 60000, maxLength: 65536 }) });

function replayCmp(a: { epoch: bigint; beginSeq: bigint; txnId: bigint; pageId: number }, b: typeof a): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.beginSeq !== b.beginSeq) return a.beginSeq < b.beginSeq ? -1 : 1;
  if (a.txnId !== b.txnId) return a.txnId < b.txnId ? -1 : 1;
  return a.pageId - b.pageId;
}

test('writeSegment -> readSegment / decodeSegment / recoverSegments round-trips arbitrary records exactly (u64 as bigint)', () => {
  const dir = freshDir();
  let n = 0;
  fc.assert(
    fc.property(
      u64,
      fc.array(
        fc.record({
          txnId: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
          txnEpoch: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          pageId: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
          beginSeq: u64,
          endSeq: fc.option(u64, { nil: null }),
          beforeImage: image,
          afterImage: image,
        }),
        { maxLength: 12 },
      ),
      fc.constantFrom(1 as const, 2 as const),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      (epoch, recs, formatVersion, dbSizePages) => {
        const db = path.join(dir, `r${n++}.db`);
        const records = recs.map((r) => ({ txnToken: { id: r.txnId, epoch: r.txnEpoch }, epoch, pageId: r.pageId, beginSeq: r.beginSeq, endSeq: r.endSeq, beforeImage: r.beforeImage, afterImage: r.afterImage }));
        const bytesWritten = api.writeSegmentSync(db, { epoch, records, recordsPerCore: [records.length], dbSizePages }, { fsyncPolicy: 'off', formatVersion });
        const file = api.segmentPath(db, epoch);
        expect(fs.statSync(file).size).toBe(bytesWritten);
        const expected = recs
          .map((r) => ({ ...r, epoch }))
          .map((r, i) => ({ r, i }))
          .sort((a, b) => replayCmp({ ...a.r }, { ...b.r }) || a.i - b.i)
          .map(({ r }) => r);
        const check = (got: api.SegmentContents) => {
          expect(got.header.epoch).toBe(epoch);
          expect(got.header.recordCount).toBe(recs.length);
          expect(got.records).toHaveLength(expected.length);
          got.records.forEach((g, i) => {
            const e = expected[i];
            expect(g.txnToken.id).toBe(e.txnId);
            expect(g.txnToken.epoch).toBe(e.txnEpoch);
            expect(g.epoch).toBe(epoch);
            expect(g.pageId).toBe(e.pageId);
            expect(g.beginSeq).toBe(e.beginSeq);
            expect(g.endSeq).toBe(e.endSeq);
            expect(Buffer.compare(g.beforeImage, Buffer.from(e.beforeImage))).toBe(0);
            expect(Buffer.compare(g.afterImage, Buffer.from(e.afterImage))).toBe(0);
          });
          if (formatVersion === 2) {
            expect(got.certificate?.certificateEpoch).toBe(epoch);
            expect(got.certificate?.dbSizePages).toBe(dbSizePages);
            expect(got.certificate?.pageSetSize).toBe(new Set(recs.map((r) => r.pageId)).size);
          }
        };
        check(api.readSegmentSync(file));
        check(api.decodeSegment(fs.readFileSync(file)));
        const { records: rec, result } = api.recoverSegmentsSync(db);
        expect(result.epochs).toEqual([epoch]);
        expect(rec).toHaveLength(expected.length);
        // Writing the same epoch again is refused, the file unchanged.
        const before = fs.readFileSync(file);
        expect(() => api.writeSegmentSync(db, { epoch, records, recordsPerCore: [records.length] }, { fsyncPolicy: 'off', formatVersion })).toThrow(
          expect.objectContaining({ code: 'WAL_IO' }),
        );
        expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
        fs.rmSync(file);
      },
    ),
    { numRuns: runs(300), seed: 42 },
  );
}, 120_000 * Math.max(1, SCALE));

test('u64 inputs: unsafe numbers are refused (RangeError), never rounded; safe numbers equal their bigint', () => {
  const dir = freshDir();
  let n = 0;
  fc.assert(
    fc.property(fc.oneof(fc.double({ min: 2 ** 53, max: 2 ** 70, noNaN: true }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), fc.constantFrom('epoch', 'beginSeq', 'txnId'), (x, field) => {
      const db = path.join(dir, `u${n++}.db`);
      const rec = { txnToken: { id: field === 'txnId' ? x : 5, epoch: 0 }, epoch: field === 'epoch' ? x : 3, pageId: 1, beginSeq: field === 'beginSeq' ? x : 9, endSeq: 9, beforeImage: Buffer.alloc(0), afterImage: Buffer.from([1]) };
      const batch = { epoch: field === 'epoch' ? x : 3, records: [rec], recordsPerCore: [1] };
      if (!Number.isSafeInteger(x)) {
        let err: unknown;
        try {
          api.writeSegmentSync(db, batch, { fsyncPolicy: 'off' });
        } catch (e) {
          err = e;
        }
        expect((err as Error).name).toBe('RangeError');
        expect(typedError(err)).toBe(true);
        expect(fs.readdirSync(dir).filter((f) => f.startsWith(`u${n - 1}.db`))).toEqual([]);
        return;
      }
      if (field === 'txnId' && x === 0) {
        expect(() => api.writeSegmentSync(db, batch, { fsyncPolicy: 'off' })).toThrow();
        return;
      }
      api.writeSegmentSync(db, batch, { fsyncPolicy: 'off' });
      const { records } = api.recoverSegmentsSync(db);
      expect(records).toHaveLength(1);
      const got = field === 'epoch' ? records[0].epoch : field === 'beginSeq' ? records[0].beginSeq : records[0].txnToken.id;
      expect(got).toBe(BigInt(x));
    }),
    { numRuns: runs(400), seed: 3 },
  );
});

// ---- crc32c -----------------------------------------------------------------------------------

test('crc32c: concatenation property for every implementation, JS and native paths agree', () => {
  const impls = api.crc32cImplementations();
  expect(impls.length).toBeGreaterThan(0);
  const data = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 5000 }));
  fc.assert(
    fc.property(data, data, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a, b, seed) => {
      const ab = Buffer.concat([a, b]);
      const whole = api.crc32c(ab);
      expect(api.crc32c(b, api.crc32c(a))).toBe(whole);
      expect(api.crc32c(ab, seed)).toBe(api.crc32c(b, api.crc32c(a, seed)));
      for (const impl of impls) {
        expect(api.crc32cWith(impl, ab)).toBe(whole);
        expect(api.crc32cWith(impl, b, api.crc32cWith(impl, a))).toBe(whole);
      }
      // Offset views are honoured.
      const padded = Buffer.concat([Buffer.from([9, 9, 9]), ab, Buffer.from([7])]);
      expect(api.crc32c(new Uint8Array(padded.buffer, padded.byteOffset + 3, ab.length))).toBe(whole);
    }),
    { numRuns: runs(1500), seed: 11 },
  );
});

// ---- lane stager model -----------------------------------------------------------------------

type Op =
  | { kind: 'record'; lane: number; frames: number }
  | { kind: 'takeOldest'; perLane: number[] }
  | { kind: 'takeWrong'; pick: number; lane: number }
  | { kind: 'discard'; picks: number[]; unknown: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('record' as const), lane: fc.integer({ min: 0, max: 4 }), frames: fc.integer({ min: -2, max: 50 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('takeOldest' as const), perLane: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('takeWrong' as const), pick: fc.nat(), lane: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('discard' as const), picks: fc.array(fc.nat(), { maxLength: 3 }), unknown: fc.boolean() }) },
);

test('lane stager: backlogs, FIFO take-for-flush, mismatch drains nothing, idempotent discard (model-based)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), fc.boolean(), (ops, interleave) => {
      const stager = new ParallelWalLaneStager<number>({ mode: 'auto', laneCountOverride: 5 }, { laneIdProvider: () => 0 });
      const model = new Map<number, ParallelWalLaneBatch<number>[]>();
      const all = () => [...model.values()].flat();
      const backlog = (lane: number) => (model.get(lane) ?? []).reduce((s, b) => s + Math.max(0, b.stagedFrameCount), 0);
      const ctx = (b: ParallelWalLaneBatch<number>): TransactionFrameBatchContext => ({ batchId: b.batchId, laneId: b.laneId, stagedFrameCount: b.stagedFrameCount, stagingElapsedNs: b.stagingElapsedNs });
      for (const op of ops) {
        if (op.kind === 'record') {
          const b: ParallelWalLaneBatch<number> = { batchId: stager.nextBatchId(), laneId: op.lane, stagedFrameCount: op.frames, stagingElapsedNs: 1, shadowVerdict: 'not_run', payload: op.frames };
          (model.get(op.lane) ?? model.set(op.lane, []).get(op.lane)!).push(b);
          expect(stager.recordBatch(b)).toBe(backlog(op.lane));
        } else if (op.kind === 'takeOldest') {
          // The oldest k of each lane, in order; lanes optionally interleaved.
          const perLane = op.perLane.map((k, lane) => (model.get(lane) ?? []).slice(0, k));
          const contexts: TransactionFrameBatchContext[] = [];
          if (interleave) {
            for (let i = 0; i < 3; i++) for (const l of perLane) if (l[i]) contexts.push(ctx(l[i]));
          } else {
            for (const l of perLane) contexts.push(...l.map(ctx));
          }
          const got = stager.takeBatchesForFlush(contexts);
          expect(got).toBeDefined();
          expect([...got!.keys()].sort((x, y) => x - y)).toEqual(contexts.map((c) => c.batchId).sort((x, y) => x - y));
          perLane.forEach((l, lane) => model.get(lane)?.splice(0, l.length));
        } else if (op.kind === 'takeWrong') {
          const lane = model.get(op.lane) ?? [];
          if (lane.length < 2) continue;
          // Not the oldest: skip the head (or reverse the first two).
          const contexts = op.pick % 2 ? [ctx(lane[1])] : [ctx(lane[1]), ctx(lane[0])];
          const before = all().map((b) => b.batchId);
          expect(stager.takeBatchesForFlush(contexts)).toBeUndefined();
          expect(all().map((b) => b.batchId)).toEqual(before);
        } else {
          const pool = all();
          const victims = pool.length ? op.picks.map((p) => pool[p % pool.length]) : [];
          const contexts = victims.map(ctx);
          if (op.unknown) contexts.push({ batchId: 1e9, laneId: 0, stagedFrameCount: 1, stagingElapsedNs: 0 });
          const unique = new Set(victims.map((v) => v.batchId));
          expect(stager.discardBatchesForFlush(contexts)).toBe(unique.size);
          for (const [lane, q] of model) model.set(lane, q.filter((b) => !unique.has(b.batchId)));
          expect(stager.discardBatchesForFlush(contexts)).toBe(0); // idempotent
        }
        for (let lane = 0; lane < 5; lane++) expect(stager.currentLaneBacklog(lane)).toBe(backlog(lane));
      }
      // Draining everything that is left, lane by lane, succeeds and empties every backlog.
      const rest = all().map(ctx);
      expect(stager.takeBatchesForFlush(rest)?.size).toBe(rest.length);
      for (let lane = 0; lane < 5; lane++) expect(stager.currentLaneBacklog(lane)).toBe(0);
    }),
    { numRuns: runs(1500), seed: 5 },
  );
});
