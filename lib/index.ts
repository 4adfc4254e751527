// parallel-wal: the public entry point. Each concept lives in its own module.
export { crc32c, crc32cImplementation, crc32cImplementations, crc32cWith } from './crc32c';
export type { Crc32cImplementation, Crc32cInput } from './crc32c';
export { nativeAddonPath } from './native';
export * from './control';
export { ParallelWalLaneStager } from './lane-stager';
export type { LaneIdProvider, ParallelWalLaneBatch, ParallelWalLaneStagerOptions, TransactionFrameBatchContext } from './lane-stager';
export type {
  ParallelWalCommitCertificate,
  ParallelWalDecisionAction,
  ParallelWalDecisionRecord,
  ParallelWalTraceEvent,
  ParallelWalTraceRecord,
} from './records';
