// Loads the addon once per environment (main thread or worker): a matching prebuild from
// prebuilds/, else the local build/Release. Every other module reaches native code through here.
import * as path from 'node:path';
import nodeGypBuild = require('node-gyp-build');

/** The raw addon surface. Internal: the public API wraps and validates it. */
export interface NativeBinding {
  crc32c(data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  crc32cWith(impl: string, data: ArrayBufferView | ArrayBuffer, initial?: number): number;
  crc32cImplementation(): string;
  crc32cImplementations(): string[];

  // ---- segments (native/binding/segment_binding.cc); u64 out as bigint ----
  segmentPath(dbPath: string, epoch: bigint | number): string;
  writeSegment(dbPath: string, batch: unknown, options?: unknown): Promise<NativeWriteResult>;
  writeSegmentSync(dbPath: string, batch: unknown, options?: unknown): NativeWriteResult;
  readSegment(path: string): Promise<NativeSegmentContents>;
  readSegmentSync(path: string): NativeSegmentContents;
  decodeSegmentSync(data: ArrayBufferView | ArrayBuffer): NativeSegmentContents;
  listSegments(dbPath: string): Promise<NativeSegmentEntry[]>;
  listSegmentsSync(dbPath: string): NativeSegmentEntry[];
  deleteSegment(path: string): Promise<void>;
  deleteSegmentSync(path: string): void;
  recoverSegments(dbPath: string, options?: unknown): Promise<NativeRecovery>;
  recoverSegmentsSync(dbPath: string, options?: unknown): NativeRecovery;
  maxDurableEpoch(dbPath: string): Promise<bigint | undefined>;
  maxDurableEpochSync(dbPath: string): bigint | undefined;
  cleanupSegments(dbPath: string): Promise<number>;
  cleanupSegmentsSync(dbPath: string): number;
  [name: string]: unknown;
}

/**
 * Records as the addon returns them: flat arrays, turned into objects in JS.
 * Per record i: u64[4i..4i+4] = txnId, epoch, beginSeq, endSeq; u32[5i..5i+5] = txnEpoch,
 * pageId, hasEndSeq, beforeLen, afterLen; images back to back in `bytes`, in record order.
 */
export interface NativePackedRecords {
  u64: ArrayBuffer;
  u32: ArrayBuffer;
  bytes: ArrayBuffer;
}

/** The certificate object built by the addon (same shape as ParallelWalCommitCertificate). */
export interface NativeCertificate {
  formatVersion: number;
  certificateEpoch: bigint;
  commitSeqLo: bigint;
  commitSeqHi: bigint;
  durableSegmentEpoch: bigint | null;
  laneCount: number;
  laneRecordCounts: number[];
  dbSizePages: number;
  pageSetSize: number;
  certificateCrc32c: number;
  fallbackActive: boolean;
}

export interface NativeWriteResult {
  bytesWritten: number;
  path: string;
  certificate: NativeCertificate | null;
}

export interface NativeSegmentContents {
  header: { version: number; epoch: bigint; recordCount: number };
  certificate: NativeCertificate | null;
  records: NativePackedRecords;
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
