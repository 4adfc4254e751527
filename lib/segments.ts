// Segment files: one durable file per non-empty epoch, "<db file name>-wal-seg-<epoch as 16 hex
// digits>" beside the db path. Writing, reading, listing, recovery and cleanup run in the native
// core (native/core/segment*.cc); the promise-returning functions do their file work on the
// libuv thread pool, and each has a `...Sync` twin for start-up code.
//
// Byte layouts: docs/format.md. Recovery rules: docs/durability.md.
import { native } from './native';
import { packBatch } from './segment-pack';
import type { NativeCertificate, NativeRecovery, NativeSegmentContents } from './native';
import { SegmentRecordColumns, unpackRecords } from './segment-records';
import { SegmentHeader } from './segment-header';
import { publishTrace, reasonFromName } from './trace';
import type {
  EpochBatch,
  FsyncPolicy,
  IterateSegmentOptions,
  ParallelWalCommitCertificate,
  PrepareSegmentsOptions,
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
  /**
   * Only for a log file (several epochs in one file, as `ParallelWal` writes them; see
   * docs/format.md): every good frame in file order. `header` and `certificate` above are the
   * first frame's; `records` holds the records of every frame listed here.
   */
  frames?: SegmentFrame[];
  /**
   * Only for a log file: where its frames stop before the end of the file, and why (a frame
   * torn by a crash, or damage); `null` when the file ends cleanly.
   */
  damage?: SegmentFrameDamage | null;
}

/** One epoch of a log file. */
export interface SegmentFrame {
  header: SegmentHeader;
  certificate: ParallelWalCommitCertificate;
  recordCount: number;
  /** Byte offset of the frame in the file (a multiple of 4096). */
  offset: number;
}

/** Where a log file's frames stop early. */
export interface SegmentFrameDamage {
  /** Byte offset of the first slot that is neither a valid frame nor the zero end. */
  offset: number;
  message: string;
  /** A whole valid frame of a later epoch follows the damage: it cannot be a torn tail. */
  frameAfterDamage: boolean;
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

export { SegmentRecordColumns };

/** What {@link recoverSegmentsColumnar} returns. */
export interface SegmentRecoveryColumnar {
  result: SegmentRecoveryResult;
  records: SegmentRecordColumns;
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

/**
 * The frames of a log file that count, and the damage that still matters, given the first epoch
 * of the next file on disk (null: it is the newest): frames of an epoch that file starts at were
 * a failed attempt rewritten there, and with them goes whatever damage followed them
 * (docs/durability.md, "Log files"). Shared by the record iterator and `pwal verify`.
 * @internal
 */
export function liveFrames<F extends { header: { epoch: bigint } }, D>(
  frames: F[],
  damage: D | null,
  nextEpoch: bigint | null,
): { frames: F[]; damage: D | null } {
  if (nextEpoch === null) return { frames, damage };
  const kept = frames.filter((f) => f.header.epoch < nextEpoch);
  return kept.length < frames.length ? { frames: kept, damage: null } : { frames, damage };
}

function contents(raw: NativeSegmentContents): SegmentContents {
  const h = raw.header;
  const out: SegmentContents = {
    header: new SegmentHeader(h.epoch, h.recordCount, h.version as SegmentFormatVersion),
    records: unpackRecords(raw.records),
    certificate: certificate(raw.certificate),
  };
  if (raw.frames !== undefined) {
    out.frames = raw.frames.map((f) => ({
      header: new SegmentHeader(f.header.epoch, f.header.recordCount, f.header.version as SegmentFormatVersion),
      certificate: certificate(f.certificate)!,
      recordCount: f.recordCount,
      offset: f.offset,
    }));
    out.damage = raw.damage ?? null;
  }
  return out;
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
  const opts = writeOptions(options);
  const packed = isObjectLike(batch) ? packBatch(batch.records) : undefined;
  return packed
    ? native.writeSegmentPacked(path, batch.epoch, packed.fields, packed.images, batch.recordsPerCore, batch.dbSizePages, opts)
    : native.writeSegment(path, batch, opts);
}

/** Synchronous {@link writeSegment} (blocks the thread for the fsyncs). */
export function writeSegmentSync(dbPath: string | URL, batch: EpochBatch, options?: WriteSegmentOptions): number {
  const path = checkPath(dbPath, 'dbPath');
  const opts = writeOptions(options);
  const packed = isObjectLike(batch) ? packBatch(batch.records) : undefined;
  return packed
    ? native.writeSegmentPackedSync(path, batch.epoch, packed.fields, packed.images, batch.recordsPerCore, batch.dbSizePages, opts)
    : native.writeSegmentSync(path, batch, opts);
}

interface PrepareArgs {
  firstEpoch: bigint;
  count: number;
  sizeBytes: number;
  fsyncPolicy: FsyncPolicy;
}

function prepareArgs(options: unknown): PrepareArgs {
  if (options === undefined || options === null) throw argTypeError('options', 'of type object', options);
  const o = checkOptions<PrepareSegmentsOptions>(options);
  const count = o.count;
  if (typeof count !== 'number') throw argTypeError('options.count', 'of type number', count);
  if (!Number.isInteger(count) || count < 1 || count > 4096) throw argValueError('options.count', count, 'must be an integer from 1 to 4096');
  const sizeBytes = o.sizeBytes === undefined ? 4096 : o.sizeBytes;
  if (typeof sizeBytes !== 'number') throw argTypeError('options.sizeBytes', 'of type number', sizeBytes);
  if (!Number.isInteger(sizeBytes) || sizeBytes < 24 || sizeBytes > 1048576) {
    throw argValueError('options.sizeBytes', sizeBytes, 'must be an integer from 24 to 1048576');
  }
  const firstEpoch = checkU64(o.firstEpoch, 'options.firstEpoch');
  if (firstEpoch + BigInt(count) - 1n > (1n << 64n) - 1n) {
    throw argValueError('options.count', count, `runs past the largest epoch from options.firstEpoch ${firstEpoch}`);
  }
  return { firstEpoch, count, sizeBytes, fsyncPolicy: writeOptions({ fsyncPolicy: o.fsyncPolicy }).fsyncPolicy };
}

/**
 * Makes segment files ahead of time for the epochs `firstEpoch .. firstEpoch + count - 1` that
 * have no file yet: each is written full of zeros, synced per `fsyncPolicy`, given its final
 * name, and the directory is synced once for all of them. A later {@link writeSegment} of such
 * an epoch writes in place: one write and one data sync, no new inode and no directory sync,
 * which for a small epoch is close to the cost of one append+fdatasync.
 *
 * An unwritten prepared file is not a segment: {@link listSegments}, {@link maxDurableEpoch} and
 * recovery ignore the ones after the last segment. One that stays unwritten between two segments
 * is skipped by recovery only if the segment after it links past it (`prevDurableEpoch`);
 * otherwise delete the files you will not use ({@link deleteSegment}, {@link cleanupSegments}).
 * See docs/durability.md, "Prepared segment files".
 *
 * @returns the number of files made (epochs that already had a file are left alone).
 * @throws TypeError / RangeError naming the bad option; Error `WAL_IO` when the OS refuses;
 *   `WAL_LOCKED` while a {@link ParallelWal} is open on `dbPath` (it prepares its own files).
 */
export async function prepareSegments(dbPath: string | URL, options: PrepareSegmentsOptions): Promise<number> {
  const path = checkPath(dbPath, 'dbPath');
  const a = prepareArgs(options);
  return native.prepareSegments(path, a.firstEpoch, a.count, a.sizeBytes, { fsyncPolicy: a.fsyncPolicy });
}

/** Synchronous {@link prepareSegments}. */
export function prepareSegmentsSync(dbPath: string | URL, options: PrepareSegmentsOptions): number {
  const path = checkPath(dbPath, 'dbPath');
  const a = prepareArgs(options);
  return native.prepareSegmentsSync(path, a.firstEpoch, a.count, a.sizeBytes, { fsyncPolicy: a.fsyncPolicy });
}

function isObjectLike(v: unknown): v is EpochBatch {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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

/**
 * {@link recoverSegments} with the records as columns ({@link SegmentRecordColumns}) instead of
 * one object per record: the same rules, the same result, the same records in the same order.
 * Building millions of record objects (each with bigints and a Buffer) is bound by the garbage
 * collector; use this when recovering large logs where only some fields or images are needed.
 */
export async function recoverSegmentsColumnar(dbPath: string | URL, options?: SegmentRecoveryOptions): Promise<SegmentRecoveryColumnar> {
  const raw = await native.recoverSegments(checkPath(dbPath, 'dbPath'), recoveryOptions(options));
  return { result: recoveryResult(raw.result), records: new SegmentRecordColumns(raw.records) };
}

/** Synchronous {@link recoverSegmentsColumnar}. */
export function recoverSegmentsColumnarSync(dbPath: string | URL, options?: SegmentRecoveryOptions): SegmentRecoveryColumnar {
  const raw = native.recoverSegmentsSync(checkPath(dbPath, 'dbPath'), recoveryOptions(options));
  return { result: recoveryResult(raw.result), records: new SegmentRecordColumns(raw.records) };
}

function checkPages(pages: unknown): Map<number, Buffer> {
  if (!(pages instanceof Map)) throw argTypeError('pages', 'an instance of Map', pages);
  return pages as Map<number, Buffer>;
}

// Last writer in replay order wins; an empty after-image changes nothing (as in the seed). The
// winning images are copied so the map does not pin the segment buffers. Works on columns: no
// record object or image view is made for a record that loses.
function applyRecords(pages: Map<number, Buffer>, records: SegmentRecordColumns): void {
  const latest = new Map<number, number>();
  for (let i = 0; i < records.length; i++) {
    if (records.afterImageLength(i) !== 0) latest.set(records.pageId[i], i);
  }
  for (const [pageId, i] of latest) pages.set(pageId, Buffer.from(records.afterImage(i)));
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
  const { result, records } = await recoverSegmentsColumnar(dbPath, options);
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
  const { result, records } = recoverSegmentsColumnarSync(dbPath, options);
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
 * Iterates the durable records of `dbPath` in replay order, for logs larger than memory: one
 * segment's records at a time, while the next segment file is read and decoded off the event
 * loop (at most two files' bytes in memory). Applies the same rules as
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
  let prevEpoch: bigint | null = null; // the previous segment applied (skipped files do not count)
  let skippedUnwritten = false; // an unwritten prepared file since the previous segment
  // The next file is read (on the thread pool) while this one's records are yielded. Its
  // promise never rejects, so a read nobody awaits (the caller stopped early) reports nothing.
  type Read = { ok: true; raw: NativeSegmentContents } | { ok: false; error: unknown };
  const read = (i: number): Promise<Read> =>
    native.readSegment(segments[i].path).then(
      (raw): Read => ({ ok: true, raw }),
      (error: unknown): Read => ({ ok: false, error }),
    );
  let ahead = segments.length > 0 ? read(0) : undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const got = await ahead!;
    ahead = i + 1 < segments.length ? read(i + 1) : undefined;
    let raw: NativeSegmentContents | undefined = got.ok ? got.raw : undefined;
    let failure: CodedError | undefined;
    let undecodable = false;
    if (!got.ok) {
      const e = got.error;
      if ((e as CodedError).code !== 'WAL_CORRUPTION') throw e;
      // An unwritten prepared file (never published: nothing acknowledged in it) is not a
      // segment; one before the last is skipped, as recovery does.
      if (i + 1 < segments.length && (await native.isUnwrittenSegmentFile(seg.path))) {
        skippedUnwritten = true;
        continue;
      }
      failure = e as CodedError;
      undecodable = true;
    }
    const cert = raw?.certificate ?? null;
    if (raw && skippedUnwritten && prevEpoch !== null && !(cert !== null && cert.durableSegmentEpoch === prevEpoch)) {
      failure = walError(
        `segment ${seg.path} follows an unwritten segment file and does not certify that the previous durable segment is epoch ${prevEpoch}`,
        'WAL_CORRUPTION',
        { walStatus: 'CertificateGap', reason: 'certificate_gap' },
      );
    } else if (raw && raw.header.epoch !== seg.epoch) {
      failure = walError(`segment ${seg.path} has mismatched epoch: header=${raw.header.epoch}, filename=${seg.epoch}`);
    } else if (raw && prevEpoch !== null && cert !== null && cert.durableSegmentEpoch !== null && cert.durableSegmentEpoch !== prevEpoch) {
      const prev = cert.durableSegmentEpoch;
      failure = walError(
        `segment ${seg.path} (epoch ${seg.epoch}) certifies that the previous durable segment is epoch ${prev}, ` +
          `but the previous segment on disk is epoch ${prevEpoch}: ` +
          (prev > prevEpoch ? 'a segment is missing' : 'an uncertified segment is in the chain'),
        'WAL_CORRUPTION',
        { walStatus: 'CertificateGap', reason: 'certificate_gap' },
      );
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
    skippedUnwritten = false;
    if (raw!.frames === undefined) {
      prevEpoch = seg.epoch;
      const records = unpackRecords(raw!.records);
      raw = undefined;
      summary.segmentsRecovered += 1;
      summary.recordsApplied += records.length;
      summary.epochs.push(seg.epoch);
      for (const r of records) yield r;
      continue;
    }
    // A log file: its frames (chained by the addon), the same rules as recoverSegments.
    const { frames, damage } = liveFrames(raw!.frames, raw!.damage ?? null, i + 1 < segments.length ? segments[i + 1].epoch : null);
    const all = unpackRecords(raw!.records);
    raw = undefined;
    let at = 0;
    for (const f of frames) {
      const records = all.slice(at, at + f.recordCount);
      at += f.recordCount;
      prevEpoch = f.header.epoch;
      summary.segmentsRecovered += 1;
      summary.recordsApplied += records.length;
      summary.epochs.push(f.header.epoch);
      for (const r of records) yield r;
    }
    if (damage !== null) {
      const where = `log file ${seg.path}: ${damage.message}`;
      if (damage.frameAfterDamage) {
        const bad = walError(`${where} (a whole later frame follows the damage)`);
        if (!skipCorrupt) throw bad;
        for (let k = i; k < segments.length; k++) summary.partialSegments.push(segments[k].path);
        summary.stopReason = bad.message;
        break;
      }
      if (i + 1 === segments.length) {
        summary.tornTail = true;
        summary.partialSegments.push(seg.path);
        summary.stopReason = `torn tail: ${where}`;
        break;
      }
      // Before a later file: that file must certify the last good frame (checked next round).
    }
  }
  return summary;
}
