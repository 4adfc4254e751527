// Every byte of a small v2 segment checked from JS, and the async record iterator.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodeSegment,
  iterateSegmentRecords,
  readSegmentSync,
  recoverSegments,
  recoverSegmentsSync,
  segmentPath,
  writeSegment,
  writeSegmentSync,
  type SegmentIterationSummary,
  type WalRecord,
} from '../lib';
import { catchError, catchRejection } from './helpers';
import { batch, rec, useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };

function smallBatch(epoch: number) {
  return batch(epoch, [
    rec({ txnId: epoch * 10 + 1, epoch, pageId: 1, beginSeq: epoch * 100, beforeImage: Buffer.alloc(6, 0x11), afterImage: Buffer.alloc(9, epoch) }),
    rec({ txnId: epoch * 10 + 2, epoch, pageId: 2, beginSeq: epoch * 100 + 1, endSeq: null, afterImage: Buffer.alloc(5, 0x40 + epoch) }),
  ], [1, 1]);
}

describe('segments: every byte of a v2 segment is checked', () => {
  const tmp = useTempDir();

  test('flipping any byte or any bit is detected by the decoder and by readSegment', () => {
    const db = path.join(tmp(), 'flip.db');
    writeSegmentSync(db, smallBatch(1), OFF);
    const segPath = segmentPath(db, 1);
    const original = fs.readFileSync(segPath);
    const good = decodeSegment(original);
    expect(good.records).toHaveLength(2);
    expect(original.length).toBeGreaterThan(100);
    for (let i = 0; i < original.length; i++) {
      for (const mask of [0xff, 0x01, 0x80]) {
        const bad = Buffer.from(original);
        bad[i] ^= mask;
        const err = catchError(() => decodeSegment(bad));
        expect({ i, mask, code: err.code }).toEqual({ i, mask, code: 'WAL_CORRUPTION' });
      }
      const bad = Buffer.from(original);
      bad[i] ^= 0xff;
      fs.writeFileSync(segPath, bad);
      const err = catchError(() => readSegmentSync(segPath));
      expect({ i, code: err.code }).toEqual({ i, code: 'WAL_CORRUPTION' });
      expect(err.message).toContain(segPath);
    }
  });

  test('a flipped record byte is located: the error names the record', () => {
    const db = path.join(tmp(), 'where.db');
    writeSegmentSync(db, smallBatch(1), OFF);
    const original = fs.readFileSync(segmentPath(db, 1));
    // Record 1 (replay order) starts after the header and record 0 (len + body + crc).
    const firstLen = original.readUInt32LE(24);
    const second = 24 + 4 + firstLen + 4;
    const bad = Buffer.from(original);
    bad[second + 4 + 10] ^= 0x01; // inside record 1's body
    expect(catchError(() => decodeSegment(bad)).message).toMatch(/record 1\b/);
  });

  test('truncation at every length is detected', () => {
    const db = path.join(tmp(), 'trunc.db');
    writeSegmentSync(db, smallBatch(1), OFF);
    const original = fs.readFileSync(segmentPath(db, 1));
    for (let len = 0; len < original.length; len++) {
      const err = catchError(() => decodeSegment(original.subarray(0, len)));
      expect({ len, code: err.code }).toEqual({ len, code: 'WAL_CORRUPTION' });
    }
  });

  test('recovery stops before a damaged segment and never returns altered data', () => {
    const db = path.join(tmp(), 'recover.db');
    writeSegmentSync(db, smallBatch(1), OFF);
    writeSegmentSync(db, smallBatch(2), { ...OFF, prevDurableEpoch: 1 });
    writeSegmentSync(db, smallBatch(3), { ...OFF, prevDurableEpoch: 2 });
    const paths = [1, 2, 3].map((e) => segmentPath(db, e));
    const originals = paths.map((p) => fs.readFileSync(p));
    const clean = recoverSegmentsSync(db).records;
    expect(clean).toHaveLength(6);
    const epoch1 = clean.filter((r) => r.epoch === 1n);
    const upTo2 = clean.filter((r) => r.epoch <= 2n);

    for (let i = 0; i < originals[1].length; i++) {
      const bad = Buffer.from(originals[1]);
      bad[i] ^= 0xff;
      // Damage followed by a valid segment: an error by default; the prefix with skipCorrupt.
      fs.writeFileSync(paths[1], bad);
      const err = catchError(() => recoverSegmentsSync(db));
      expect({ i, code: err.code }).toEqual({ i, code: 'WAL_CORRUPTION' });
      const skipped = recoverSegmentsSync(db, { skipCorrupt: true });
      expect(skipped.result.epochs).toEqual([1n]);
      expect(skipped.result.partialSegments).toEqual([paths[1], paths[2]]);
      expect(skipped.records).toEqual(epoch1);
      fs.writeFileSync(paths[1], originals[1]);

      // Damage in the last segment: a torn tail, reported, not applied.
      const badTail = Buffer.from(originals[2]);
      if (i < badTail.length) {
        badTail[i] ^= 0xff;
        fs.writeFileSync(paths[2], badTail);
        const torn = recoverSegmentsSync(db);
        expect({ i, tornTail: torn.result.tornTail }).toEqual({ i, tornTail: true });
        expect(torn.result.epochs).toEqual([1n, 2n]);
        expect(torn.result.stopReason).toMatch(/^torn tail: /);
        expect(torn.records).toEqual(upTo2);
        fs.writeFileSync(paths[2], originals[2]);
      }
    }
    expect(recoverSegmentsSync(db).records).toEqual(clean);
  });

  test('a truncated last segment is a torn tail; discardTornTail removes it', async () => {
    const db = path.join(tmp(), 'torn.db');
    await writeSegment(db, smallBatch(1), OFF);
    await writeSegment(db, smallBatch(2), { ...OFF, prevDurableEpoch: 1 });
    const last = segmentPath(db, 2);
    const original = fs.readFileSync(last);
    for (let len = 0; len < original.length; len++) {
      fs.writeFileSync(last, original.subarray(0, len));
      const { result, records } = await recoverSegments(db);
      expect({ len, tornTail: result.tornTail, epochs: result.epochs }).toEqual({ len, tornTail: true, epochs: [1n] });
      expect(result.partialSegments).toEqual([last]);
      expect(records.every((r) => r.epoch === 1n)).toBe(true);
    }
    const { result } = await recoverSegments(db, { discardTornTail: true });
    expect(result.tornTail).toBe(true);
    expect(fs.existsSync(last)).toBe(false);
    expect((await recoverSegments(db)).result.tornTail).toBe(false);
  });
});

async function drain(gen: AsyncGenerator<WalRecord, SegmentIterationSummary, undefined>) {
  const records: WalRecord[] = [];
  for (;;) {
    const step = await gen.next();
    if (step.done) return { records, summary: step.value };
    records.push(step.value);
  }
}

describe('segments: iterateSegmentRecords', () => {
  const tmp = useTempDir();

  test('yields exactly what recoverSegments returns, in replay order', async () => {
    const db = path.join(tmp(), 'iter.db');
    for (let e = 1; e <= 4; e++) await writeSegment(db, smallBatch(e), { ...OFF, prevDurableEpoch: e > 1 ? e - 1 : null });
    const { result, records } = await recoverSegments(db);
    const seen: WalRecord[] = [];
    for await (const r of iterateSegmentRecords(db)) seen.push(r);
    expect(seen).toEqual(records);
    const { summary } = await drain(iterateSegmentRecords(db));
    expect(summary).toEqual({
      segmentsRecovered: 4,
      recordsApplied: 8,
      epochs: result.epochs,
      partialSegments: [],
      tornTail: false,
      stopReason: null,
    });
  });

  test('reads at most one segment ahead (segment 3 is read only once segment 2 is reached)', async () => {
    const db = path.join(tmp(), 'lazy.db');
    for (let e = 1; e <= 3; e++) await writeSegment(db, smallBatch(e), OFF);
    const gen = iterateSegmentRecords(db);
    const first = await gen.next();
    expect(first.done).toBe(false);
    expect((first.value as WalRecord).epoch).toBe(1n);
    // Replace segment 3 after iteration began: the iterator sees the new contents.
    fs.unlinkSync(segmentPath(db, 3));
    const replacement = smallBatch(3);
    const records = [...replacement.records];
    records[0] = { ...records[0], afterImage: Buffer.from('replaced') };
    await writeSegment(db, { ...replacement, records }, OFF);
    const rest = (await drain(gen)).records;
    expect(rest.map((r) => r.epoch)).toEqual([1n, 2n, 2n, 3n, 3n]);
    expect(rest[3].afterImage.toString()).toBe('replaced');
  });

  test('a file that cannot be read fails the iteration only once the segments before it are yielded', async () => {
    const db = path.join(tmp(), 'ahead.db');
    for (let e = 1; e <= 3; e++) await writeSegment(db, smallBatch(e), { ...OFF, prevDurableEpoch: e > 1 ? e - 1 : null });
    // Segment 2's name now holds a directory: reading it fails with an I/O error (not corruption).
    fs.unlinkSync(segmentPath(db, 2));
    fs.mkdirSync(segmentPath(db, 2));
    const gen = iterateSegmentRecords(db);
    const seen: WalRecord[] = [];
    const err = await catchRejection(
      (async () => {
        for (;;) {
          const r = await gen.next();
          if (r.done) return;
          seen.push(r.value);
        }
      })(),
    );
    // Segment 2 was read while segment 1's records were yielded; its failure waited for them.
    expect(seen.map((r) => r.epoch)).toEqual([1n, 1n]);
    expect(err.code).toBe('WAL_IO');
    expect(err.message).toContain(segmentPath(db, 2));
    // A caller that stops early never sees the failed read ahead.
    const early = iterateSegmentRecords(db);
    expect(((await early.next()).value as WalRecord).epoch).toBe(1n);
    expect(await early.return(undefined as never)).toEqual({ done: true, value: undefined });
  });

  test('same rules as recovery: torn tail, corruption, gap, skipCorrupt', async () => {
    const db = path.join(tmp(), 'rules.db');
    for (let e = 1; e <= 3; e++) await writeSegment(db, smallBatch(e), { ...OFF, prevDurableEpoch: e > 1 ? e - 1 : null });
    const p3 = segmentPath(db, 3);
    const orig3 = fs.readFileSync(p3);

    fs.writeFileSync(p3, orig3.subarray(0, orig3.length - 1));
    const torn = await drain(iterateSegmentRecords(db));
    const rec = await recoverSegments(db);
    expect(torn.summary.tornTail).toBe(true);
    expect(torn.summary.stopReason).toBe(rec.result.stopReason);
    expect(torn.summary.partialSegments).toEqual([p3]);
    expect(torn.records).toEqual(rec.records);
    fs.writeFileSync(p3, orig3);

    const p2 = segmentPath(db, 2);
    const orig2 = fs.readFileSync(p2);
    const bad = Buffer.from(orig2);
    bad[40] ^= 1;
    fs.writeFileSync(p2, bad);
    const err = await catchRejection(drain(iterateSegmentRecords(db)));
    const nativeErr = await catchRejection(recoverSegments(db));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toBe(nativeErr.message);
    const skipped = await drain(iterateSegmentRecords(db, { skipCorrupt: true }));
    expect(skipped.summary.epochs).toEqual([1n]);
    expect(skipped.summary.partialSegments).toEqual([p2, p3]);

    fs.unlinkSync(p2);
    const gap = await catchRejection(drain(iterateSegmentRecords(db)));
    const nativeGap = await catchRejection(recoverSegments(db));
    expect(gap.code).toBe('WAL_CORRUPTION');
    expect(gap.reason).toBe('certificate_gap');
    expect(nativeGap.reason).toBe('certificate_gap');
    expect(gap.message).toBe(nativeGap.message);

    const opt = await catchRejection(drain(iterateSegmentRecords(db, { skipCorrupt: 1 as never })));
    expect(opt.code).toBe('ERR_INVALID_ARG_TYPE');
  });

  test('same rule as recovery for an unwritten prepared file in the middle: skipped when the next segment certifies continuity, a gap otherwise', async () => {
    const db = path.join(tmp(), 'unwritten.db');
    await writeSegment(db, smallBatch(1), OFF);
    // Epoch 2: a prepared file (zeros, final name) that was never published — a crash left it.
    fs.writeFileSync(segmentPath(db, 2), Buffer.alloc(4096));
    await writeSegment(db, smallBatch(3), { ...OFF, prevDurableEpoch: 1 });
    const rec = await recoverSegments(db);
    const it = await drain(iterateSegmentRecords(db));
    expect(rec.result.epochs).toEqual([1n, 3n]);
    expect(it.summary.epochs).toEqual([1n, 3n]);
    expect(it.records).toEqual(rec.records);
    expect(it.summary.tornTail).toBe(false);

    // Segment 3 rewritten without the link to 1: skipping the file would hide a hole.
    fs.unlinkSync(segmentPath(db, 3));
    await writeSegment(db, smallBatch(3), OFF);
    const nativeGap = await catchRejection(recoverSegments(db));
    const gap = await catchRejection(drain(iterateSegmentRecords(db)));
    expect(nativeGap.reason).toBe('certificate_gap');
    expect(gap.reason).toBe('certificate_gap');
    expect(gap.message).toBe(nativeGap.message);
  });

  test('an empty or missing log', async () => {
    const db = path.join(tmp(), 'none.db');
    const { records, summary } = await drain(iterateSegmentRecords(db));
    expect(records).toEqual([]);
    expect(summary.segmentsRecovered).toBe(0);
    const err = await catchRejection(drain(iterateSegmentRecords(path.join(tmp(), 'nodir', 'x.db'))));
    expect(err.code).toBe('WAL_IO');
  });
});
