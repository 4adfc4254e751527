// The public shape of `ParallelWalCoordinator.stats()`: counters a metrics library can take.
import {
  PARALLEL_WAL_FALLBACK_REASONS,
  type ParallelWalFallbackReason,
  type ParallelWalOperatingMode,
} from './control';
import type { NativeWalStats } from './native';
import { reasonFromName } from './trace';

/** fsync latency of the WAL's segment files and directory syncs, in nanoseconds. */
export interface ParallelWalLatencySummary {
  /** Syncs timed. */
  count: number;
  /** Median (upper bound of its histogram bucket; buckets are at most 19% wide). */
  p50: number;
  /** 99th percentile (same resolution). */
  p99: number;
  /** Exact maximum. */
  max: number;
}

/** A snapshot of the counters of the shared native WAL. All counts since open. */
export interface ParallelWalStats {
  /** Epochs sealed (empty ones included). */
  epochs: number;
  epochsSealed: number;
  epochsDurable: number;
  emptyEpochs: number;
  /** Segment files published. */
  segments: number;
  segmentsWritten: number;
  recordsWritten: number;
  /** Bytes of segment files published. */
  bytes: number;
  bytesWritten: number;
  /** Segments made durable with an fsync (one per segment unless fsyncPolicy is 'off'). */
  fsyncs: number;
  fsyncLatencyNs: ParallelWalLatencySummary;
  writeFailures: number;
  submits: number;
  submittedRecords: number;
  /** Submits refused because a slot was full (commit() waits and retries). */
  backpressureEvents: number;
  backpressure: number;
  /** Appends that found their slot's lock taken by another thread. */
  contentionEvents: number;
  contention: number;
  overflowAppends: number;
  fallbackEntries: number;
  eventsDelivered: number;
  /**
   * Files made ready ahead of their epochs: log files (zero-filled, synced; see `logFileBytes`),
   * or with `logFileBytes: 0` per-epoch segment files (zeros synced, durably named).
   */
  preparedFiles: number;
  /** Epochs published in place: as frames of a log file, or into a prepared segment file (the rest went through new files). */
  preparedPublishes: number;
  /** Log files started in a zero-filled file made ahead (see `logFileFill`). */
  logFilesFilled: number;
  /** Log files started empty and grown by appending frames (see `logFileFill`). */
  logFilesAppended: number;
  /**
   * Seals held until the JS turn after a durable event was over, so that the commits made in
   * that turn joined the epoch already waiting (adaptive policy; see docs/performance.md).
   */
  turnHolds: number;
  /** Of {@link turnHolds}, those that ran out before the turn ended (holds pause for 64 epochs). */
  turnHoldsExpired: number;
  /** Open WAL handles of the calling environment (diagnostics). */
  envOpenHandles?: number;
  /** Fallback events by reason (entries of the conservative fallback, per-batch lane overflows, ...). */
  fallbacks: Record<ParallelWalFallbackReason, number>;
  /** Shadow-compare verdicts so far. */
  shadowCompare: { clean: number; diverged: number };
  /** The configured mode. */
  mode: ParallelWalOperatingMode;
  /** The active fallback, or null. While one is active the WAL runs conservative. */
  fallbackReason: ParallelWalFallbackReason | null;
  fallbackActive: boolean;
  /** Lanes producers are routed to now (1 while conservative). */
  laneCount: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** @internal */
export function toParallelWalStats(s: NativeWalStats): ParallelWalStats {
  const rawFallbacks = (s.fallbacks ?? {}) as Record<string, number>;
  const fallbacks = {} as Record<ParallelWalFallbackReason, number>;
  for (const r of PARALLEL_WAL_FALLBACK_REASONS) fallbacks[r] = num(rawFallbacks[r]);
  const lat = (s.fsyncLatencyNs ?? {}) as Record<string, number>;
  const reason = reasonFromName(String(s.fallbackReason ?? 'none'));
  return {
    epochs: num(s.epochsSealed),
    epochsSealed: num(s.epochsSealed),
    epochsDurable: num(s.epochsDurable),
    emptyEpochs: num(s.emptyEpochs),
    segments: num(s.segmentsWritten),
    segmentsWritten: num(s.segmentsWritten),
    recordsWritten: num(s.recordsWritten),
    bytes: num(s.bytesWritten),
    bytesWritten: num(s.bytesWritten),
    fsyncs: num(s.fsyncs),
    fsyncLatencyNs: { count: num(lat.count), p50: num(lat.p50), p99: num(lat.p99), max: num(lat.max) },
    writeFailures: num(s.writeFailures),
    submits: num(s.submits),
    submittedRecords: num(s.submittedRecords),
    backpressureEvents: num(s.backpressure),
    backpressure: num(s.backpressure),
    contentionEvents: num(s.contention),
    contention: num(s.contention),
    overflowAppends: num(s.overflowAppends),
    fallbackEntries: num(s.fallbackEntries),
    eventsDelivered: num(s.eventsDelivered),
    preparedFiles: num(s.preparedFiles),
    preparedPublishes: num(s.preparedPublishes),
    logFilesFilled: num(s.logFilesFilled),
    logFilesAppended: num(s.logFilesAppended),
    turnHolds: num(s.turnHolds),
    turnHoldsExpired: num(s.turnHoldsExpired),
    fallbacks,
    shadowCompare: { clean: num(s.shadowClean), diverged: num(s.shadowDiverged) },
    mode: (s.mode as ParallelWalOperatingMode) ?? 'auto',
    fallbackReason: reason,
    fallbackActive: reason !== null,
    laneCount: num(s.laneCount),
    ...(typeof s.envOpenHandles === 'number' ? { envOpenHandles: s.envOpenHandles } : {}),
  };
}
