// Loads the addon once per environment (main thread or worker): a matching prebuild from
// prebuilds/, else the local build/Release. Every other module reaches native code through here.
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');

import { setDefaultLaneIdProvider } from './lane-stager';
import type { FsyncPolicy, ParallelWalCommitCertificate } from './segment-types';

/** One frame as the addon reads it (validated natively, errors name `batch.frames[i].<field>`). */
export interface NativeFrame {
  pageNumber: unknown;
  pageData: unknown;
  dbSizeIfCommit?: unknown;
}

/**
 * Event kinds delivered by a WAL handle's thread-safe function, at most once per epoch
 * transition (coalesced: a later event supersedes an undelivered earlier one).
 */
export type NativeWalEvent = 0 | 1 | 2 | 3;
/** `epoch` is the new durable epoch. */
export const EVENT_DURABLE = 0;
/** Flushing `epoch` failed for good; `code`/`message`/`errno` describe the cause. */
export const EVENT_FAILED = 1;
/** The shared WAL was closed (by its last handle or a removal): `epoch` is the final durable epoch. */
export const EVENT_CLOSED = 2;
/** Packed epoch items for trace/decision records (only while tracing): `epoch` = items dropped. */
export const EVENT_TRACE = 3;

/** Callback of a WAL handle, called on the JS thread that opened it. */
export type NativeWalListener = (
  kind: NativeWalEvent,
  epoch: number,
  code?: string,
  message?: string,
  errno?: number,
  items?: ArrayBuffer,
) => void;

/** Options passed to the native constructor (already validated in TypeScript). */
export interface NativeWalOptions {
  slotCount: number;
  bufferCapacityBytes: number;
  overflowPolicy: string;
  epochIntervalMs: number;
  flushPolicy: string;
  maxFlushDelayMs: number;
  fsyncPolicy: string;
  formatVersion: number;
  /** Start the flusher thread when this open creates the shared WAL. */
  startFlusher: boolean;
  control: { mode: string; laneCount: number; maxParallelCommitBytes: number; shadowPerMille: number };
  /** Microseconds (Wal::HoldSealForTurn). */
  turnHoldUs: number;
  faultInjection?: { op: string; errno: string; after: number; persistent: boolean };
}

/** Counters of the shared native WAL (see ParallelWalStats for the public shape). */
export interface NativeWalStats {
  [name: string]: unknown;
}

/** A handle on the process-wide native WAL of one path (one per environment and open). */
export interface NativeWalHandle {
  /** Single-frame fast path; returns the epoch the records were appended to. */
  submitOne(
    txnId: unknown,
    txnEpoch: unknown,
    commitSeq: unknown,
    pageNumber: unknown,
    pageData: unknown,
    dbSizeIfCommit: unknown,
  ): number;
  submit(txnId: unknown, txnEpoch: unknown, commitSeq: unknown, frames: readonly unknown[]): number;
  /**
   * Binds `scratch` (id, txn epoch, commitSeq, pageNumber, dbSizeIfCommit) and returns
   * submitScratch(pageData): submitOne with those numbers, as a plain function bound to this
   * handle (no `this`; a call after the handle is gone throws WAL_CLOSED).
   */
  bindScratch(scratch: Float64Array): (pageData: unknown) => number;
  currentEpoch(): number;
  /** -1 when no epoch is durable yet. */
  durableEpoch(): number;
  threadSlot(): number;
  start(fsyncPolicy: string): void;
  stop(): void;
  isRunning(): boolean;
  /** Seals the current epoch and flushes everything sealed; resolves with the new epoch. */
  advanceAndFlush(timeoutMs: number): Promise<number>;
  /** Deletes the oldest files wholly <= epoch; [filesDeleted, bytesFreed, firstRetainedEpoch (-1: none)]. */
  checkpoint(epoch: number): Promise<[number, number, number]>;
  /** Refs (true) or unrefs the handle's thread-safe function; returns the durable epoch (-1: none). */
  setWaiting(waiting: boolean): number;
  /** A JS waiter exists for `epoch`: report the next transition (and seal it if still open). */
  requestFlush(epoch?: number): void;
  /** The turn that followed a durable event is over: the flusher may seal (Wal::EndTurn). */
  endTurn(): void;
  isFailed(): boolean;
  /** The fatal failure: [failedEpoch, code, message, errno], or undefined. */
  failure(): [number, string, string, number] | undefined;
  /** Releases this handle (idempotent). The shared WAL closes with its last handle. */
  close(abort: boolean): void;
  stats(): NativeWalStats;
  /** Sets the configured mode; returns the fallback reason active before ('none' if none). */
  setMode(mode: string): string;
  /** [mode, fallbackReason ('none' if none), routing lane count] */
  controlState(): [string, string, number];
  /** Queue epoch items for EVENT_TRACE delivery (on) or not (off). */
  setTracing(on: boolean, capacity: number): void;
}

/** The raw addon surface. Internal: the public API wraps and validates it. */
export interface NativeBinding {
  NativeWal: new (dbPath: string, options: NativeWalOptions, listener: NativeWalListener) => NativeWalHandle;
  /** Signed int32 result (callers apply `>>> 0`). */
  crc32c(data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  /** Fast entry for Uint8Array/Buffer only; signed int32 result. */
  crc32cU8(data: Uint8Array, initial?: number): number;
  crc32cWith(impl: string, data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  crc32cImplementation(): string;
  crc32cImplementations(): string[];
  /** The calling thread's slot (process-wide counter on first use) modulo `count`. */
  threadSlot(count: number): number;
  /** Test only: the next thread asking for its first slot gets counter value 0 again. */
  __resetThreadSlotCounterForTesting(): void;

  // ---- segments (native/binding/segment_binding.cc); u64 out as bigint ----
  segmentPath(dbPath: string, epoch: bigint | number): string;
  writeSegment(dbPath: string, batch: unknown, options?: unknown): Promise<NativeWriteResult>;
  writeSegmentSync(dbPath: string, batch: unknown, options?: unknown): NativeWriteResult;
  /** The packed form of a well-formed batch (lib/segment-pack.ts). */
  writeSegmentPacked(dbPath: string, epoch: unknown, fields: Float64Array, images: (ArrayBufferView | null)[], recordsPerCore: unknown, dbSizePages: unknown, options?: unknown): Promise<NativeWriteResult>;
  writeSegmentPackedSync(dbPath: string, epoch: unknown, fields: Float64Array, images: (ArrayBufferView | null)[], recordsPerCore: unknown, dbSizePages: unknown, options?: unknown): NativeWriteResult;
  readSegment(path: string): Promise<NativeSegmentContents>;
  readSegmentSync(path: string): NativeSegmentContents;
  decodeSegmentSync(data: ArrayBufferView | ArrayBuffer): NativeSegmentContents;
  listSegments(dbPath: string): Promise<NativeSegmentEntry[]>;
  listSegmentsSync(dbPath: string): NativeSegmentEntry[];
  deleteSegment(path: string): Promise<void>;
  deleteSegmentSync(path: string): void;
  /** The readers' rule: a file with a segment name that is a prepared file never published. */
  isUnwrittenSegmentFile(path: string): Promise<boolean>;
  isUnwrittenSegmentFileSync(path: string): boolean;
  recoverSegments(dbPath: string, options?: unknown): Promise<NativeRecovery>;
  recoverSegmentsSync(dbPath: string, options?: unknown): NativeRecovery;
  maxDurableEpoch(dbPath: string): Promise<bigint | undefined>;
  maxDurableEpochSync(dbPath: string): bigint | undefined;
  cleanupSegments(dbPath: string): Promise<number>;
  cleanupSegmentsSync(dbPath: string): number;
  prepareSegments(dbPath: string, firstEpoch: bigint, count: number, sizeBytes: number, options: { fsyncPolicy: FsyncPolicy }): Promise<number>;
  prepareSegmentsSync(dbPath: string, firstEpoch: bigint, count: number, sizeBytes: number, options: { fsyncPolicy: FsyncPolicy }): number;
  [name: string]: unknown;
}

/**
 * Records as the addon returns them, zero-copy (native/binding/segment_convert.h): per segment,
 * the file's bytes and its array of 72-byte RecordView descriptors (native byte order: u64
 * txnId@0, beginSeq@16, endSeq@24, beforeOffset@32, afterOffset@40; u32 beforeLen@48,
 * afterLen@52, txnEpoch@56, pageId@60; u8 hasEndSeq@64). Every record of a segment has the
 * segment's epoch; image offsets point into `bytes`.
 */
export interface NativePackedSegment {
  bytes: ArrayBuffer;
  views: ArrayBuffer;
  epoch: bigint;
  count: number;
}

export interface NativePackedRecords {
  segments: NativePackedSegment[];
}

/** The certificate object built by the addon: the public one without the constant `residue`. */
export type NativeCertificate = Omit<ParallelWalCommitCertificate, 'residue'>;

/** Bytes written (the segment's size on disk). */
export type NativeWriteResult = number;

export interface NativeSegmentContents {
  header: { version: number; epoch: bigint; recordCount: number };
  certificate: NativeCertificate | null;
  records: NativePackedRecords;
  /** A log file only: its good frames, and what ends them early. */
  frames?: { header: { version: number; epoch: bigint; recordCount: number }; certificate: NativeCertificate; recordCount: number; offset: number }[];
  damage?: { offset: number; message: string; frameAfterDamage: boolean } | null;
}

export interface NativeSegmentEntry {
  epoch: bigint;
  path: string;
}

export interface NativeRecovery {
  result: {
    segmentsRecovered: number;
    recordsApplied: number;
    bytesRead: number;
    epochs: bigint[];
    partialSegments: string[];
    tornTail: boolean;
    stopReason: string | null;
    certificates: NativeCertificate[];
  };
  records: NativePackedRecords;
}

const packageRoot = path.join(__dirname, '..');

/** Absolute path of the `.node` file that was loaded. */
export const nativeAddonPath: string = nodeGypBuild.path(packageRoot);

export const native: NativeBinding = nodeGypBuild(packageRoot);

// The lane stager's default lane of the calling thread: the native thread slot.
setDefaultLaneIdProvider((count) => native.threadSlot(count));
