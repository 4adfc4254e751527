// Type test of the public control-surface types (expectType style): compiled by
// `npm run typecheck` (tsc --noEmit -p .) and by test/types.test.ts. Every line that must NOT
// compile carries `// @ts-expect-error`, so a type that gets looser fails the build too.
import {
  DEFAULT_PARALLEL_WAL_CONFIG,
  MAX_PARALLEL_WAL_LANE_COUNT,
  PARALLEL_WAL_COMPATIBILITY_SELECTOR,
  PARALLEL_WAL_DECISION_CHANNEL,
  PARALLEL_WAL_FALLBACK_REASONS,
  PARALLEL_WAL_FLUSH_SCENARIO_ID,
  PARALLEL_WAL_LANE_POLICY_VERSION,
  PARALLEL_WAL_STAGE_SCENARIO_ID,
  PARALLEL_WAL_TRACE_CHANNEL,
  ParallelWal,
  type ParallelWalCheckpointResult,
  type ParallelWalCommitCertificate,
  type ParallelWalConfig,
  type ParallelWalControlSurface,
  ParallelWalCoordinator,
  type ParallelWalDecisionAction,
  type ParallelWalDecisionRecord,
  type ParallelWalFallbackReason,
  ParallelWalLaneStager,
  type ParallelWalLaneBatch,
  type ParallelWalOperatingMode,
  type ParallelWalShadowVerdict,
  type ParallelWalStats,
  type ParallelWalTraceEvent,
  type ParallelWalTraceRecord,
  type SegmentRecoveryResult,
  type TransactionFrameBatchContext,
  defaultParallelWalControlSurface,
  defaultParallelWalLaneCount,
  parallelWalFallbackReasonName,
  parallelWalModeName,
  parallelWalShadowVerdictName,
  parallelWalShouldShadowCompare,
  resolveParallelWalControlSurfaceFromEnv,
} from '../../lib/index';

/** Compiles only when `value` has exactly type T (no widening, no narrowing). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export function expectType<T>(value: T): T {
  return value;
}
export function expectExact<A, B>(ok: Equal<A, B>): void {
  void ok;
}

// ---- modes, reasons, verdicts ----
expectExact<ParallelWalOperatingMode, 'auto' | 'conservative' | 'shadow_compare'>(true);
expectExact<
  ParallelWalFallbackReason,
  | 'operator_forced'
  | 'lane_overflow'
  | 'certificate_gap'
  | 'certificate_checksum_mismatch'
  | 'publication_mismatch'
  | 'recovery_gap'
  | 'checkpoint_conflict'
  | 'controller_evidence_lost'
>(true);
expectExact<ParallelWalShadowVerdict, 'not_run' | 'clean' | 'diverged'>(true);
expectExact<
  ParallelWalDecisionAction,
  'keep_current' | 'seal_epoch_now' | 'increase_lane_budget' | 'decrease_lane_budget' | 'force_conservative'
>(true);
expectType<readonly ParallelWalFallbackReason[]>(PARALLEL_WAL_FALLBACK_REASONS);
// @ts-expect-error not a mode
expectType<ParallelWalOperatingMode>('fast');

// ---- name functions, constants ----
expectType<string>(parallelWalModeName('auto'));
expectType<string>(parallelWalFallbackReasonName(null));
expectType<string>(parallelWalFallbackReasonName('lane_overflow'));
expectType<string>(parallelWalShadowVerdictName('clean'));
expectType<string>(PARALLEL_WAL_LANE_POLICY_VERSION);
expectType<string>(PARALLEL_WAL_COMPATIBILITY_SELECTOR);
expectType<string>(PARALLEL_WAL_STAGE_SCENARIO_ID);
expectType<string>(PARALLEL_WAL_FLUSH_SCENARIO_ID);
expectType<number>(MAX_PARALLEL_WAL_LANE_COUNT);
expectType<'parallel-wal:trace'>(PARALLEL_WAL_TRACE_CHANNEL);
expectType<'parallel-wal:decision'>(PARALLEL_WAL_DECISION_CHANNEL);
expectType<number>(defaultParallelWalLaneCount());
expectType<boolean>(parallelWalShouldShadowCompare({ mode: 'auto' }, 1));
expectType<boolean>(parallelWalShouldShadowCompare({ mode: 'auto' }, 1n));

// ---- config and control surface ----
const config: ParallelWalConfig = { slotCount: 128, epochIntervalMs: 10, bufferCapacityBytes: 1 << 22 };
expectType<Readonly<ParallelWalConfig>>(DEFAULT_PARALLEL_WAL_CONFIG);
void config;
const control: ParallelWalControlSurface = {
  mode: 'shadow_compare',
  laneCountOverride: 4,
  helperLaneBudget: 0,
  maxParallelCommitBytes: 1 << 20,
  maxFlushDelayMs: 5,
  shadowCompareSamplingPerMille: 10,
};
expectType<ParallelWalControlSurface>(defaultParallelWalControlSurface());
expectType<ParallelWalControlSurface>(resolveParallelWalControlSurfaceFromEnv());
expectType<ParallelWalControlSurface>(resolveParallelWalControlSurfaceFromEnv({ PARALLEL_WAL_MODE: 'auto' }));
// @ts-expect-error mode is required
const noMode: ParallelWalControlSurface = { laneCountOverride: 2 };
void noMode;

// ---- the WAL ----
export function walTypes(wal: ParallelWalCoordinator): void {
  const opened = ParallelWal.open('/tmp/x.db', { control });
  expectType<ParallelWalCoordinator>(opened);
  expectType<void>(wal.setMode('conservative'));
  // @ts-expect-error not a mode
  wal.setMode('serialized');
  const state = wal.controlState();
  expectType<ParallelWalOperatingMode>(state.mode);
  expectType<ParallelWalFallbackReason | null>(state.fallbackReason);
  expectType<boolean>(state.fallbackActive);
  expectType<number>(state.laneCount);
  const stats = wal.stats();
  expectType<ParallelWalStats>(stats);
  expectType<number>(stats.epochs);
  expectType<number>(stats.segments);
  expectType<number>(stats.bytes);
  expectType<number>(stats.fsyncs);
  expectType<{ count: number; p50: number; p99: number; max: number }>(stats.fsyncLatencyNs);
  expectType<number>(stats.backpressureEvents);
  expectType<number>(stats.contentionEvents);
  expectType<Record<ParallelWalFallbackReason, number>>(stats.fallbacks);
  expectType<ParallelWalOperatingMode>(stats.mode);
  expectType<ParallelWalFallbackReason | null>(stats.fallbackReason);
  const checkpointed = wal.checkpoint(3n);
  expectType<Promise<ParallelWalCheckpointResult>>(checkpointed);
  expectExact<ParallelWalCheckpointResult, { filesDeleted: number; bytesFreed: number; firstRetainedEpoch: number | null }>(true);
  // @ts-expect-error an epoch is a number or a bigint
  void wal.checkpoint('3');
}

// ---- lane stager ----
const stager = new ParallelWalLaneStager<string>(control);
expectType<number>(stager.laneCount());
expectType<number>(stager.currentLaneId());
expectType<number>(stager.nextBatchId());
const batch: ParallelWalLaneBatch<string> = {
  batchId: 1,
  laneId: 0,
  stagedFrameCount: 1,
  stagingElapsedNs: 10,
  shadowVerdict: 'not_run',
  payload: 'x',
};
expectType<number>(stager.recordBatch(batch));
const ctx: TransactionFrameBatchContext = { batchId: 1, laneId: 0, stagedFrameCount: 1, stagingElapsedNs: 10 };
expectType<Map<number, ParallelWalLaneBatch<string>> | undefined>(stager.takeBatchesForFlush([ctx]));
expectType<number>(stager.discardBatchesForFlush([ctx]));
// @ts-expect-error payload type is fixed by the stager
stager.recordBatch({ ...batch, payload: 1 });

// ---- records ----
export function recordTypes(
  cert: ParallelWalCommitCertificate,
  trace: ParallelWalTraceRecord,
  decision: ParallelWalDecisionRecord,
  recovery: SegmentRecoveryResult,
): void {
  expectType<bigint>(cert.certificateEpoch);
  expectType<bigint>(cert.commitSeqLo);
  expectType<bigint | null>(cert.durableSegmentEpoch);
  expectType<number[]>(cert.laneRecordCounts);
  expectType<number>(cert.certificateCrc32c);
  expectType<boolean>(cert.fallbackActive);
  expectType<'commit_certificate_then_publish'>(cert.residue);
  expectType<ParallelWalTraceEvent>(trace.event);
  expectType<bigint>(trace.traceId);
  expectType<bigint | null>(trace.decisionId);
  expectType<bigint | null>(trace.epoch);
  expectType<bigint | null>(trace.commitSeqLo);
  expectType<bigint | null>(trace.recoveryEpoch);
  expectType<ParallelWalFallbackReason | null>(trace.fallbackReason);
  expectType<ParallelWalOperatingMode>(trace.mode);
  expectType<ParallelWalDecisionAction>(decision.action);
  expectType<ParallelWalDecisionAction>(decision.counterfactualAction);
  expectType<bigint>(decision.expectedLossMicros);
  expectType<bigint>(decision.counterfactualRegretMicros);
  expectType<number>(decision.confidenceBps);
  expectType<string[]>(decision.topEvidenceTerms);
  expectType<ParallelWalFallbackReason | null>(recovery.fallbackReason);
}
