// Pipelined publication from JS: segments "written ahead" of their predecessor's durability
// carry an acked floor; recovery and the record iterator apply the torn-tail rule of
// docs/durability.md ("Torn tails") the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  crc32c,
  iterateSegmentRecords,
  readSegmentSync,
  recoverSegments,
  segmentPath,
  writeSegmentSync,
  type SegmentIterationSummary,
  type WalRecord,
} from '../lib';
import { batch, rec, useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };

// Rewrites a linked v2 segment into a written-ahead one (flags bits 2 and 3, the 8-byte acked
// floor after the lane counts, the certificate CRC extended over it), following docs/format.md
// independently of the encoder.
function makeWrittenAhead(file: string, floor: bigint | null): void {
  const b = fs.readFileSync(file);
  const count = b.readUInt32LE(16);
  let pos = 24;
  let running = b.readUInt32LE(20);
  for (let i = 0; i < count; i++) {
    const len = b.readUInt32LE(pos);
    running = b.readUInt32LE(pos + 4 + len);
    pos += 4 + len + 4;
  }
  const lanes = b.readUInt32LE(pos + 48);
  const body = Buffer.concat([b.subarray(pos, pos + 52 + 4 * lanes), Buffer.alloc(8)]);
  body.writeUInt32LE(body.readUInt32LE(4) | 4 | (floor === null ? 0 : 8), 4);
  body.writeBigUInt64LE(floor ?? 0n, 52 + 4 * lanes);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32c(body, running) >>> 0, 0);
  fs.writeFileSync(file, Buffer.concat([b.subarray(0, pos), body, crc]));
}

function epochBatch(epoch: number) {
  return batch(epoch, [rec({ txnId: epoch, epoch, pageId: epoch, beginSeq: epoch * 10, afterImage: Buffer.alloc(8, epoch) })], [1]);
}

// Log 1, 2 (serial), 3 (ahead of 2, floor 1), 4 (ahead of 3, floor 2).
function writeLog(db: string): void {
  for (let e = 1; e <= 4; e++) {
    writeSegmentSync(db, epochBatch(e), { ...OFF, prevDurableEpoch: e > 1 ? e - 1 : null });
    if (e >= 3) makeWrittenAhead(segmentPath(db, e), BigInt(e - 2));
  }
}

async function iterate(db: string): Promise<{ records: WalRecord[]; summary: SegmentIterationSummary }> {
  const records: WalRecord[] = [];
  const it = iterateSegmentRecords(db);
  for (;;) {
    const r = await it.next();
    if (r.done) return { records, summary: r.value };
    records.push(r.value);
  }
}

describe('segments: pipelined publication (written-ahead certificates)', () => {
  const tmp = useTempDir();

  test('the certificate reports writtenAhead and the acked floor', () => {
    const db = path.join(tmp(), 'cert.db');
    writeLog(db);
    const c3 = readSegmentSync(segmentPath(db, 3)).certificate!;
    expect(c3.writtenAhead).toBe(true);
    expect(c3.ackedFloor).toBe(1n);
    expect(c3.durableSegmentEpoch).toBe(2n);
    const c2 = readSegmentSync(segmentPath(db, 2)).certificate!;
    expect(c2.writtenAhead).toBe(false);
    expect(c2.ackedFloor).toBeNull();
  });

  test('an intact pipelined log recovers completely', async () => {
    const db = path.join(tmp(), 'intact.db');
    writeLog(db);
    const r = await recoverSegments(db);
    expect(r.result.epochs).toEqual([1n, 2n, 3n, 4n]);
    expect(r.result.tornTail).toBe(false);
    const it = await iterate(db);
    expect(it.records).toHaveLength(4);
  });

  test('a torn in-flight segment and the segment written ahead of it are a torn tail, in both readers', async () => {
    const db = path.join(tmp(), 'torn.db');
    writeLog(db);
    const p3 = segmentPath(db, 3);
    fs.writeFileSync(p3, fs.readFileSync(p3).subarray(0, 40));
    const r = await recoverSegments(db);
    expect(r.result.tornTail).toBe(true);
    expect(r.result.epochs).toEqual([1n, 2n]);
    expect(r.result.partialSegments).toEqual([p3, segmentPath(db, 4)]);
    expect(r.records.map((x) => x.epoch)).toEqual([1n, 2n]);
    const it = await iterate(db);
    expect(it.summary.tornTail).toBe(true);
    expect(it.summary.partialSegments).toEqual(r.result.partialSegments);
    expect(it.records.map((x) => x.epoch)).toEqual([1n, 2n]);
  });

  test('a missing in-flight segment is a torn tail, not a gap', async () => {
    const db = path.join(tmp(), 'missing.db');
    writeLog(db);
    fs.rmSync(segmentPath(db, 3));
    const r = await recoverSegments(db);
    expect(r.result.tornTail).toBe(true);
    expect(r.result.epochs).toEqual([1n, 2n]);
    const it = await iterate(db);
    expect(it.summary.tornTail).toBe(true);
    expect(it.records.map((x) => x.epoch)).toEqual([1n, 2n]);
  });

  test('damage that a later acked floor proves acknowledged is corruption, in both readers', async () => {
    const db = path.join(tmp(), 'proven.db');
    writeLog(db);
    writeSegmentSync(db, epochBatch(5), { ...OFF, prevDurableEpoch: 4 });
    makeWrittenAhead(segmentPath(db, 5), 3n);
    const p3 = segmentPath(db, 3);
    fs.writeFileSync(p3, fs.readFileSync(p3).subarray(0, 40));
    const err = await recoverSegments(db).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'WAL_CORRUPTION' });
    const itErr = await iterate(db).then(() => null, (e: unknown) => e);
    expect(itErr).toMatchObject({ code: 'WAL_CORRUPTION' });
    fs.rmSync(p3);
    const gap = await recoverSegments(db).then(() => null, (e: unknown) => e);
    expect(gap).toMatchObject({ code: 'WAL_CORRUPTION', reason: 'certificate_gap' });
  });
});
