// Segment files: one durable file per non-empty epoch, "<db file name>-wal-seg-<epoch as 16 hex
// digits>" beside the db path. Writing, reading, listing, recovery and cleanup run in the native
// core (native/core/segment*.cc); the promise-returning functions do their file work on the
// libuv thread pool, and each has a `...Sync` twin for start-up code.
//
// Byte layouts: docs/format.md. Recovery rules: docs/durability.md.
import { native } from './native';
import type { NativeCertificate, NativePackedRecords, NativeRecovery, NativeSegmentContents } from './native';
import { SegmentHeader } from './segment-header';
import { publishTrace, reasonFromName } from './trace';
import type {
  EpochBatch,
  FsyncPolicy,
  IterateSegmentOptions,
  ParallelWalCommitCertificate,
  SegmentEntry,
  SegmentFormatVersion,
  SegmentIterationSummary,
  SegmentRecoveryOptions,
  SegmentRecoveryResult,
  U64Input,
  WalRecord,
  WriteSegmentOptions,
} from './segment-types';
import {
  argTypeError,
  argValueError,
  checkBoolOption,
  checkOptions,
  checkPath,
  checkU64,
  walError,
  type CodedError,
} from './segment-validate';

/** A segment read back: its header, its records in replay order, and (v2) its certificate. */
export interface SegmentContents {
  header: SegmentHeader;
  records: WalRecord[];
  /** The commit certificate of a v2 segment; `null` for v1. */
  certificate: ParallelWalCommitCertificate | null;
}

/** What {@link recoverSegments} returns: the report and the durable records in replay order. */
export interface SegmentRecovery {
  result: SegmentRecoveryResult;
  records: WalRecord[];
}

// ---------------------------------------------------------------------------------------------
// option checks (the addon checks again: it never trusts its caller)

const FSYNC_POLICIES: readonly FsyncPolicy[] = ['full', 'normal', 'off'];

interface NativeWriteOptions {
  fsyncPolicy: FsyncPolicy;
  formatVersion: SegmentFormatVersion;
  prevDurableEpoch: bigint | null;
  fallbackActive: boolean;
}

function writeOptions(options: unknown): NativeWriteOptions {
  const o = checkOptions<WriteSegmentOptions>(options);
  const fsyncPolicy = o.fsyncPolicy === undefined ? 'full' : o.fsyncPolicy;
  if (typeof fsyncPolicy !== 'string') throw argTypeError('options.fsyncPolicy', 'of type string', fsyncPolicy);
  if (!FSYNC_POLICIES.includes(fsyncPolicy)) {
    throw argValueError('options.fsyncPolicy', fsyncPolicy, "must be one of 'full', 'normal', 'off'");
  }
  const formatVersion = o.formatVersion === undefined ? 2 : o.formatVersion;
  if (typeof formatVersion !== 'number') throw argTypeError('options.formatVersion', 'of type number', formatVersion);
  if (formatVersion !== 1 && formatVersion !== 2) throw argValueError('options.formatVersion', formatVersion, 'must be 1 or 2');
  const prev = o.prevDurableEpoch;
  return {
    fsyncPolicy,
    formatVersion,
    prevDurableEpoch: prev === undefined || prev === null ? null : checkU64(prev, 'options.prevDurableEpoch'),
    fallbackActive: checkBoolOption(o.fallbackActive, 'options.fallbackActive', false),
  };
}

interface NativeRecoveryOptions {
  skipCorrupt: boolean;
  deleteAfterRecovery: boolean;
  discardTornTail: boolean;
}

function recoveryOptions(options: unknown): NativeRecoveryOptions {
  const o = checkOptions<SegmentRecoveryOptions>(options);
  return {
    skipCorrupt: checkBoolOption(o.skipCorrupt, 'options.skipCorrupt', false),
    deleteAfterRecovery: checkBoolOption(o.deleteAfterRecovery, 'options.deleteAfterRecovery', false),
    discardTornTail: checkBoolOption(o.discardTornTail, 'options.discardTornTail', false),
  };
}

// ---------------------------------------------------------------------------------------------
// turning the addon's flat arrays into records

// Empty images (common: no before-image) share one zero-length Buffer instead of allocating.
const EMPTY_IMAGE = Buffer.alloc(0);

function unpackRecords(packed: NativePackedRecords): WalRecord[] {
  const u32 = new Uint32Array(packed.u32);
  const n = u32.length / 5;
  const out: WalRecord[] = new Array(n);
  if (n === 0) return out;
  const u64 = new BigUint64Array(packed.u64);
  const bytes = Buffer.from(packed.bytes); // a view over the addon's memory, not a copy
  let offset = 0;
  for (let i = 0, a = 0, b = 0; i < n; i++, a += 5, b += 4) {
    const beforeLen = u32[a + 3];
    const afterLen = u32[a + 4];
    const beforeEnd = offset + beforeLen;
    const afterEnd = beforeEnd + afterLen;
    out[i] = {
      txnToken: { id: u64[b], epoch: u32[a] },
      epoch: u64[b + 1],
      pageId: u32[a + 1],
      beginSeq: u64[b + 2],
      endSeq: u32[a + 2] === 1 ? u64[b + 3] : null,
      beforeImage: beforeLen === 0 ? EMPTY_IMAGE : bytes.subarray(offset, beforeEnd),
      afterImage: afterLen === 0 ? EMPTY_IMAGE : bytes.subarray(beforeEnd, afterEnd),
    };
    offset = afterEnd;
  }
  return out;
}

function certificate(c: NativeCertificate | null): ParallelWalCommitCertificate | null {
  // The only ordering residue this design has: the certificate is written, then published.
  return c === null ? null : { ...c, residue: 'commit_certificate_then_publish' };
}

function recoveryResult(r: NativeRecovery["result"]): SegmentRecoveryResult {
  const stoppedEarly = r.stopReason !== null && !(r.tornTail && r.partialSegments.length <= 1);
  return {
    ...r,
    certificates: r.certificates.map((c) => certificate(c)!),
    fallbackReason: stoppedEarly ? 'recovery_gap' : null,
  };
}

function contents(raw: NativeSegmentContents): SegmentContents {
  const h = raw.header;
  return {
    header: new SegmentHeader(h.epoch, h.recordCount, h.version as SegmentFormatVersion),
    records: unpackRecords(raw.records),
    certificate: certificate(raw.certificate),
  };
}

// ---------------------------------------------------------------------------------------------
// the API

/**
 * Path of the segment of `epoch`: `<dir of dbPath>/<db file name>-wal-seg-<epoch, 16 hex digits>`.
 * @example segmentPath('/tmp/mydb.sqlite', 0x123456789abcdef0n) // '/tmp/mydb.sqlite-wal-seg-123456789abcdef0'
 * @throws TypeError `ERR_INVALID_ARG_TYPE` / RangeError naming the argument.
 */
export function segmentPath(dbPath: string | URL, epoch: U64Input): string {
  return native.segmentPath(checkPath(dbPath, 'dbPath'), checkU64(epoch, 'epoch'));
}

/**
 * The segments of `dbPath`, sorted by epoch. Temporaries (segments being written) and foreign
 * names are ignored. A missing directory is an error (`WAL_IO`).
 */
export async function listSegments(dbPath: string | URL): Promise<SegmentEntry[]> {
  return native.listSegments(checkPath(dbPath, 'dbPath'));
}

/** Synchronous {@link listSegments}. */
export function listSegmentsSync(dbPath: string | URL): SegmentEntry[] {
  return native.listSegmentsSync(checkPath(dbPath, 'dbPath'));
}

/**
 * Writes `batch` as the segment of `batch.epoch`, crash-safely: every record is validated and the
 * batch copied before any file is created; the bytes go to a temporary file which is synced per
 * `fsyncPolicy`, renamed to its final name (never replacing an existing segment), and the
 * directory is synced before the promise resolves. Records are stored in replay order
 * (epoch, beginSeq, txnId, pageId).
 *
 * @param batch `{ epoch, records, recordsPerCore, dbSizePages? }`. u64 fields take a bigint or a
 *   safe-integer number.
 * @param options `{ fsyncPolicy = 'full', formatVersion = 2, prevDurableEpoch = null, fallbackActive = false }`
 * @returns the number of bytes written.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` / RangeError `ERR_OUT_OF_RANGE` naming the field (e.g.
 *   `batch.records[3].pageId`); RangeError `ERR_INVALID_ARG_VALUE` for an impossible batch (a
 *   record from another epoch, ...); Error `WAL_IO` (with `errno`) when the OS refuses, e.g.
 *   `EEXIST` when the segment already exists.
 */
export async function writeSegment(dbPath: string | URL, batch: EpochBatch, options?: WriteSegmentOptions): Promise<number> {
  const path = checkPath(dbPath, 'dbPath');
  const result = await native.writeSegment(path, batch, writeOptions(options));
  return result.bytesWritten;
}

/** Synchronous {@link writeSegment} (blocks the thread for the fsyncs). */
export function writeSegmentSync(dbPath: string | URL, batch: EpochBatch, options?: WriteSegmentOptions): number {
  return native.writeSegmentSync(checkPath(dbPath, 'dbPath'), batch, writeOptions(options)).bytesWritten;
}

/**
 * Reads and fully checks one segment file (v1 or v2): header, every record (and, in v2, every
 * record's CRC32C and the certificate), sizes checked against the file before anything is
 * allocated, no trailing bytes.
 * @returns `{ header, records, certificate }`, records in replay order.
 * @throws Error `WAL_CORRUPTION` saying which file, which record and why; `WAL_IO` on I/O errors.
 */
export async function readSegment(path: string | URL): Promise<SegmentContents> {
  return contents(await native.readSegment(checkPath(path, 'path')));
}

/** Synchronous {@link readSegment}. */
export function readSegmentSync(path: string | URL): SegmentContents {
  return contents(native.readSegmentSync(checkPath(path, 'path')));
}

/**
 * Decodes a whole segment image held in memory, with the same checks as {@link readSegment}.
 * @throws Error `WAL_CORRUPTION`; TypeError `ERR_INVALID_ARG_TYPE` if `data` is not bytes.
 */
export function decodeSegment(data: ArrayBufferView | ArrayBuffer): SegmentContents {
  return contents(native.decodeSegmentSync(data));
}

/** Deletes one segment file. @throws Error `WAL_IO` (errno ENOENT if it does not exist). */
export async function deleteSegment(path: string | URL): Promise<void> {
  await native.deleteSegment(checkPath(path, 'path'));
}

/** Synchronous {@link deleteSegment}. */
export function deleteSegmentSync(path: string | URL): void {
  native.deleteSegmentSync(checkPath(path, 'path'));
}

/**
 * Replays the durable prefix of the log of `dbPath`: segments in epoch order, each fully
 * checked; a header epoch that disagrees with the file name is corruption; a v2 certificate
 * whose link skips the previous segment on disk is a gap (`WAL_CORRUPTION`, `reason:
 * 'certificate_gap'`); a last segment that does not decode is a torn tail (reported in
 * `result.tornTail`, not an error). Anything else is an error unless `skipCorrupt`.
 *
 * @param options `{ skipCorrupt = false, deleteAfterRecovery = false, discardTornTail = false }`
 * @returns `{ result, records }`, records in replay order (epoch, beginSeq, txnId, pageId).
 */
export async function recoverSegments(dbPath: string | URL, options?: SegmentRecoveryOptions): Promise<SegmentRecovery> {
  const p = checkPath(dbPath, 'dbPath');
  let raw: NativeRecovery;
  try {
    raw = await native.recoverSegments(p, recoveryOptions(options));
  } catch (e) {
    throw recoveryFailed(p, e);
  }
  return recovered(p, raw);
}

/** Synchronous {@link recoverSegments}. */
export function recoverSegmentsSync(dbPath: string | URL, options?: SegmentRecoveryOptions): SegmentRecovery {
  const p = checkPath(dbPath, 'dbPath');
  let raw: NativeRecovery;
  try {
    raw = native.recoverSegmentsSync(p, recoveryOptions(options));
  } catch (e) {
    throw recoveryFailed(p, e);
  }
  return recovered(p, raw);
}

// A recovery that stopped before the end of the log (skipCorrupt, a bad segment that is not a
// torn tail) has a gap in the durable history it returns: `recovery_gap`.
function recovered(dbPath: string, raw: NativeRecovery): SegmentRecovery {
  const result = recoveryResult(raw.result);
  publishTrace('recovery_finished', () => ({
    mode: 'conservative',
    recoveryEpoch: result.epochs.length > 0 ? result.epochs[result.epochs.length - 1] : null,
    fallbackReason: result.fallbackReason,
    detail: {
      dbPath,
      segmentsRecovered: result.segmentsRecovered,
      recordsApplied: result.recordsApplied,
      tornTail: result.tornTail,
      partialSegments: result.partialSegments,
      stopReason: result.stopReason,
    },
  }));
  return { result, records: unpackRecords(raw.records) };
}

// A strict recovery that throws stops early too: a corruption without a more precise reason
// (certificate_gap, certificate_checksum_mismatch) is a recovery_gap.
function recoveryFailed(dbPath: string, e: unknown): unknown {
  const err = e as CodedError & { reason?: string };
  if (typeof err === 'object' && err !== null && err.code === 'WAL_CORRUPTION' && err.reason === undefined) {
    err.reason = 'recovery_gap';
  }
  const reason = typeof err === 'object' && err !== null && typeof err.reason === 'string' ? reasonFromName(err.reason) : null;
  publishTrace('recovery_finished', () => ({
    mode: 'conservative',
    fallbackReason: reason,
    detail: { dbPath, error: (err as Error)?.message, code: err?.code },
  }));
  return e;
}

function checkPages(pages: unknown): Map<number, Buffer> {
  if (!(pages instanceof Map)) throw argTypeError('pages', 'an instance of Map', pages);
  return pages as Map<number, Buffer>;
}

// Last writer in replay order wins; an empty after-image changes nothing (as in the seed). The
// winning images are copied so the map does not pin the whole recovery buffer.
function applyRecords(pages: Map<number, Buffer>, records: readonly WalRecord[]): void {
  const latest = new Map<number, Buffer>();
  for (const record of records) {
    if (record.afterImage.length !== 0) latest.set(record.pageId, record.afterImage);
  }
  for (const [pageId, image] of latest) pages.set(pageId, Buffer.from(image));
}

/**
 * {@link recoverSegments}, then applies every recovered after-image to `pages` (page id ->
 * contents): the last writer in replay order wins; an empty after-image is a no-op.
 * @returns the recovery report.
 */
export async function recoverAndApplySegments(
  dbPath: string | URL,
  pages: Map<number, Buffer>,
  options?: SegmentRecoveryOptions,
): Promise<SegmentRecoveryResult> {
  checkPages(pages);
  const { result, records } = await recoverSegments(dbPath, options);
  applyRecords(pages, records);
  return result;
}

/** Synchronous {@link recoverAndApplySegments}. */
export function recoverAndApplySegmentsSync(
  dbPath: string | URL,
  pages: Map<number, Buffer>,
  options?: SegmentRecoveryOptions,
): SegmentRecoveryResult {
  checkPages(pages);
  const { result, records } = recoverSegmentsSync(dbPath, options);
  applyRecords(pages, records);
  return result;
}

/** Largest epoch with a segment on disk, or `undefined` when there is none. */
export async function maxDurableEpoch(dbPath: string | URL): Promise<bigint | undefined> {
  return native.maxDurableEpoch(checkPath(dbPath, 'dbPath'));
}

/** Synchronous {@link maxDurableEpoch}. */
export function maxDurableEpochSync(dbPath: string | URL): bigint | undefined {
  return native.maxDurableEpochSync(checkPath(dbPath, 'dbPath'));
}

/** Deletes every segment of `dbPath` (and leftover temporaries). @returns the segments deleted. */
export async function cleanupSegments(dbPath: string | URL): Promise<number> {
  return native.cleanupSegments(checkPath(dbPath, 'dbPath'));
}

/** Synchronous {@link cleanupSegments}. */
export function cleanupSegmentsSync(dbPath: string | URL): number {
  return native.cleanupSegmentsSync(checkPath(dbPath, 'dbPath'));
}

/**
 * Iterates the durable records of `dbPath` in replay order, reading one segment at a time (only
 * one segment's records are in memory), for logs larger than memory. Applies the same rules as
 * {@link recoverSegments}: the same records come out, the same errors are thrown, and a torn tail
 * ends the iteration without an error. The generator's return value (seen by a manual `next()`
 * loop) is a {@link SegmentIterationSummary}.
 *
 * The directory is listed once, when iteration starts.
 * @param options `{ skipCorrupt = false }`
 */
export async function* iterateSegmentRecords(
  dbPath: string | URL,
  options?: IterateSegmentOptions,
): AsyncGenerator<WalRecord, SegmentIterationSummary, undefined> {
  const path = checkPath(dbPath, 'dbPath');
  const o = checkOptions<IterateSegmentOptions>(options);
  const skipCorrupt = checkBoolOption(o.skipCorrupt, 'options.skipCorrupt', false);
  const segments = await native.listSegments(path);
  const summary: SegmentIterationSummary = {
    segmentsRecovered: 0,
    recordsApplied: 0,
    epochs: [],
    partialSegments: [],
    tornTail: false,
    stopReason: null,
  };
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    let raw: NativeSegmentContents | undefined;
    let failure: CodedError | undefined;
    let undecodable = false;
    try {
      raw = await native.readSegment(seg.path);
    } catch (e) {
      if ((e as CodedError).code !== 'WAL_CORRUPTION') throw e;
      failure = e as CodedError;
      undecodable = true;
    }
    if (raw && raw.header.epoch !== seg.epoch) {
      failure = walError(`segment ${seg.path} has mismatched epoch: header=${raw.header.epoch}, filename=${seg.epoch}`);
    } else if (raw && i > 0 && raw.certificate && raw.certificate.durableSegmentEpoch !== null) {
      const prev = raw.certificate.durableSegmentEpoch;
      const onDisk = segments[i - 1].epoch;
      if (prev !== onDisk) {
        failure = walError(
          `segment ${seg.path} (epoch ${seg.epoch}) certifies that the previous durable segment is epoch ${prev}, ` +
            `but the previous segment on disk is epoch ${onDisk}: ` +
            (prev > onDisk ? 'a segment is missing' : 'an uncertified segment is in the chain'),
          'WAL_CORRUPTION',
          { walStatus: 'CertificateGap', reason: 'certificate_gap' },
        );
      }
    }
    if (failure) {
      if (undecodable && i + 1 === segments.length) {
        summary.tornTail = true;
        summary.partialSegments.push(seg.path);
        summary.stopReason = `torn tail: ${failure.message}`;
        break;
      }
      if (!skipCorrupt) throw failure;
      for (let k = i; k < segments.length; k++) summary.partialSegments.push(segments[k].path);
      summary.stopReason = failure.message;
      break;
    }
    const records = unpackRecords(raw!.records);
    raw = undefined;
    summary.segmentsRecovered += 1;
    summary.recordsApplied += records.length;
    summary.epochs.push(seg.epoch);
    yield* records;
  }
  return summary;
}
