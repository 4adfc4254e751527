// parallel-wal: the public entry point. Each concept lives in its own module.
export { crc32c, crc32cImplementation, crc32cImplementations, crc32cWith } from './crc32c';
export type { Crc32cImplementation, Crc32cInput } from './crc32c';
export { nativeAddonPath } from './native';
export {
  PARALLEL_WAL_DECISION_CHANNEL,
  PARALLEL_WAL_FLUSH_POLICY_VERSION,
  PARALLEL_WAL_TRACE_CHANNEL,
  PARALLEL_WAL_TRACE_COMPONENT,
} from './trace';
export type { ParallelWalLatencySummary, ParallelWalStats } from './wal-stats';
export { __resetThreadSlotCounterForTesting, threadSlot } from './thread-slot';
export * from './control';
export { ParallelWalLaneStager } from './lane-stager';
export type { LaneIdProvider, ParallelWalLaneBatch, ParallelWalLaneStagerOptions, TransactionFrameBatchContext } from './lane-stager';
export type {
  ParallelWalDecisionAction,
  ParallelWalDecisionRecord,
  ParallelWalTraceEvent,
  ParallelWalTraceRecord,
} from './records';
export {
  cleanupSegments,
  cleanupSegmentsSync,
  decodeSegment,
  deleteSegment,
  deleteSegmentSync,
  iterateSegmentRecords,
  listSegments,
  listSegmentsSync,
  maxDurableEpoch,
  maxDurableEpochSync,
  prepareSegments,
  prepareSegmentsSync,
  readSegment,
  readSegmentSync,
  recoverAndApplySegments,
  recoverAndApplySegmentsSync,
  recoverSegments,
  recoverSegmentsColumnar,
  recoverSegmentsColumnarSync,
  recoverSegmentsSync,
  segmentPath,
  SegmentRecordColumns,
  writeSegment,
  writeSegmentSync,
} from './segments';
export type { SegmentContents, SegmentFrame, SegmentFrameDamage, SegmentRecovery, SegmentRecoveryColumnar } from './segments';
export { SegmentHeader, SEGMENT_HEADER_SIZE, SEGMENT_MAGIC } from './segment-header';
export type {
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
  TxnToken,
  TxnTokenInput,
  U64Input,
  WalRecord,
  WalRecordInput,
  WriteSegmentOptions,
} from './segment-types';
export type { CodedError } from './segment-validate';
export {
  ParallelWal,
  ParallelWalCoordinator,
  parallelWalCoordinatorForPath,
  removeParallelWalCoordinator,
} from './wal';
export type {
  AdvanceAndFlushOptions,
  ParallelWalCheckpointResult,
  CloseOptions,
  OpenOptions,
  ParallelWalBatch,
  ParallelWalFrame,
  StartOptions,
  WalTxnToken,
  WaitOptions,
} from './wal';
export { DEFAULT_WAL_OPTIONS, resolveWalOptions } from './options';
export type { FaultInjection, FlushPolicy, FormatVersion, LogFileFill, OverflowPolicy, ParallelWalOptions, ResolvedWalOptions } from './options';
export { WalError, isWalError } from './errors';
export type { WalErrorCode } from './errors';
