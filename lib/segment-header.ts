// The 24-byte segment header, in TypeScript (same layout and checks as the core's
// EncodeSegmentHeader/DecodeSegmentHeader; docs/format.md):
//   0  u32 magic 0x5057414C   4  u16 version   6  u16 flags (v2: bit 0 = padded, others 0)
//   8  u64 epoch             16  u32 record count   20  u32 CRC32C of bytes 0..20
import { crc32c } from './crc32c';
import { checkU64, walError, argTypeError, argValueError } from './segment-validate';
import type { SegmentFormatVersion, U64Input } from './segment-types';

/** `0x5057414C`, "LAWP" in file order. */
export const SEGMENT_MAGIC = 0x5057414c;
/** Size of the header in bytes. */
export const SEGMENT_HEADER_SIZE = 24;

function hex(v: number): string {
  return v === 0 ? '0' : `0x${v.toString(16)}`;
}

/** The header at the start of every segment file. */
export class SegmentHeader {
  /** Format version: 1 (the seed's layout) or 2 (every byte checksummed). */
  readonly version: SegmentFormatVersion;
  /** The epoch the segment holds. */
  readonly epoch: bigint;
  /** Number of records that follow. */
  readonly recordCount: number;

  /**
   * @param epoch the segment's epoch (u64: bigint or safe integer).
   * @param recordCount number of records (u32).
   * @param version format version. @default 1 (the seed's `SegmentHeader::new`)
   * @throws TypeError `ERR_INVALID_ARG_TYPE` / RangeError `ERR_INVALID_ARG_VALUE` naming the argument.
   */
  constructor(epoch: U64Input, recordCount: number, version: SegmentFormatVersion = 1) {
    this.epoch = checkU64(epoch, 'epoch');
    if (typeof recordCount !== 'number') throw argTypeError('recordCount', 'of type number', recordCount);
    if (!Number.isInteger(recordCount) || recordCount < 0 || recordCount > 0xffffffff) {
      throw argValueError('recordCount', recordCount, 'must be an integer >= 0 and <= 4294967295');
    }
    if (version !== 1 && version !== 2) throw argValueError('version', version, 'must be 1 or 2');
    this.recordCount = recordCount;
    this.version = version;
  }

  /** The 24 header bytes, checksum included. */
  toBytes(): Buffer {
    const buf = Buffer.alloc(SEGMENT_HEADER_SIZE);
    buf.writeUInt32LE(SEGMENT_MAGIC, 0);
    buf.writeUInt16LE(this.version, 4);
    buf.writeBigUInt64LE(this.epoch, 8);
    buf.writeUInt32LE(this.recordCount, 16);
    buf.writeUInt32LE(crc32c(buf.subarray(0, 20)), 20);
    return buf;
  }

  /**
   * Parses and checks the first 24 bytes of `bytes`: magic, version (1 or 2), the header CRC32C,
   * and (v2) the reserved bytes.
   * @throws Error with code `WAL_CORRUPTION` saying what is wrong ("invalid segment magic",
   *   "unsupported segment version", "segment header checksum mismatch", "segment truncated").
   * @throws TypeError `ERR_INVALID_ARG_TYPE` when `bytes` is not a Uint8Array.
   */
  static fromBytes(bytes: Uint8Array): SegmentHeader {
    if (!(bytes instanceof Uint8Array)) throw argTypeError('bytes', 'an instance of Buffer or Uint8Array', bytes);
    if (bytes.length < SEGMENT_HEADER_SIZE) {
      throw walError(`segment truncated: ${bytes.length} bytes, the header needs ${SEGMENT_HEADER_SIZE}`);
    }
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_SIZE);
    const magic = view.readUInt32LE(0);
    if (magic !== SEGMENT_MAGIC) throw walError(`invalid segment magic: ${hex(magic)}`);
    const version = view.readUInt16LE(4);
    if (version !== 1 && version !== 2) throw walError(`unsupported segment version: ${version}`);
    const stored = view.readUInt32LE(20);
    const computed = crc32c(view.subarray(0, 20));
    if (stored !== computed) {
      throw walError(`segment header checksum mismatch: stored=${hex(stored)}, computed=${hex(computed)}`);
    }
    // v2 flags: bit 0 = zero padding follows the certificate (a prepared file); others reserved.
    if (version === 2 && (view.readUInt16LE(6) & ~1) !== 0) throw walError('segment header reserved bytes are not zero');
    return new SegmentHeader(view.readBigUInt64LE(8), view.readUInt32LE(16), version);
  }
}
