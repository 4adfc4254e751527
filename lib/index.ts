// parallel-wal: the public entry point. Each concept lives in its own module.
export { crc32c, crc32cImplementation, crc32cImplementations, crc32cWith } from './crc32c';
export type { Crc32cImplementation, Crc32cInput } from './crc32c';
export { nativeAddonPath } from './native';
export {
  ParallelWal,
  ParallelWalCoordinator,
  parallelWalCoordinatorForPath,
  removeParallelWalCoordinator,
} from './wal';
export type {
  AdvanceAndFlushOptions,
  CloseOptions,
  OpenOptions,
  ParallelWalBatch,
  ParallelWalFrame,
  StartOptions,
  TxnToken,
  WaitOptions,
} from './wal';
export { DEFAULT_WAL_OPTIONS, resolveWalOptions } from './options';
export type { FlushPolicy, FormatVersion, FsyncPolicy, OverflowPolicy, ParallelWalOptions, ResolvedWalOptions } from './options';
export { WalError, isWalError } from './errors';
export type { WalErrorCode } from './errors';
