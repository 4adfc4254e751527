import type { ParallelWalFallbackReason, ParallelWalOrderedResidue } from './control';
// Public types of the segment API: records, batches, certificates, recovery results.

/** A u64 value as accepted on input: a bigint, or a number that is a safe integer. */
export type U64Input = bigint | number;

/**
 * How a segment is made durable before {@link writeSegment} resolves.
 * - `'full'`: fsync of the file and of the directory (`F_FULLFSYNC` on macOS).
 * - `'normal'`: fdatasync of the file, then a directory sync.
 * - `'off'`: no sync (tests, benchmarks, or data you can afford to lose on power failure).
 */
export type FsyncPolicy = 'full' | 'normal' | 'off';

/** Segment format versions: 1 is the seed's layout byte for byte; 2 checksums every byte. */
export type SegmentFormatVersion = 1 | 2;

/** A transaction token as given to {@link writeSegment}. */
export interface TxnTokenInput {
  /** Transaction id, never 0. */
  id: U64Input;
  /** Transaction epoch (u32). */
  epoch: number;
}

/** A transaction token as returned by readers: u64 as bigint. */
export interface TxnToken {
  /** Transaction id, never 0. */
  id: bigint;
  /** Transaction epoch (u32). */
  epoch: number;
}

/** One page image written by one transaction, as given to {@link writeSegment}. */
export interface WalRecordInput {
  txnToken: TxnTokenInput;
  /** The epoch the record belongs to; must equal the batch's epoch. */
  epoch: U64Input;
  /** Page number, 1..2^32-1. */
  pageId: number;
  beginSeq: U64Input;
  /** Commit sequence; `null`/`undefined` marks an aborted write. */
  endSeq?: U64Input | null;
  /** Page before the write, at most 65536 bytes (may be empty). */
  beforeImage: ArrayBufferView;
  /** Page after the write, at most 65536 bytes (empty: nothing to apply). */
  afterImage: ArrayBufferView;
}

/**
 * One record read back from a segment. u64 fields are bigints.
 *
 * The images of all records returned by one call are views into one shared buffer (one
 * allocation per call instead of two per record); copy an image (`Buffer.from(img)`) if you keep
 * a few of them for long while dropping the rest. Empty images are one shared zero-length Buffer.
 */
export interface WalRecord {
  txnToken: TxnToken;
  epoch: bigint;
  pageId: number;
  beginSeq: bigint;
  endSeq: bigint | null;
  beforeImage: Buffer;
  afterImage: Buffer;
}

/** What one epoch flush hands to {@link writeSegment}. */
export interface EpochBatch {
  epoch: U64Input;
  records: readonly WalRecordInput[];
  /** One count per lane/slot that contributed (becomes the certificate's lane counts). */
  recordsPerCore: readonly number[];
  /** Largest `dbSizeIfCommit` seen in the epoch (certificate). @default 0 */
  dbSizePages?: number;
}

/**
 * The commit certificate that closes a version-2 segment: what the epoch committed and the link
 * to the previous durable segment, itself covered by a CRC32C.
 */
export interface ParallelWalCommitCertificate {
  /** Segment format version of the certificate (2). */
  formatVersion: number;
  /** What is ordered before publication: the certificate is written, then the file published. */
  residue: ParallelWalOrderedResidue;
  /** Epoch the certificate is for (equals the segment's epoch). */
  certificateEpoch: bigint;
  /** Lowest `beginSeq` in the segment (0 when empty). */
  commitSeqLo: bigint;
  /** Highest `endSeq` (or `beginSeq` for records without one) in the segment (0 when empty). */
  commitSeqHi: bigint;
  /** Epoch of the previous durable segment, or `null` for the first segment of a log. */
  durableSegmentEpoch: bigint | null;
  /** Number of lanes that contributed (`laneRecordCounts.length`). */
  laneCount: number;
  /** Records per lane, as given in `recordsPerCore`. */
  laneRecordCounts: number[];
  /** Largest `dbSizeIfCommit` of the epoch, in pages. */
  dbSizePages: number;
  /** Number of distinct page ids in the segment. */
  pageSetSize: number;
  /** CRC32C of the certificate bytes. */
  certificateCrc32c: number;
  /** Whether the writer was in the conservative fallback when it sealed the epoch. */
  fallbackActive: boolean;
}

/** A segment file of a log. */
export interface SegmentEntry {
  epoch: bigint;
  path: string;
}

/** What {@link recoverSegments} did. */
export interface SegmentRecoveryResult {
  segmentsRecovered: number;
  recordsApplied: number;
  /** Sum of the sizes of the applied segment files. */
  bytesRead: number;
  /** Epochs applied, ascending. */
  epochs: bigint[];
  /** Segments not applied: the torn tail, or (with `skipCorrupt`) the first bad one and after. */
  partialSegments: string[];
  /** The last segment was torn by a crash (its write was never acknowledged): reported, not fatal. */
  tornTail: boolean;
  /** Why recovery stopped before the end, or `null` when every segment was applied. */
  stopReason: string | null;
  /** Certificates of the applied v2 segments, in epoch order. */
  certificates: ParallelWalCommitCertificate[];
  /**
   * `'recovery_gap'` when recovery stopped before the end of the log (with `skipCorrupt`, at a
   * bad segment that is not a torn tail): what it returns is a prefix with a gap after it.
   * `null` when every segment (but a torn tail) was applied.
   */
  fallbackReason: ParallelWalFallbackReason | null;
}

/** Options of {@link writeSegment}. */
export interface WriteSegmentOptions {
  /** @default 'full' */
  fsyncPolicy?: FsyncPolicy;
  /** @default 2 */
  formatVersion?: SegmentFormatVersion;
  /**
   * Epoch of the previous durable segment of this log, recorded in the v2 certificate so that
   * recovery detects a missing segment. `null`/omitted: this segment starts a chain.
   * @default null
   */
  prevDurableEpoch?: U64Input | null;
  /** Recorded in the v2 certificate. @default false */
  fallbackActive?: boolean;
}

/** Options of {@link prepareSegments}. */
export interface PrepareSegmentsOptions {
  /** The first epoch to prepare a file for. */
  firstEpoch: U64Input;
  /** How many consecutive epochs, from `firstEpoch` (1 to 4096). */
  count: number;
  /**
   * Size of each prepared file, in bytes (24 to 1048576). A segment that fits is written in place
   * with zero padding after it; a larger one extends the file (its sync then commits the size
   * too, so it costs a little more).
   * @default 4096
   */
  sizeBytes?: number;
  /**
   * How the files and their names are made durable. A later write into a prepared file is only
   * as durable as its preparation: prepare with the policy you write with.
   * @default 'full'
   */
  fsyncPolicy?: FsyncPolicy;
}

/** Options of {@link recoverSegments} and {@link recoverAndApplySegments}. */
export interface SegmentRecoveryOptions {
  /**
   * Stop at the first bad segment and return the durable prefix (listing the bad segment and
   * every later one in `partialSegments`) instead of rejecting.
   * @default false
   */
  skipCorrupt?: boolean;
  /** Delete the applied segments afterwards. @default false */
  deleteAfterRecovery?: boolean;
  /**
   * Delete a torn tail (and sync the directory), as a writer that continues the log must.
   * @default false
   */
  discardTornTail?: boolean;
}

/** Options of {@link iterateSegmentRecords}. */
export interface IterateSegmentOptions {
  /** As in {@link SegmentRecoveryOptions.skipCorrupt}. @default false */
  skipCorrupt?: boolean;
}

/** The value an {@link iterateSegmentRecords} generator returns when it is done. */
export interface SegmentIterationSummary {
  segmentsRecovered: number;
  recordsApplied: number;
  epochs: bigint[];
  partialSegments: string[];
  tornTail: boolean;
  stopReason: string | null;
}
