// Records as the addon hands them to lib/segments.ts: per segment, its file bytes and a flat
// array of fixed-size record descriptors (RecordView, native/binding/segment_convert.h), turned
// into record objects (unpackRecords) or kept as columns (SegmentRecordColumns). Images are
// Buffer views of the segment files' bytes, never copies.
import type { NativePackedRecords } from './native';
import type { WalRecord } from './segment-types';
import { argValueError } from './segment-validate';

// Empty images (common: no before-image) share one zero-length Buffer instead of allocating.
const EMPTY_IMAGE = Buffer.alloc(0);

// RecordView layout (native/binding/segment_convert.h), in 8-, 4- and 1-byte units.
const VIEW_BYTES = 72;
const V64_TXN_ID = 0;
const V64_BEGIN_SEQ = 2;
const V64_END_SEQ = 3;
const V32_BEGIN_SEQ = 4; // low and high halves at +0, +1
const V32_END_SEQ = 6;
const V32_BEFORE_OFFSET = 8; // low half (offsets are < 2^32)
const V32_AFTER_OFFSET = 10;
const V32_BEFORE_LEN = 12;
const V32_AFTER_LEN = 13;
const V32_TXN_EPOCH = 14;
const V32_PAGE_ID = 15;
const V8_HAS_END_SEQ = 64;

/**
 * A Buffer view made without going through `subarray`'s species lookup and `Buffer.from`'s
 * argument dispatch (the cost of one record's image dominated unpacking): a Uint8Array whose
 * prototype chain runs through Buffer.prototype, so it is a Buffer in every respect
 * (`Buffer.isBuffer`, `instanceof Buffer`, `.constructor === Buffer`, every Buffer method).
 */
class ImageBuffer extends Uint8Array {}
Object.setPrototypeOf(ImageBuffer.prototype, Buffer.prototype);
Object.defineProperty(ImageBuffer.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

export function unpackRecords(packed: NativePackedRecords): WalRecord[] {
  let n = 0;
  for (const seg of packed.segments) n += seg.count;
  const out: WalRecord[] = new Array(n);
  let i = 0;
  for (const seg of packed.segments) {
    const count = seg.count;
    if (count === 0) continue;
    const bytes = seg.bytes; // the segment file's bytes; images are views of it, not copies
    const epoch = seg.epoch; // every record of a segment has the segment's epoch
    const v64 = new BigUint64Array(seg.views);
    const v32 = new Uint32Array(seg.views);
    const v8 = new Uint8Array(seg.views);
    let txnId: bigint | undefined;
    for (let k = 0, b64 = 0, b32 = 0, b8 = 0; k < count; k++, i++, b64 += VIEW_BYTES / 8, b32 += VIEW_BYTES / 4, b8 += VIEW_BYTES) {
      const beginSeq = v64[b64 + V64_BEGIN_SEQ];
      let endSeq: bigint | null = null;
      if (v8[b8 + V8_HAS_END_SEQ] !== 0) {
        // Most records end where they begin: share the bigint instead of allocating another.
        endSeq =
          v32[b32 + V32_END_SEQ] === v32[b32 + V32_BEGIN_SEQ] && v32[b32 + V32_END_SEQ + 1] === v32[b32 + V32_BEGIN_SEQ + 1]
            ? beginSeq
            : v64[b64 + V64_END_SEQ];
      }
      const beforeLen = v32[b32 + V32_BEFORE_LEN];
      const afterLen = v32[b32 + V32_AFTER_LEN];
      // A transaction's records are adjacent in replay order: share its id's bigint.
      if (txnId === undefined || v32[b32] !== v32[b32 - VIEW_BYTES / 4] || v32[b32 + 1] !== v32[b32 + 1 - VIEW_BYTES / 4]) {
        txnId = v64[b64 + V64_TXN_ID];
      }
      out[i] = {
        txnToken: { id: txnId, epoch: v32[b32 + V32_TXN_EPOCH] },
        epoch,
        pageId: v32[b32 + V32_PAGE_ID],
        beginSeq,
        endSeq,
        beforeImage: beforeLen === 0 ? EMPTY_IMAGE : (new ImageBuffer(bytes, v32[b32 + V32_BEFORE_OFFSET], beforeLen) as Buffer),
        afterImage: afterLen === 0 ? EMPTY_IMAGE : (new ImageBuffer(bytes, v32[b32 + V32_AFTER_OFFSET], afterLen) as Buffer),
      };
    }
  }
  return out;
}

/**
 * The records of a recovery as columns instead of objects (see {@link recoverSegmentsColumnar}).
 * Index `i` is the i-th record in replay order. u64 columns are BigUint64Arrays (`endSeq[i]` is
 * 0n where `hasEndSeq[i]` is 0); images are made on demand as Buffer views of the segment files'
 * bytes (no copy), so a consumer that needs only some images never pays for the others.
 */
export class SegmentRecordColumns {
  readonly length: number;
  readonly txnId: BigUint64Array;
  readonly txnEpoch: Uint32Array;
  readonly epoch: BigUint64Array;
  readonly pageId: Uint32Array;
  readonly beginSeq: BigUint64Array;
  readonly endSeq: BigUint64Array;
  readonly hasEndSeq: Uint8Array;
  /** @internal segment index, and image offsets/lengths within that segment's bytes */
  private readonly seg: Uint32Array;
  private readonly img: Uint32Array; // beforeOff, beforeLen, afterOff, afterLen per record
  private readonly buffers: ArrayBuffer[];

  /** @internal built by recoverSegmentsColumnar */
  constructor(packed: NativePackedRecords) {
    let n = 0;
    for (const seg of packed.segments) n += seg.count;
    this.length = n;
    this.txnId = new BigUint64Array(n);
    this.txnEpoch = new Uint32Array(n);
    this.epoch = new BigUint64Array(n);
    this.pageId = new Uint32Array(n);
    this.beginSeq = new BigUint64Array(n);
    this.endSeq = new BigUint64Array(n);
    this.hasEndSeq = new Uint8Array(n);
    this.seg = new Uint32Array(n);
    this.img = new Uint32Array(4 * n);
    this.buffers = packed.segments.map((s) => s.bytes);
    // u64 columns are filled through 32-bit halves: no bigint is created per record.
    const txnId = new Uint32Array(this.txnId.buffer);
    const epoch = new Uint32Array(this.epoch.buffer);
    const beginSeq = new Uint32Array(this.beginSeq.buffer);
    const endSeq = new Uint32Array(this.endSeq.buffer);
    let i = 0;
    for (let s = 0; s < packed.segments.length; s++) {
      const segment = packed.segments[s];
      const count = segment.count;
      if (count === 0) continue;
      const v32 = new Uint32Array(segment.views);
      const v8 = new Uint8Array(segment.views);
      const e = BigInt.asUintN(64, segment.epoch);
      const eLo = Number(e & 0xffffffffn);
      const eHi = Number(e >> 32n);
      for (let k = 0, b32 = 0, b8 = 0; k < count; k++, i++, b32 += VIEW_BYTES / 4, b8 += VIEW_BYTES) {
        const w = 2 * i;
        txnId[w] = v32[b32];
        txnId[w + 1] = v32[b32 + 1];
        epoch[w] = eLo;
        epoch[w + 1] = eHi;
        beginSeq[w] = v32[b32 + V32_BEGIN_SEQ];
        beginSeq[w + 1] = v32[b32 + V32_BEGIN_SEQ + 1];
        endSeq[w] = v32[b32 + V32_END_SEQ];
        endSeq[w + 1] = v32[b32 + V32_END_SEQ + 1];
        this.hasEndSeq[i] = v8[b8 + V8_HAS_END_SEQ];
        this.txnEpoch[i] = v32[b32 + V32_TXN_EPOCH];
        this.pageId[i] = v32[b32 + V32_PAGE_ID];
        this.seg[i] = s;
        const m = 4 * i;
        this.img[m] = v32[b32 + V32_BEFORE_OFFSET];
        this.img[m + 1] = v32[b32 + V32_BEFORE_LEN];
        this.img[m + 2] = v32[b32 + V32_AFTER_OFFSET];
        this.img[m + 3] = v32[b32 + V32_AFTER_LEN];
      }
    }
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw argValueError('index', i, `must be an integer >= 0 and < ${this.length}`);
    }
  }

  /** The before-image of record `i` (a view of the segment's bytes; empty images share one Buffer). */
  beforeImage(i: number): Buffer {
    this.check(i);
    const len = this.img[4 * i + 1];
    return len === 0 ? EMPTY_IMAGE : (new ImageBuffer(this.buffers[this.seg[i]], this.img[4 * i], len) as Buffer);
  }

  /** Length of record `i`'s after-image, without making a view. */
  afterImageLength(i: number): number {
    this.check(i);
    return this.img[4 * i + 3];
  }

  /** The after-image of record `i` (a view of the segment's bytes; empty images share one Buffer). */
  afterImage(i: number): Buffer {
    this.check(i);
    const len = this.img[4 * i + 3];
    return len === 0 ? EMPTY_IMAGE : (new ImageBuffer(this.buffers[this.seg[i]], this.img[4 * i + 2], len) as Buffer);
  }

  /** Record `i` as the object {@link recoverSegments} returns. */
  record(i: number): WalRecord {
    this.check(i);
    return {
      txnToken: { id: this.txnId[i], epoch: this.txnEpoch[i] },
      epoch: this.epoch[i],
      pageId: this.pageId[i],
      beginSeq: this.beginSeq[i],
      endSeq: this.hasEndSeq[i] === 0 ? null : this.endSeq[i],
      beforeImage: this.beforeImage(i),
      afterImage: this.afterImage(i),
    };
  }

  /** Every record as an object, in replay order (made one at a time). */
  *[Symbol.iterator](): IterableIterator<WalRecord> {
    for (let i = 0; i < this.length; i++) yield this.record(i);
  }
}
