// The seed's segment tests, ported one for one (same names in camelCase), on real temp dirs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SegmentHeader,
  cleanupSegments,
  deleteSegment,
  listSegments,
  maxDurableEpoch,
  readSegment,
  recoverAndApplySegments,
  recoverSegments,
  segmentPath,
  writeSegment,
} from '../lib';
import { catchError, catchRejection } from './helpers';
import { batch, le32, rec, useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };

describe('segments (seed tests)', () => {
  const tmp = useTempDir();

  test('testSegmentHeaderRoundtrip', () => {
    const bytes = new SegmentHeader(42, 100).toBytes();
    expect(bytes.length).toBe(24);
    const parsed = SegmentHeader.fromBytes(bytes);
    expect(parsed.epoch).toBe(42n);
    expect(parsed.recordCount).toBe(100);
    expect(parsed.version).toBe(1);
  });

  test('testSegmentHeaderInvalidMagic', () => {
    const bytes = Buffer.alloc(24);
    bytes.writeUInt32LE(0xdeadbeef, 0);
    const err = catchError(() => SegmentHeader.fromBytes(bytes));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('invalid segment magic');
  });

  test('testSegmentHeaderChecksumMismatch', () => {
    const bytes = new SegmentHeader(42, 100).toBytes();
    bytes[8] ^= 0xff;
    const err = catchError(() => SegmentHeader.fromBytes(bytes));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('checksum mismatch');
  });

  test('testSegmentPathGeneration', () => {
    const p = segmentPath('/tmp/mydb.sqlite', 0x123456789abcdef0n);
    expect(path.basename(p)).toBe('mydb.sqlite-wal-seg-123456789abcdef0');
    expect(path.dirname(p)).toBe('/tmp');
  });

  test('testSegmentWriteAndRead', async () => {
    const db = path.join(tmp(), 'test.db');
    const records = [
      rec({ txnId: 1, txnEpoch: 0, epoch: 5, pageId: 1, beginSeq: 100, endSeq: 100, beforeImage: Buffer.alloc(32, 0), afterImage: Buffer.alloc(32, 1) }),
      rec({ txnId: 2, txnEpoch: 1, epoch: 5, pageId: 2, beginSeq: 101, endSeq: null, afterImage: Buffer.alloc(64, 2) }),
    ];
    const bytesWritten = await writeSegment(db, batch(5, records, [1, 1]), OFF);
    expect(bytesWritten).toBeGreaterThan(24);
    const segPath = segmentPath(db, 5);
    expect(fs.statSync(segPath).size).toBe(bytesWritten);
    const { header, records: read } = await readSegment(segPath);
    expect(header.epoch).toBe(5n);
    expect(header.recordCount).toBe(2);
    expect(read).toHaveLength(2);
    expect(read[0].txnToken.id).toBe(1n);
    expect(read[0].pageId).toBe(1);
    expect(read[0].beforeImage.length).toBe(32);
    expect(read[0].afterImage.length).toBe(32);
    expect(read[0].endSeq).toBe(100n);
    expect(read[1].txnToken.id).toBe(2n);
    expect(read[1].txnToken.epoch).toBe(1);
    expect(read[1].pageId).toBe(2);
    expect(read[1].beforeImage.length).toBe(0);
    expect(read[1].afterImage.length).toBe(64);
    expect(read[1].endSeq).toBeNull();
    await deleteSegment(segPath);
    expect(fs.existsSync(segPath)).toBe(false);
  });

  // The seed tests the record decoder directly; here the same bytes reach it through a v1
  // segment (no record checksum in v1, so the decoder itself must catch it).
  test('testDeserializeRecordRejectsInvalidEndSeqFlag', async () => {
    const db = path.join(tmp(), 'flag.db');
    await writeSegment(db, batch(5, [rec({ epoch: 5, endSeq: null })]), { ...OFF, formatVersion: 1 });
    const segPath = segmentPath(db, 5);
    const bytes = fs.readFileSync(segPath);
    const endSeqFlagOffset = 24 + 4 + (8 + 4 + 8 + 4 + 8);
    expect(bytes[endSeqFlagOffset]).toBe(0);
    bytes[endSeqFlagOffset] = 2;
    fs.writeFileSync(segPath, bytes);
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('invalid end_seq flag');
    expect(err.message).toContain(segPath);
    expect(err.message).toMatch(/record 0/);
  });

  test('testDeserializeRecordRejectsTrailingBytes', async () => {
    const db = path.join(tmp(), 'record-trailing.db');
    await writeSegment(db, batch(5, [rec({ epoch: 5, endSeq: null })]), { ...OFF, formatVersion: 1 });
    const segPath = segmentPath(db, 5);
    const bytes = fs.readFileSync(segPath);
    const len = bytes.readUInt32LE(24);
    const patched = Buffer.concat([bytes.subarray(0, 24), le32(len + 4), bytes.subarray(28), Buffer.from('junk')]);
    fs.writeFileSync(segPath, patched);
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('trailing bytes');
  });

  test('testReadSegmentRejectsImpossibleRecordCountBeforeAllocation', async () => {
    const db = path.join(tmp(), 'impossible-count.db');
    const segPath = segmentPath(db, 1);
    fs.writeFileSync(segPath, new SegmentHeader(1, 0xffffffff).toBytes());
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('exceeds maximum possible');
  });

  test('testReadSegmentRejectsRecordCountWithoutMinPayloadSpace', async () => {
    const db = path.join(tmp(), 'short-records.db');
    const segPath = segmentPath(db, 1);
    fs.writeFileSync(segPath, Buffer.concat([new SegmentHeader(1, 2).toBytes(), le32(0), le32(0)]));
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('exceeds maximum possible');
  });

  test.each([1, 2] as const)('testReadSegmentRejectsTrailingBytesAfterDeclaredRecords (v%i)', async (formatVersion) => {
    const db = path.join(tmp(), 'trailing-bytes.db');
    await writeSegment(db, batch(1, [rec({ epoch: 1, beginSeq: 1, afterImage: Buffer.alloc(16, 0xcc) })]), { ...OFF, formatVersion });
    const segPath = segmentPath(db, 1);
    fs.appendFileSync(segPath, 'junk');
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('trailing bytes');
  });

  test('testReadSegmentRejectsOversizedRecordLengthBeforeAllocation', async () => {
    const db = path.join(tmp(), 'oversized.db');
    const segPath = segmentPath(db, 1);
    fs.writeFileSync(segPath, Buffer.concat([new SegmentHeader(1, 1).toBytes(), le32(0xffffffff)]));
    const err = await catchRejection(readSegment(segPath));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('exceeds maximum');
  });

  test('testSegmentWriteAndRecoveryCanonicalizeIntraEpochOrder', async () => {
    const db = path.join(tmp(), 'ordered.db');
    const later = rec({ txnId: 2, epoch: 7, pageId: 1, beginSeq: 200, afterImage: Buffer.alloc(8, 0x22) });
    const earlier = rec({ txnId: 1, epoch: 7, pageId: 1, beginSeq: 100, afterImage: Buffer.alloc(8, 0x11) });
    await writeSegment(db, batch(7, [later, earlier], [1, 1]), OFF);
    const { records } = await readSegment(segmentPath(db, 7));
    expect(records).toHaveLength(2);
    expect(records[0].beginSeq).toBe(100n);
    expect(records[1].beginSeq).toBe(200n);
    const pages = new Map<number, Buffer>();
    await recoverAndApplySegments(db, pages);
    // Recovery must replay the later commit last even if the batch arrived out of order.
    expect(pages.get(1)).toEqual(Buffer.alloc(8, 0x22));
  });

  test('testWriteSegmentRejectsRecordEpochMismatch', async () => {
    const dir = tmp();
    const db = path.join(dir, 'mismatch.db');
    const err = await catchRejection(writeSegment(db, batch(5, [rec({ epoch: 4, afterImage: Buffer.alloc(8, 0xab) })]), OFF));
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(err.message).toContain('segment epoch 5 contains record from epoch 4');
    // Failed validation must not create (or truncate) any file, temporaries included.
    expect(fs.existsSync(segmentPath(db, 5))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('testWriteSegmentRejectsOversizedPageImageBeforeCreate', async () => {
    const dir = tmp();
    const db = path.join(dir, 'oversized-write.db');
    const err = await catchRejection(writeSegment(db, batch(5, [rec({ epoch: 5, afterImage: Buffer.alloc(65537, 0xab) })]), OFF));
    expect(err.name).toBe('RangeError');
    expect(err.message).toContain('batch.records[0].afterImage');
    expect(err.message).toContain('length 65537 exceeds maximum 65536');
    expect(fs.existsSync(segmentPath(db, 5))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
    // The limit itself is fine.
    await writeSegment(db, batch(5, [rec({ epoch: 5, beforeImage: Buffer.alloc(65536, 1), afterImage: Buffer.alloc(65536, 2) })]), OFF);
    const { records } = await readSegment(segmentPath(db, 5));
    expect(records[0].afterImage.length).toBe(65536);
  });

  test('testListSegments', async () => {
    const db = path.join(tmp(), 'test.db');
    for (const epoch of [1, 5, 10, 2]) await writeSegment(db, batch(epoch, []), OFF);
    const segments = await listSegments(db);
    expect(segments.map((s) => s.epoch)).toEqual([1n, 2n, 5n, 10n]);
    expect(segments[0].path).toBe(segmentPath(db, 1));
    for (const s of segments) await deleteSegment(s.path);
    expect(await listSegments(db)).toEqual([]);
  });

  test('testRecoverSegmentsBasic', async () => {
    const db = path.join(tmp(), 'test.db');
    for (let epoch = 1; epoch <= 3; epoch++) {
      await writeSegment(db, batch(epoch, [rec({ txnId: epoch, epoch, pageId: epoch, beginSeq: epoch * 100, afterImage: Buffer.alloc(32, epoch) })]), OFF);
    }
    const { result, records } = await recoverSegments(db);
    expect(result.segmentsRecovered).toBe(3);
    expect(result.recordsApplied).toBe(3);
    expect(result.epochs).toEqual([1n, 2n, 3n]);
    expect(result.partialSegments).toEqual([]);
    expect(result.tornTail).toBe(false);
    expect(result.stopReason).toBeNull();
    expect(result.bytesRead).toBe([1, 2, 3].reduce((n, e) => n + fs.statSync(segmentPath(db, e)).size, 0));
    expect(records.map((r) => r.epoch)).toEqual([1n, 2n, 3n]);
    expect(await cleanupSegments(db)).toBe(3);
  });

  test('testRecoverSegmentsRejectsHeaderFilenameEpochMismatch', async () => {
    const db = path.join(tmp(), 'rename.db');
    await writeSegment(db, batch(5, [rec({ epoch: 5 })]), OFF);
    const renamed = segmentPath(db, 3);
    fs.renameSync(segmentPath(db, 5), renamed);
    const err = await catchRejection(recoverSegments(db));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain('mismatched epoch');
    const { result, records } = await recoverSegments(db, { skipCorrupt: true });
    expect(result.segmentsRecovered).toBe(0);
    expect(result.partialSegments).toEqual([renamed]);
    expect(records).toEqual([]);
  });

  test('testRecoverAndApplySegmentsSkipCorruptStopsAtFirstBadEpoch', async () => {
    const db = path.join(tmp(), 'prefix.db');
    for (let epoch = 1; epoch <= 3; epoch++) {
      await writeSegment(db, batch(epoch, [rec({ txnId: epoch, epoch, pageId: 1, beginSeq: epoch * 100, afterImage: Buffer.alloc(16, epoch) })]), OFF);
    }
    fs.writeFileSync(segmentPath(db, 2), Buffer.alloc(8, 0xff));
    const pages = new Map<number, Buffer>();
    const result = await recoverAndApplySegments(db, pages, { skipCorrupt: true });
    expect(result.segmentsRecovered).toBe(1);
    expect(result.recordsApplied).toBe(1);
    expect(result.epochs).toEqual([1n]);
    expect(result.partialSegments).toEqual([segmentPath(db, 2), segmentPath(db, 3)]);
    // Recovery must stop before epoch 3 once epoch 2 is corrupt.
    expect(pages.get(1)).toEqual(Buffer.alloc(16, 1));
    // Strict (default): damage followed by a valid segment is an error.
    const err = await catchRejection(recoverAndApplySegments(db, new Map()));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.message).toContain(segmentPath(db, 2));
  });

  test('testRecoverAndApplySegments', async () => {
    const db = path.join(tmp(), 'test.db');
    for (let epoch = 1; epoch <= 3; epoch++) {
      await writeSegment(db, batch(epoch, [rec({ txnId: epoch, epoch, pageId: 1, beginSeq: epoch * 100, afterImage: Buffer.alloc(32, epoch) })]), OFF);
    }
    const pages = new Map<number, Buffer>();
    const result = await recoverAndApplySegments(db, pages, { deleteAfterRecovery: true });
    expect(result.segmentsRecovered).toBe(3);
    const page = pages.get(1)!;
    expect(page.length).toBe(32);
    expect(page.every((b) => b === 3)).toBe(true);
    expect(await listSegments(db)).toEqual([]);
  });

  test('testMaxDurableEpoch', async () => {
    const db = path.join(tmp(), 'test.db');
    expect(await maxDurableEpoch(db)).toBeUndefined();
    for (const epoch of [5, 10, 3]) await writeSegment(db, batch(epoch, []), OFF);
    expect(await maxDurableEpoch(db)).toBe(10n);
    await cleanupSegments(db);
    expect(await maxDurableEpoch(db)).toBeUndefined();
  });

  test('testCleanupSegments', async () => {
    const db = path.join(tmp(), 'test.db');
    for (let epoch = 1; epoch <= 5; epoch++) await writeSegment(db, batch(epoch, []), OFF);
    expect(await listSegments(db)).toHaveLength(5);
    expect(await cleanupSegments(db)).toBe(5);
    expect(await listSegments(db)).toEqual([]);
  });
});
