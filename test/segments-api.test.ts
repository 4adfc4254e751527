// Beyond the seed: u64 exactness, argument errors, v1 vs v2, crash-safe publication details,
// certificate chain, Sync twins.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SegmentHeader,
  cleanupSegmentsSync,
  decodeSegment,
  deleteSegmentSync,
  listSegments,
  listSegmentsSync,
  maxDurableEpochSync,
  readSegment,
  readSegmentSync,
  recoverAndApplySegmentsSync,
  recoverSegments,
  recoverSegmentsSync,
  segmentPath,
  writeSegment,
  writeSegmentSync,
} from '../lib';
import { catchError, catchRejection } from './helpers';
import { batch, rec, seedRecordBody, useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };
const U64_MAX = 2n ** 64n - 1n;

describe('segments: u64 exactness', () => {
  const tmp = useTempDir();

  test('2^64-1 round-trips in every u64 field, and in the file name', async () => {
    const db = path.join(tmp(), 'u64.db');
    const r = rec({ txnId: U64_MAX, txnEpoch: 0xffffffff, epoch: U64_MAX, pageId: 0xffffffff, beginSeq: U64_MAX - 1n, endSeq: U64_MAX });
    await writeSegment(db, batch(U64_MAX - 0n, [r]), OFF);
    expect(path.basename(segmentPath(db, U64_MAX))).toBe('u64.db-wal-seg-ffffffffffffffff');
    const { header, records, certificate } = await readSegment(segmentPath(db, U64_MAX));
    expect(header.epoch).toBe(U64_MAX);
    expect(records[0].txnToken).toEqual({ id: U64_MAX, epoch: 0xffffffff });
    expect(records[0].epoch).toBe(U64_MAX);
    expect(records[0].pageId).toBe(0xffffffff);
    expect(records[0].beginSeq).toBe(U64_MAX - 1n);
    expect(records[0].endSeq).toBe(U64_MAX);
    expect(certificate!.commitSeqHi).toBe(U64_MAX);
    expect((await listSegments(db))[0].epoch).toBe(U64_MAX);
  });

  test('numbers are accepted up to 2^53-1 and come back as bigints', async () => {
    const db = path.join(tmp(), 'safe.db');
    const max = Number.MAX_SAFE_INTEGER;
    await writeSegment(db, batch(7, [rec({ epoch: 7, txnId: max, beginSeq: max, endSeq: max })]), OFF);
    const { records } = await readSegment(segmentPath(db, 7));
    expect(records[0].txnToken.id).toBe(BigInt(max));
    expect(records[0].beginSeq).toBe(BigInt(max));
  });

  test('unsafe or non-integer numbers and out-of-range bigints are rejected, naming the field', async () => {
    const db = path.join(tmp(), 'unsafe.db');
    const cases: Array<[unknown, string]> = [
      [{ ...rec({ epoch: 1 }), beginSeq: 2 ** 53 }, 'batch.records[0].beginSeq'],
      [{ ...rec({ epoch: 1 }), endSeq: 1.5 }, 'batch.records[0].endSeq'],
      [{ ...rec({ epoch: 1 }), endSeq: -1 }, 'batch.records[0].endSeq'],
      [{ ...rec({ epoch: 1 }), endSeq: NaN }, 'batch.records[0].endSeq'],
      [{ ...rec({ epoch: 1 }), txnToken: { id: 2n ** 64n, epoch: 0 } }, 'batch.records[0].txnToken.id'],
      [{ ...rec({ epoch: 1 }), txnToken: { id: -1n, epoch: 0 } }, 'batch.records[0].txnToken.id'],
      [{ ...rec({ epoch: 1 }), txnToken: { id: 1, epoch: 2 ** 32 } }, 'batch.records[0].txnToken.epoch'],
      [{ ...rec({ epoch: 1 }), pageId: 2 ** 32 }, 'batch.records[0].pageId'],
    ];
    for (const [record, field] of cases) {
      const err = await catchRejection(writeSegment(db, { epoch: 1, records: [record as never], recordsPerCore: [1] }, OFF));
      expect(err.name).toBe('RangeError');
      expect(err.code).toBe('ERR_OUT_OF_RANGE');
      expect(err.message).toContain(`"${field}"`);
    }
    const err = catchError(() => segmentPath(db, 2 ** 53));
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(err.message).toContain('"epoch"');
    expect(fs.readdirSync(tmp())).toEqual([]);
  });
});

describe('segments: argument errors never crash and name the argument', () => {
  const tmp = useTempDir();

  test('batch fields', async () => {
    const db = path.join(tmp(), 'args.db');
    const good = rec({ epoch: 1 });
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    const cases: Array<[unknown, string, string, string]> = [
      [null, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch"'],
      [42, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch"'],
      [{ epoch: 1, records: 'x', recordsPerCore: [] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records"'],
      [{ epoch: '1', records: [], recordsPerCore: [] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.epoch"'],
      [{ epoch: 1, records: [good, null], recordsPerCore: [2] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[1]"'],
      [{ epoch: 1, records: sparse, recordsPerCore: [] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[0]"'],
      [{ epoch: 1, records: [{ ...good, txnToken: undefined }], recordsPerCore: [1] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[0].txnToken"'],
      [{ epoch: 1, records: [{ ...good, txnToken: { id: 0, epoch: 0 } }], recordsPerCore: [1] }, 'RangeError', 'ERR_OUT_OF_RANGE', '"batch.records[0].txnToken.id"'],
      [{ epoch: 1, records: [{ ...good, pageId: 0 }], recordsPerCore: [1] }, 'RangeError', 'ERR_OUT_OF_RANGE', '"batch.records[0].pageId"'],
      [{ epoch: 1, records: [{ ...good, pageId: '1' }], recordsPerCore: [1] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[0].pageId"'],
      [{ epoch: 1, records: [{ ...good, afterImage: 'abc' }], recordsPerCore: [1] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[0].afterImage"'],
      [{ epoch: 1, records: [{ ...good, beforeImage: undefined }], recordsPerCore: [1] }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.records[0].beforeImage"'],
      [{ epoch: 1, records: [good], recordsPerCore: 'x' }, 'TypeError', 'ERR_INVALID_ARG_TYPE', '"batch.recordsPerCore"'],
      [{ epoch: 1, records: [good], recordsPerCore: [-1] }, 'RangeError', 'ERR_OUT_OF_RANGE', '"batch.recordsPerCore[0]"'],
      [{ epoch: 1, records: [good], recordsPerCore: [1], dbSizePages: 1.5 }, 'RangeError', 'ERR_OUT_OF_RANGE', '"batch.dbSizePages"'],
    ];
    for (const [b, name, code, field] of cases) {
      for (const err of [await catchRejection(writeSegment(db, b as never, OFF)), catchError(() => writeSegmentSync(db, b as never, OFF))]) {
        expect({ field, name: err.name, code: err.code }).toEqual({ field, name, code });
        expect(err.message).toContain(field);
      }
    }
    expect(fs.readdirSync(tmp())).toEqual([]);
  });

  test('a getter that throws rejects with its own error', async () => {
    const db = path.join(tmp(), 'getter.db');
    const evil = { ...rec({ epoch: 1 }) } as Record<string, unknown>;
    Object.defineProperty(evil, 'pageId', { get: () => { throw new Error('boom from getter'); }, enumerable: true });
    const err = await catchRejection(writeSegment(db, batch(1, [evil as never]), OFF));
    expect(err.message).toBe('boom from getter');
  });

  test('images may be any ArrayBufferView, honouring offset and length', async () => {
    const db = path.join(tmp(), 'views.db');
    const backing = Buffer.from('xxhello worldyy');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 11);
    const dv = new DataView(backing.buffer, backing.byteOffset + 2, 5);
    await writeSegment(db, batch(1, [{ ...rec({ epoch: 1 }), beforeImage: dv, afterImage: view }]), OFF);
    const { records } = await readSegment(segmentPath(db, 1));
    expect(records[0].afterImage.toString()).toBe('hello world');
    expect(records[0].beforeImage.toString()).toBe('hello');
  });

  test('paths and options', async () => {
    const db = path.join(tmp(), 'opts.db');
    const b = batch(1, [rec({ epoch: 1 })]);
    const cases: Array<[() => Promise<unknown>, string, string, string]> = [
      [() => writeSegment(42 as never, b), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"dbPath"'],
      [() => writeSegment('', b), 'RangeError', 'ERR_INVALID_ARG_VALUE', '"dbPath"'],
      [() => writeSegment(`${db}\0evil`, b), 'RangeError', 'ERR_INVALID_ARG_VALUE', '"dbPath"'],
      [() => writeSegment(db, b, { fsyncPolicy: 'sometimes' as never }), 'RangeError', 'ERR_INVALID_ARG_VALUE', "'sometimes'"],
      [() => writeSegment(db, b, { fsyncPolicy: 1 as never }), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"options.fsyncPolicy"'],
      [() => writeSegment(db, b, { formatVersion: 3 as never }), 'RangeError', 'ERR_INVALID_ARG_VALUE', '"options.formatVersion"'],
      [() => writeSegment(db, b, { prevDurableEpoch: -1 }), 'RangeError', 'ERR_INVALID_ARG_VALUE', '"options.prevDurableEpoch"'],
      [() => writeSegment(db, b, { prevDurableEpoch: 5 }), 'RangeError', 'ERR_INVALID_ARG_VALUE', 'certificate link'],
      [() => writeSegment(db, b, 'full' as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"options"'],
      [() => recoverSegments(db, { skipCorrupt: 'yes' as never }), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"options.skipCorrupt"'],
      [() => recoverSegments(db, { deleteAfterRecovery: 1 as never }), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"options.deleteAfterRecovery"'],
      [() => readSegment(undefined as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"path"'],
      [() => listSegments({} as never), 'TypeError', 'ERR_INVALID_ARG_TYPE', '"dbPath"'],
    ];
    for (const [fn, name, code, text] of cases) {
      const err = await catchRejection(fn());
      expect({ text, name: err.name, code: err.code }).toEqual({ text, name, code });
      expect(err.message).toContain(text);
    }
    expect(catchError(() => recoverAndApplySegmentsSync(db, {} as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(catchError(() => decodeSegment('abc' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(fs.readdirSync(tmp())).toEqual([]);
  });

  test('the raw addon rejects bad arguments too (it never trusts the TS layer)', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { native } = require('../lib/native') as typeof import('../lib/native');
    const db = path.join(tmp(), 'raw.db');
    const calls: Array<() => unknown> = [
      () => native.writeSegmentSync(db, batch(1, []), { fsyncPolicy: 'nope' }),
      () => native.writeSegmentSync(db, batch(1, []), { formatVersion: 9 }),
      () => native.writeSegmentSync(db, batch(1, []), { prevDurableEpoch: 'x' }),
      () => native.writeSegmentSync(db, batch(1, []), 5),
      () => native.recoverSegmentsSync(db, { skipCorrupt: 1 }),
      () => native.readSegmentSync(1 as never),
      () => native.segmentPath(db, -1),
      () => (native.writeSegmentSync as (...a: unknown[]) => unknown)(),
      () => native.decodeSegmentSync(null as never),
    ];
    for (const call of calls) {
      const err = catchError(call);
      expect(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE']).toContain(err.code);
    }
  });
});

describe('segments: format versions', () => {
  const tmp = useTempDir();
  const records = [
    rec({ txnId: 3, epoch: 9, pageId: 4, beginSeq: 30, afterImage: Buffer.alloc(40, 4), beforeImage: Buffer.alloc(40, 3) }),
    rec({ txnId: 1, epoch: 9, pageId: 2, beginSeq: 10, endSeq: null, afterImage: Buffer.alloc(0) }),
  ];

  test('v1 is the seed layout byte for byte; v2 adds checksums and a certificate', async () => {
    const dir1 = path.join(tmp(), 'v1');
    const dir2 = path.join(tmp(), 'v2');
    fs.mkdirSync(dir1);
    fs.mkdirSync(dir2);
    const n1 = await writeSegment(path.join(dir1, 'x.db'), batch(9, records, [1, 1]), { ...OFF, formatVersion: 1 });
    const n2 = await writeSegment(path.join(dir2, 'x.db'), batch(9, records, [1, 1]), { ...OFF, formatVersion: 2 });
    const v1 = fs.readFileSync(segmentPath(path.join(dir1, 'x.db'), 9));
    // Seed layout: header, then (u32 length, body) per record in replay order.
    const ordered = [records[1], records[0]];
    const expected = Buffer.concat([
      new SegmentHeader(9, 2, 1).toBytes(),
      ...ordered.flatMap((r) => {
        const body = seedRecordBody(r);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(body.length);
        return [len, body];
      }),
    ]);
    expect(v1.equals(expected)).toBe(true);
    expect(n1).toBe(v1.length);
    expect(n2).toBeGreaterThan(n1);

    const a = await readSegment(segmentPath(path.join(dir1, 'x.db'), 9));
    const b = await readSegment(segmentPath(path.join(dir2, 'x.db'), 9));
    expect(a.header.version).toBe(1);
    expect(b.header.version).toBe(2);
    expect(a.certificate).toBeNull();
    expect(a.records).toEqual(b.records);
    expect(b.certificate).toEqual({
      formatVersion: 2,
      residue: 'commit_certificate_then_publish',
      certificateEpoch: 9n,
      commitSeqLo: 10n,
      commitSeqHi: 30n,
      durableSegmentEpoch: null,
      laneCount: 2,
      laneRecordCounts: [1, 1],
      dbSizePages: 0,
      pageSetSize: 2,
      certificateCrc32c: expect.any(Number),
      fallbackActive: false,
    });
    expect(SegmentHeader.fromBytes(fs.readFileSync(segmentPath(path.join(dir2, 'x.db'), 9))).version).toBe(2);
  });

  test('certificate carries dbSizePages, fallbackActive and the prev link; recovery verifies the chain', async () => {
    const db = path.join(tmp(), 'chain.db');
    await writeSegment(db, batch(1, [rec({ epoch: 1 })]), OFF);
    await writeSegment(db, { ...batch(2, [rec({ epoch: 2, beginSeq: 200 })]), dbSizePages: 77 }, { ...OFF, prevDurableEpoch: 1, fallbackActive: true });
    await writeSegment(db, batch(3, [rec({ epoch: 3, beginSeq: 300 })]), { ...OFF, prevDurableEpoch: 2n });
    const { result } = await recoverSegments(db);
    expect(result.epochs).toEqual([1n, 2n, 3n]);
    expect(result.certificates.map((c) => c.durableSegmentEpoch)).toEqual([null, 1n, 2n]);
    expect(result.certificates[1].dbSizePages).toBe(77);
    expect(result.certificates[1].fallbackActive).toBe(true);

    // A missing middle segment is a gap, never silently skipped.
    fs.unlinkSync(segmentPath(db, 2));
    const err = await catchRejection(recoverSegments(db));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.reason).toBe('certificate_gap');
    expect(err.message).toContain('a segment is missing');
    const skipped = await recoverSegments(db, { skipCorrupt: true });
    expect(skipped.result.epochs).toEqual([1n]);
    expect(skipped.result.partialSegments).toEqual([segmentPath(db, 3)]);
    expect(skipped.records.map((r) => r.epoch)).toEqual([1n]);
  });

  test('an existing segment is never replaced', async () => {
    const db = path.join(tmp(), 'exists.db');
    await writeSegment(db, batch(4, [rec({ epoch: 4, afterImage: Buffer.alloc(8, 1) })]), OFF);
    const before = fs.readFileSync(segmentPath(db, 4));
    const err = await catchRejection(writeSegment(db, batch(4, [rec({ epoch: 4, afterImage: Buffer.alloc(8, 2) })]), OFF));
    expect(err.code).toBe('WAL_IO');
    expect(err.errno).toBe(17); // EEXIST
    expect(fs.readFileSync(segmentPath(db, 4)).equals(before)).toBe(true);
    expect(fs.readdirSync(tmp())).toEqual([path.basename(segmentPath(db, 4))]);
  });

  test('every fsync policy publishes a readable segment; a missing directory is WAL_IO', async () => {
    const db = path.join(tmp(), 'policies.db');
    let epoch = 1;
    for (const fsyncPolicy of ['full', 'normal', 'off'] as const) {
      await writeSegment(db, batch(epoch, [rec({ epoch })]), { fsyncPolicy });
      expect((await readSegment(segmentPath(db, epoch))).records).toHaveLength(1);
      epoch++;
    }
    const err = await catchRejection(writeSegment(path.join(tmp(), 'missing', 'x.db'), batch(1, [rec({ epoch: 1 })])));
    expect(err.code).toBe('WAL_IO');
    expect(err.errno).toBe(2);
  });

  test('temporaries are ignored by readers', async () => {
    const db = path.join(tmp(), 't.db');
    await writeSegment(db, batch(1, [rec({ epoch: 1 })]), OFF);
    fs.writeFileSync(`${segmentPath(db, 2)}.tmp-123-1`, 'half-written');
    fs.writeFileSync(path.join(tmp(), 't.db-wal-seg-zz'), 'foreign');
    expect((await listSegments(db)).map((s) => s.epoch)).toEqual([1n]);
    expect((await recoverSegments(db)).result.epochs).toEqual([1n]);
  });
});

describe('segments: Sync twins', () => {
  const tmp = useTempDir();

  test('behave like the async functions', async () => {
    const db = path.join(tmp(), 'sync.db');
    for (let e = 1; e <= 3; e++) writeSegmentSync(db, batch(e, [rec({ epoch: e, beginSeq: e, afterImage: Buffer.alloc(4, e) })]), OFF);
    expect(listSegmentsSync(db)).toEqual(await listSegments(db));
    expect(maxDurableEpochSync(db)).toBe(3n);
    expect(readSegmentSync(segmentPath(db, 2))).toEqual(await readSegment(segmentPath(db, 2)));
    const a = recoverSegmentsSync(db);
    expect(a).toEqual(await recoverSegments(db));
    const pages = new Map<number, Buffer>([[9, Buffer.from('keep')]]);
    recoverAndApplySegmentsSync(db, pages);
    expect(pages).toEqual(new Map([[9, Buffer.from('keep')], [1, Buffer.alloc(4, 3)]]));
    deleteSegmentSync(segmentPath(db, 3));
    expect(catchError(() => deleteSegmentSync(segmentPath(db, 3))).code).toBe('WAL_IO');
    expect(cleanupSegmentsSync(db)).toBe(2);
    expect(maxDurableEpochSync(db)).toBeUndefined();
    const err = catchError(() => readSegmentSync(segmentPath(db, 1)));
    expect(err.code).toBe('WAL_IO');
    expect(err.errno).toBe(2);
  });

  test('an empty after-image is a no-op in apply; the last writer in replay order wins', () => {
    const db = path.join(tmp(), 'apply.db');
    writeSegmentSync(db, batch(1, [
      rec({ txnId: 1, epoch: 1, pageId: 5, beginSeq: 1, afterImage: Buffer.from('one') }),
      rec({ txnId: 2, epoch: 1, pageId: 5, beginSeq: 2, afterImage: Buffer.alloc(0) }),
    ]), OFF);
    writeSegmentSync(db, batch(2, [rec({ txnId: 3, epoch: 2, pageId: 6, beginSeq: 3, afterImage: Buffer.from('six') })]), OFF);
    const pages = new Map<number, Buffer>([[5, Buffer.from('old')]]);
    recoverAndApplySegmentsSync(db, pages);
    expect(pages.get(5)!.toString()).toBe('one');
    expect(pages.get(6)!.toString()).toBe('six');
  });
});
