// Shared fixtures for the segment tests: temp dirs and record builders.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EpochBatch, U64Input, WalRecordInput } from '../lib';

/** A fresh temp dir per test, removed in afterEach. Call at the top of a describe block. */
export function useTempDir(): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-seg-'));
  });
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('temp dir used outside a test');
    return dir;
  };
}

export interface RecordSpec {
  txnId?: U64Input;
  txnEpoch?: number;
  epoch: U64Input;
  pageId?: number;
  beginSeq?: U64Input;
  endSeq?: U64Input | null;
  beforeImage?: Buffer;
  afterImage?: Buffer;
}

/** A record with the seed tests' usual defaults (txn 1, page 1, seq 100, committed). */
export function rec(spec: RecordSpec): WalRecordInput {
  const beginSeq = spec.beginSeq ?? 100;
  return {
    txnToken: { id: spec.txnId ?? 1, epoch: spec.txnEpoch ?? 0 },
    epoch: spec.epoch,
    pageId: spec.pageId ?? 1,
    beginSeq,
    endSeq: spec.endSeq === undefined ? beginSeq : spec.endSeq,
    beforeImage: spec.beforeImage ?? Buffer.alloc(0),
    afterImage: spec.afterImage ?? Buffer.alloc(8, 0xaa),
  };
}

export function batch(epoch: U64Input, records: WalRecordInput[], recordsPerCore?: number[]): EpochBatch {
  return { epoch, records, recordsPerCore: recordsPerCore ?? (records.length ? [records.length] : []) };
}

/** The seed's record body (serialize_record), built independently of the addon. */
export function seedRecordBody(r: WalRecordInput): Buffer {
  const parts: Buffer[] = [];
  const u64 = (v: U64Input) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  parts.push(u64(r.txnToken.id), u32(r.txnToken.epoch), u64(r.epoch), u32(r.pageId), u64(r.beginSeq));
  if (r.endSeq === null || r.endSeq === undefined) parts.push(Buffer.from([0]));
  else parts.push(Buffer.from([1]), u64(r.endSeq));
  const before = Buffer.from(r.beforeImage.buffer, r.beforeImage.byteOffset, r.beforeImage.byteLength);
  const after = Buffer.from(r.afterImage.buffer, r.afterImage.byteOffset, r.afterImage.byteLength);
  parts.push(u32(before.length), before, u32(after.length), after);
  return Buffer.concat(parts);
}

/** u32 little-endian. */
export function le32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
