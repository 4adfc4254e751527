// prepareSegments: segment files made ahead of time, and writeSegment's in-place write into them
// (the core's cases, power loss and I/O faults included, are in native/tests/segment_prepared_test.cc).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ParallelWal,
  cleanupSegments,
  iterateSegmentRecords,
  listSegments,
  maxDurableEpoch,
  prepareSegments,
  prepareSegmentsSync,
  readSegment,
  recoverSegments,
  segmentPath,
  writeSegment,
  writeSegmentSync,
} from '../lib';
import { catchError, catchRejection } from './helpers';
import { batch, rec, useTempDir } from './segments-fixtures';

describe('prepareSegments', () => {
  const tmp = useTempDir();

  test('makes zero-filled files under the final names that are not segments until written', async () => {
    const db = path.join(tmp(), 'p.db');
    expect(await prepareSegments(db, { firstEpoch: 5, count: 3, sizeBytes: 8192 })).toBe(3);
    for (let e = 5; e <= 7; e++) {
      const bytes = fs.readFileSync(segmentPath(db, e));
      expect(bytes.length).toBe(8192);
      expect(bytes.every((b) => b === 0)).toBe(true);
    }
    expect(await listSegments(db)).toEqual([]);
    expect(await maxDurableEpoch(db)).toBeUndefined();
    expect((await recoverSegments(db)).result.segmentsRecovered).toBe(0);
    // No pool temporary is left behind.
    expect(fs.readdirSync(tmp()).sort()).toEqual([5, 6, 7].map((e) => path.basename(segmentPath(db, e))));
  });

  test('writeSegment fills a prepared file in place; the rest stay unwritten and are ignored', async () => {
    const db = path.join(tmp(), 'w.db');
    prepareSegmentsSync(db, { firstEpoch: 1, count: 4 });
    const ino = fs.statSync(segmentPath(db, 1)).ino;
    const n = await writeSegment(db, batch(1, [rec({ epoch: 1, afterImage: Buffer.alloc(128, 7) })]));
    const st = fs.statSync(segmentPath(db, 1));
    expect(st.ino).toBe(ino); // the same file, written in place
    expect(st.size).toBe(4096);
    expect(n).toBeLessThan(4096);
    writeSegmentSync(db, batch(2, [rec({ epoch: 2, afterImage: Buffer.alloc(128, 8) })]), { prevDurableEpoch: 1 });
    const seg = await readSegment(segmentPath(db, 2));
    expect(seg.records[0].afterImage.equals(Buffer.alloc(128, 8))).toBe(true);
    expect(seg.certificate?.durableSegmentEpoch).toBe(1n);
    expect((await listSegments(db)).map((s) => s.epoch)).toEqual([1n, 2n]);
    const { result, records } = await recoverSegments(db);
    expect(result.epochs).toEqual([1n, 2n]);
    expect(result.tornTail).toBe(false);
    expect(records.map((r) => r.afterImage[0])).toEqual([7, 8]);
    const iterated = [];
    for await (const r of iterateSegmentRecords(db)) iterated.push(r.afterImage[0]);
    expect(iterated).toEqual([7, 8]);
  });

  test('an unwritten prepared epoch between two segments is skipped when the next links past it', async () => {
    const db = path.join(tmp(), 'gap.db');
    prepareSegmentsSync(db, { firstEpoch: 1, count: 3 });
    writeSegmentSync(db, batch(1, [rec({ epoch: 1 })]));
    writeSegmentSync(db, batch(3, [rec({ epoch: 3 })]), { prevDurableEpoch: 1 });
    expect((await recoverSegments(db)).result.epochs).toEqual([1n, 3n]);
  });

  test('a prepared epoch is written once; the loser of a race is refused with EEXIST', async () => {
    const db = path.join(tmp(), 'once.db');
    prepareSegmentsSync(db, { firstEpoch: 9, count: 1 });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((v) => writeSegment(db, batch(9, [rec({ epoch: 9, afterImage: Buffer.alloc(16, v) })]))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(3);
    for (const l of lost) {
      expect(l.reason.code).toBe('WAL_IO');
      expect(l.reason.errno).toBe(17); // EEXIST
    }
    const winner = results.findIndex((r) => r.status === 'fulfilled') + 1;
    expect((await readSegment(segmentPath(db, 9))).records[0].afterImage.equals(Buffer.alloc(16, winner))).toBe(true);
  });

  test('epochs that have a file are left alone', async () => {
    const db = path.join(tmp(), 'keep.db');
    await writeSegment(db, batch(2, [rec({ epoch: 2 })]), { fsyncPolicy: 'off' });
    const before = fs.readFileSync(segmentPath(db, 2));
    expect(await prepareSegments(db, { firstEpoch: 1, count: 3, fsyncPolicy: 'off' })).toBe(2);
    expect(fs.readFileSync(segmentPath(db, 2)).equals(before)).toBe(true);
    expect(await cleanupSegments(db)).toBeGreaterThanOrEqual(1);
    expect(fs.readdirSync(tmp())).toEqual([]);
  });

  test('options are validated and named before anything is created', () => {
    const db = path.join(tmp(), 'bad.db');
    const cases: Array<[unknown, string, string]> = [
      [undefined, 'ERR_INVALID_ARG_TYPE', '"options"'],
      [{ firstEpoch: 1 }, 'ERR_INVALID_ARG_TYPE', '"options.count"'],
      [{ firstEpoch: 1, count: 0 }, 'ERR_INVALID_ARG_VALUE', '"options.count"'],
      [{ firstEpoch: 1, count: 4097 }, 'ERR_INVALID_ARG_VALUE', '"options.count"'],
      [{ firstEpoch: 1, count: 1.5 }, 'ERR_INVALID_ARG_VALUE', '"options.count"'],
      [{ firstEpoch: -1, count: 1 }, 'ERR_INVALID_ARG_VALUE', '"options.firstEpoch"'],
      [{ count: 1 }, 'ERR_INVALID_ARG_TYPE', '"options.firstEpoch"'],
      [{ firstEpoch: (1n << 64n) - 1n, count: 2 }, 'ERR_INVALID_ARG_VALUE', '"options.count"'],
      [{ firstEpoch: 1, count: 1, sizeBytes: 23 }, 'ERR_INVALID_ARG_VALUE', '"options.sizeBytes"'],
      [{ firstEpoch: 1, count: 1, sizeBytes: 1048577 }, 'ERR_INVALID_ARG_VALUE', '"options.sizeBytes"'],
      [{ firstEpoch: 1, count: 1, sizeBytes: '4k' }, 'ERR_INVALID_ARG_TYPE', '"options.sizeBytes"'],
      [{ firstEpoch: 1, count: 1, fsyncPolicy: 'always' }, 'ERR_INVALID_ARG_VALUE', '"options.fsyncPolicy"'],
    ];
    for (const [options, code, name] of cases) {
      const err = catchError(() => prepareSegmentsSync(db, options as never));
      expect({ name, code: err.code, named: err.message.includes(name) }).toEqual({ name, code, named: true });
    }
    expect(fs.readdirSync(tmp())).toEqual([]);
  });

  test('refuses while a ParallelWal is open on the path (it prepares its own files)', async () => {
    const db = path.join(tmp(), 'open.db');
    const w = await ParallelWal.open(db);
    try {
      const err = await catchRejection(prepareSegments(db, { firstEpoch: 100, count: 1 }));
      expect(err.code).toBe('WAL_LOCKED');
    } finally {
      await w.close();
    }
  });
});
