// The zero-copy read path: record images are Buffer views of the segment files' bytes, the
// columnar recovery returns exactly what the object recovery returns, and nothing aliases the
// caller's memory.
import * as path from 'node:path';
import {
  SegmentRecordColumns,
  decodeSegment,
  readSegmentSync,
  recoverAndApplySegmentsSync,
  recoverSegments,
  recoverSegmentsColumnar,
  recoverSegmentsColumnarSync,
  recoverSegmentsSync,
  segmentPath,
  writeSegmentSync,
} from '../lib';
import type { WalRecord } from '../lib';
import * as fs from 'node:fs';
import { catchError } from './helpers';
import { batch, rec, useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };
const U64_MAX = 2n ** 64n - 1n;

/** A log of `segments` epochs with varied records (images of every size class, shared and distinct seqs). */
function writeLog(db: string, segments: number, formatVersion: 1 | 2 = 2): void {
  for (let e = 1; e <= segments; e++) {
    const records = [];
    for (let i = 0; i < 5 + e; i++) {
      records.push(
        rec({
          txnId: i % 3 === 0 ? U64_MAX - BigInt(i) : BigInt(e * 100 + i + 1),
          txnEpoch: i,
          epoch: e,
          pageId: 1 + ((i * 7) % 4),
          beginSeq: BigInt(e) * 1000n + BigInt(i),
          endSeq: i % 4 === 0 ? null : i % 4 === 1 ? BigInt(e) * 1000n + BigInt(i) + 5n : BigInt(e) * 1000n + BigInt(i),
          beforeImage: i % 2 === 0 ? Buffer.alloc(0) : Buffer.alloc(i * 3, i),
          afterImage: i === 3 ? Buffer.alloc(0) : Buffer.alloc(i === 4 ? 65536 : 1 + i * 11, 0x40 + i),
        }),
      );
    }
    writeSegmentSync(db, batch(e, records), { ...OFF, formatVersion, prevDurableEpoch: formatVersion === 2 && e > 1 ? e - 1 : undefined });
  }
}

// Images as base64 strings: jest compares Buffers byte by byte, far too slowly for 64 KiB pages.
function plain(r: WalRecord) {
  return { ...r, txnToken: { ...r.txnToken }, beforeImage: r.beforeImage.toString('base64'), afterImage: r.afterImage.toString('base64') };
}

describe('segments: zero-copy reads', () => {
  const tmp = useTempDir();

  test('images are real Buffers, independent of each other, with exact contents', async () => {
    const db = path.join(tmp(), 'z.db');
    writeLog(db, 3);
    const { records } = await recoverSegments(db);
    expect(records.length).toBe(6 + 7 + 8);
    for (const r of records) {
      for (const img of [r.beforeImage, r.afterImage]) {
        expect(Buffer.isBuffer(img)).toBe(true);
        expect(img instanceof Buffer).toBe(true);
        expect(img.constructor).toBe(Buffer);
        expect(typeof img.readUInt32LE).toBe('function');
        expect(img.subarray(0, 1) instanceof Buffer).toBe(true);
      }
    }
    const big = records.find((r) => r.afterImage.length === 65536)!;
    expect(big.afterImage.equals(Buffer.alloc(65536, 0x44))).toBe(true);
    expect(big.afterImage.toString('hex', 0, 2)).toBe('4444');
    // endSeq: null, equal to beginSeq, or distinct, all exact.
    expect(records.some((r) => r.endSeq === null)).toBe(true);
    expect(records.some((r) => r.endSeq !== null && r.endSeq === r.beginSeq)).toBe(true);
    expect(records.some((r) => r.endSeq !== null && r.endSeq === r.beginSeq + 5n)).toBe(true);
    expect(records.some((r) => r.txnToken.id === U64_MAX)).toBe(true);
  });

  test('every read API returns the same records (v1 and v2)', async () => {
    for (const version of [1, 2] as const) {
      const db = path.join(tmp(), `same-v${version}.db`);
      writeLog(db, 4, version);
      const raw = recoverSegmentsSync(db).records;
      const objects = raw.map(plain);
      expect((await recoverSegments(db)).records.map(plain)).toEqual(objects);
      const perSegment = [1, 2, 3, 4].flatMap((e) => readSegmentSync(segmentPath(db, e)).records.map(plain));
      expect(perSegment).toEqual(objects);
      const decoded = [1, 2, 3, 4].flatMap((e) => decodeSegment(fs.readFileSync(segmentPath(db, e))).records.map(plain));
      expect(decoded).toEqual(objects);
      for (const columnar of [recoverSegmentsColumnarSync(db), await recoverSegmentsColumnar(db)]) {
        const cols = columnar.records;
        expect(cols).toBeInstanceOf(SegmentRecordColumns);
        expect(cols.length).toBe(objects.length);
        expect([...cols].map(plain)).toEqual(objects);
        for (let i = 0; i < cols.length; i++) {
          expect(cols.pageId[i]).toBe(objects[i].pageId);
          expect(cols.txnId[i]).toBe(objects[i].txnToken.id);
          expect(cols.epoch[i]).toBe(objects[i].epoch);
          expect(cols.hasEndSeq[i]).toBe(objects[i].endSeq === null ? 0 : 1);
          expect(cols.afterImageLength(i)).toBe(raw[i].afterImage.length);
        }
        expect(columnar.result).toEqual(recoverSegmentsSync(db).result);
      }
    }
  });

  test('columnar accessors reject bad indexes', () => {
    const db = path.join(tmp(), 'idx.db');
    writeLog(db, 1);
    const { records } = recoverSegmentsColumnarSync(db);
    for (const bad of [-1, records.length, 1.5, NaN]) {
      expect(catchError(() => records.afterImage(bad)).code).toBe('ERR_INVALID_ARG_VALUE');
      expect(catchError(() => records.record(bad)).code).toBe('ERR_INVALID_ARG_VALUE');
    }
  });

  test('decodeSegment copies its input: later changes to the caller bytes do not reach the records', () => {
    const db = path.join(tmp(), 'copy.db');
    writeLog(db, 1);
    const bytes = fs.readFileSync(segmentPath(db, 1));
    const { records } = decodeSegment(bytes);
    const before = records.map(plain);
    bytes.fill(0);
    expect(records.map(plain)).toEqual(before);
  });

  test('recoverAndApplySegments (columns inside): last writer wins, as with record objects', () => {
    const db = path.join(tmp(), 'apply.db');
    writeLog(db, 3);
    const expected = new Map<number, string>();
    for (const r of recoverSegmentsSync(db).records) if (r.afterImage.length) expected.set(r.pageId, r.afterImage.toString('base64'));
    const pages = new Map<number, Buffer>();
    recoverAndApplySegmentsSync(db, pages);
    expect(new Map([...pages].map(([k, v]) => [k, v.toString('base64')]))).toEqual(expected);
  });

  test('a record outlives the recovery that made it (its segment bytes stay alive)', async () => {
    const db = path.join(tmp(), 'keep.db');
    writeLog(db, 2);
    const keep = (await recoverSegments(db)).records[3];
    const copy = plain(keep);
    for (let i = 0; i < 20; i++) await recoverSegments(db); // churn the buffer pool
    if (global.gc) global.gc();
    expect(plain(keep)).toEqual(copy);
  });
});

describe('segments: memory of the ...Sync reads', () => {
  const tmp = useTempDir();
  const MiB = 1024 * 1024;

  // The promise forms hand the native buffers to JS as they are, freed by a finalizer that Node
  // runs on a later event-loop turn; a synchronous loop never gives it one. The Sync forms
  // therefore return memory V8 owns (native/binding/segment_convert.h, Handoff): without that,
  // this loop held every result's file bytes (48 x 16 MiB) until it returned.
  test('a synchronous loop of recoverSegmentsSync / readSegmentSync calls does not hold every result until the event loop turns', () => {
    const db = path.join(tmp(), 'm.db');
    const segments = 16;
    for (let e = 1; e <= segments; e++) {
      const records = [];
      for (let i = 0; i < 16; i++) {
        records.push(rec({ txnId: BigInt(e * 100 + i + 1), epoch: e, pageId: i + 1, beginSeq: BigInt(e * 100 + i), afterImage: Buffer.alloc(65536, e + i) }));
      }
      writeSegmentSync(db, batch(e, records), { ...OFF, prevDurableEpoch: e > 1 ? e - 1 : undefined });
    }
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 48; i++) {
      const { records } = recoverSegmentsSync(db);
      expect(records.length).toBe(segments * 16);
      expect(records[records.length - 1].afterImage[0]).toBe((segments + 15) & 0xff);
      expect(readSegmentSync(segmentPath(db, 1 + (i % segments))).records.length).toBe(16);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(peak - before).toBeLessThan(256 * MiB);
  });
});
