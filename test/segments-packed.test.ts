// writeSegment's two argument paths: the packed one (lib/segment-pack.ts, for batches of plain
// numbers and TypedArrays) and the record-by-record one (anything else). They must write the same
// bytes, and the packed native entry must refuse anything malformed without crashing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { segmentPath, writeSegment, writeSegmentSync } from '../lib';
import { native } from '../lib/native';
import { PACKED_FIELDS, packBatch } from '../lib/segment-pack';
import type { EpochBatch, WalRecordInput } from '../lib';
import { catchError, catchRejection } from './helpers';
import { useTempDir } from './segments-fixtures';

const OFF = { fsyncPolicy: 'off' as const };

/** Records out of replay order, with and without endSeq, with empty and odd-sized images. */
function records(epoch: number): WalRecordInput[] {
  const out: WalRecordInput[] = [];
  for (let i = 0; i < 40; i++) {
    out.push({
      txnToken: { id: 1000 - i, epoch: i % 3 },
      epoch,
      pageId: 1 + ((i * 7) % 13),
      beginSeq: (i * 37) % 50,
      endSeq: i % 5 === 0 ? null : 100 + i,
      beforeImage: i % 4 === 0 ? Buffer.alloc(0) : Buffer.alloc(i * 3, i),
      afterImage: new Uint8Array(Buffer.alloc(1 + i * 101, 255 - i)),
    });
  }
  return out;
}

function asBigints(r: WalRecordInput): WalRecordInput {
  return {
    ...r,
    txnToken: { id: BigInt(r.txnToken.id), epoch: r.txnToken.epoch },
    epoch: BigInt(r.epoch),
    beginSeq: BigInt(r.beginSeq),
  };
}

describe('segments: packed and record-by-record writes', () => {
  const tmp = useTempDir();

  test('a batch of numbers is packed; bigints, DataViews and bad values are not', () => {
    const rs = records(3);
    expect(packBatch(rs)?.fields.length).toBe(rs.length * PACKED_FIELDS);
    expect(packBatch(rs.map(asBigints))).toBeUndefined();
    expect(packBatch([{ ...rs[0], afterImage: new DataView(new ArrayBuffer(4)) }])).toBeUndefined();
    expect(packBatch([{ ...rs[0], pageId: 0 }])).toBeUndefined();
    expect(packBatch([{ ...rs[0], txnToken: { id: 0, epoch: 0 } }])).toBeUndefined();
    expect(packBatch([{ ...rs[0], beginSeq: 2 ** 53 }])).toBeUndefined();
    expect(packBatch([{ ...rs[0], afterImage: Buffer.alloc(65537) }])).toBeUndefined();
    // eslint-disable-next-line no-sparse-arrays
    expect(packBatch([, rs[0]])).toBeUndefined();
    expect(packBatch('records')).toBeUndefined();
  });

  test.each([
    ['writeSegmentSync', (db: string, b: EpochBatch) => Promise.resolve(writeSegmentSync(db, b, OFF))],
    ['writeSegment', (db: string, b: EpochBatch) => writeSegment(db, b, OFF)],
  ])('%s writes the same bytes from numbers (packed) as from bigints (record by record)', async (_name, write) => {
    const a = path.join(tmp(), 'a.db');
    const b = path.join(tmp(), 'b.db');
    const rs = records(9);
    const n1 = await write(a, { epoch: 9, records: rs, recordsPerCore: [30, 10], dbSizePages: 77 });
    const n2 = await write(b, { epoch: 9n, records: rs.map(asBigints), recordsPerCore: [30, 10], dbSizePages: 77 });
    expect(n1).toBe(n2);
    expect(fs.readFileSync(segmentPath(a, 9)).equals(fs.readFileSync(segmentPath(b, 9)))).toBe(true);
  });

  test('a packed batch with a record of another epoch rejects like the other path, writing nothing', async () => {
    const db = path.join(tmp(), 'e.db');
    const rs = records(4);
    rs[7] = { ...rs[7], epoch: 5 };
    const packed = await catchRejection(writeSegment(db, { epoch: 4, records: rs, recordsPerCore: [40] }, OFF));
    const plain = await catchRejection(writeSegment(db, { epoch: 4n, records: rs.map(asBigints), recordsPerCore: [40] }, OFF));
    expect(packed.code).toBe(plain.code);
    expect(packed.message).toBe(plain.message);
    expect(packed.message).toContain('contains record from epoch 5');
    expect(fs.readdirSync(tmp())).toEqual([]);
  });

  describe('the packed native entry refuses malformed input (it is internal, but must not crash)', () => {
    const good = () => packBatch(records(2))!;
    const call = (epoch: unknown, fields: unknown, images: unknown, rpc: unknown = [40]) =>
      catchError(() =>
        native.writeSegmentPackedSync(path.join(tmp(), 'x.db'), epoch, fields as Float64Array, images as ArrayBufferView[], rpc, 0, OFF),
      );
    test.each([
      ['fields not a Float64Array', () => call(2, new Uint8Array(6), good().images), 'ERR_INVALID_ARG_TYPE'],
      ['fields of the wrong length', () => call(2, new Float64Array(7), [], undefined), 'ERR_OUT_OF_RANGE'],
      ['images of the wrong length', () => call(2, good().fields, good().images.slice(1)), 'ERR_OUT_OF_RANGE'],
      ['images not an array', () => call(2, good().fields, {}), 'ERR_INVALID_ARG_TYPE'],
      ['an image that is not a TypedArray', () => call(2, good().fields, good().images.map((x, i) => (i === 5 ? 'x' : x))), 'ERR_INVALID_ARG_TYPE'],
      ['an image that is undefined (only null stands for an empty image)', () => call(2, good().fields, good().images.map((x, i) => (i === 5 ? undefined : x))), 'ERR_INVALID_ARG_TYPE'],
      ['an oversized image', () => call(2, good().fields, good().images.map((x, i) => (i === 5 ? Buffer.alloc(65537) : x))), 'ERR_OUT_OF_RANGE'],
      ['NaN in a u64 field', () => { const p = good(); p.fields[4] = NaN; return call(2, p.fields, p.images); }, 'ERR_OUT_OF_RANGE'],
      ['a negative u64 field', () => { const p = good(); p.fields[2] = -2; return call(2, p.fields, p.images); }, 'ERR_OUT_OF_RANGE'],
      ['a zero txn id', () => { const p = good(); p.fields[0] = 0; return call(2, p.fields, p.images); }, 'ERR_OUT_OF_RANGE'],
      ['a zero page id', () => { const p = good(); p.fields[3] = 0; return call(2, p.fields, p.images); }, 'ERR_OUT_OF_RANGE'],
      ['a u32 field over 2^32-1', () => { const p = good(); p.fields[1] = 2 ** 32; return call(2, p.fields, p.images); }, 'ERR_OUT_OF_RANGE'],
    ])('%s', (_name, run, code) => {
      const e = run();
      expect(e.code).toBe(code);
      expect(fs.readdirSync(tmp())).toEqual([]);
    });
  });
});
