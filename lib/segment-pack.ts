/**
 * The packed form of a well-formed epoch batch: what `writeSegment` hands the addon when every
 * field is a plain number and every image a TypedArray (the common case).
 *
 * Reading nine properties per record through N-API costs ~0.7 µs a record; reading them here,
 * where the JIT's inline caches make each one a load, and passing one Float64Array plus one array
 * of images costs a fraction of that. The addon then encodes the segment straight from the
 * images (native/binding/segment_convert.h, `ParsePackedBatch`).
 *
 * `packBatch` accepts exactly a subset of what the record-by-record path accepts, and returns
 * `undefined` for anything else (a bigint, a DataView, a bad value): that batch takes the
 * record-by-record path, which produces the canonical error naming the field. So there is one
 * set of error messages, not two.
 * @internal
 */

/** Numbers per record in `fields`; must match kPackedFields in segment_convert.h. */
export const PACKED_FIELDS = 6;
const MAX_IMAGE_BYTES = 65536;
const U32_MAX = 0xffffffff;
/** Larger batches (or sparse arrays claiming a huge length) take the record-by-record path. */
const MAX_PACKED_RECORDS = 1 << 20;

export interface PackedBatch {
  /** txnToken.id, txnToken.epoch, epoch, pageId, beginSeq, endSeq (-1: none) per record. */
  fields: Float64Array;
  /** beforeImage, afterImage per record; `null` for an empty image (the addon skips it). */
  images: (ArrayBufferView | null)[];
}

function u64(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function u32(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= U32_MAX;
}

function image(v: unknown): v is ArrayBufferView {
  // ArrayBuffer.isView is true only for real TypedArrays and DataViews (an internal slot, not
  // the prototype chain); DataViews take the other path.
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && v.byteLength <= MAX_IMAGE_BYTES;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The packed records of `records`, or `undefined` if any record needs the full parser. */
export function packBatch(records: unknown): PackedBatch | undefined {
  if (!Array.isArray(records)) return undefined;
  const n = records.length;
  if (n > MAX_PACKED_RECORDS) return undefined;
  const fields = new Float64Array(n * PACKED_FIELDS);
  const images: (ArrayBufferView | null)[] = new Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r: unknown = records[i];
    if (!isObject(r)) return undefined;
    const token = r.txnToken;
    if (!isObject(token)) return undefined;
    const id = token.id;
    const txnEpoch = token.epoch;
    const epoch = r.epoch;
    const pageId = r.pageId;
    const beginSeq = r.beginSeq;
    const endSeq = r.endSeq;
    const before = r.beforeImage;
    const after = r.afterImage;
    if (!u64(id) || id === 0 || !u32(txnEpoch, 0) || !u64(epoch) || !u32(pageId, 1) || !u64(beginSeq)) {
      return undefined;
    }
    let end = -1;
    if (endSeq !== null && endSeq !== undefined) {
      if (!u64(endSeq)) return undefined;
      end = endSeq;
    }
    if (!image(before) || !image(after)) return undefined;
    const o = i * PACKED_FIELDS;
    fields[o] = id;
    fields[o + 1] = txnEpoch;
    fields[o + 2] = epoch;
    fields[o + 3] = pageId;
    fields[o + 4] = beginSeq;
    fields[o + 5] = end;
    // An empty image as null: the addon then makes no typed-array queries for it (most records
    // have no before-image).
    images[2 * i] = before.byteLength === 0 ? null : before;
    images[2 * i + 1] = after.byteLength === 0 ? null : after;
  }
  return { fields, images };
}
