// The control surface: operating mode, lane count, batch limits, shadow-compare sampling.
// Semantics follow the reference module; names are its names in camelCase.
import * as os from 'node:os';

/** How the WAL runs. `conservative` is the serialized single-lane fallback. */
export type ParallelWalOperatingMode = 'auto' | 'conservative' | 'shadow_compare';

/** Why the WAL entered (or is in) the conservative fallback. */
export type ParallelWalFallbackReason =
  | 'operator_forced'
  | 'lane_overflow'
  | 'certificate_gap'
  | 'certificate_checksum_mismatch'
  | 'publication_mismatch'
  | 'recovery_gap'
  | 'checkpoint_conflict'
  | 'controller_evidence_lost';

/** Every fallback reason, in declaration order. */
export const PARALLEL_WAL_FALLBACK_REASONS: readonly ParallelWalFallbackReason[] = Object.freeze([
  'operator_forced',
  'lane_overflow',
  'certificate_gap',
  'certificate_checksum_mismatch',
  'publication_mismatch',
  'recovery_gap',
  'checkpoint_conflict',
  'controller_evidence_lost',
]);

/** Outcome of re-reading a written segment and comparing it with what was submitted. */
export type ParallelWalShadowVerdict = 'not_run' | 'clean' | 'diverged';

/** Only ordering residue the design knows: the certificate is written before publication. */
export type ParallelWalOrderedResidue = 'commit_certificate_then_publish';

export const PARALLEL_WAL_LANE_POLICY_VERSION = 'thread_slot_v1';
export const PARALLEL_WAL_COMPATIBILITY_SELECTOR = 'wal_invariant,integrity_check,row_level';
export const PARALLEL_WAL_STAGE_SCENARIO_ID = 'parallel_wal_lane_stage';
export const PARALLEL_WAL_FLUSH_SCENARIO_ID = 'parallel_wal_lane_flush';
/** Lane ids are u16, so at most 65535 lanes. */
export const MAX_PARALLEL_WAL_LANE_COUNT = 65_535;

/** Buffer-level configuration (the seed's ParallelWalConfig). */
export interface ParallelWalConfig {
  /** Per-thread buffer slots. @default 128 */
  slotCount: number;
  /** Ticker interval between epochs, in milliseconds. @default 10 */
  epochIntervalMs: number;
  /** Capacity of each slot's active buffer, in bytes. @default 4194304 (4 MiB) */
  bufferCapacityBytes: number;
}

export const DEFAULT_PARALLEL_WAL_CONFIG: Readonly<ParallelWalConfig> = Object.freeze({
  slotCount: 128,
  epochIntervalMs: 10,
  bufferCapacityBytes: 4 * 1024 * 1024,
});

/** The operator-facing control surface. */
export interface ParallelWalControlSurface {
  /** @default 'auto' */
  mode: ParallelWalOperatingMode;
  /** Lane count instead of {@link defaultParallelWalLaneCount}; clamped to 1..65535. @default undefined */
  laneCountOverride?: number;
  /** Helper threads that encode and checksum lanes in parallel. @default undefined */
  helperLaneBudget?: number;
  /** Batches larger than this take the serialized path (a `lane_overflow` fallback). @default undefined */
  maxParallelCommitBytes?: number;
  /** Upper bound on how long a commit waits before its epoch is sealed. @default undefined */
  maxFlushDelayMs?: number;
  /** In `auto` mode, shadow-compare this many batches per thousand (0..1000). @default undefined */
  shadowCompareSamplingPerMille?: number;
}

/** The default control surface: `auto`, everything else unset. */
export function defaultParallelWalControlSurface(): ParallelWalControlSurface {
  return { mode: 'auto' };
}

export function parallelWalModeName(mode: ParallelWalOperatingMode): string {
  return mode;
}

/** Name of a fallback reason; `'none'` for undefined/null. */
export function parallelWalFallbackReasonName(reason: ParallelWalFallbackReason | null | undefined): string {
  return reason ?? 'none';
}

export function parallelWalShadowVerdictName(verdict: ParallelWalShadowVerdict): string {
  return verdict;
}

/**
 * Whether batch `batchId` is shadow-compared: always in `shadow_compare`, never in
 * `conservative`, and in `auto` for the first `perMille` ids of every window of 1000
 * (deterministic, so a run can be replayed).
 */
export function parallelWalShouldShadowCompare(control: ParallelWalControlSurface, batchId: number | bigint): boolean {
  if (control === null || typeof control !== 'object') {
    throw Object.assign(new TypeError(`The "control" argument must be an object. Received ${control === null ? 'null' : typeof control}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  switch (control.mode) {
    case 'conservative':
      return false;
    case 'shadow_compare':
      return true;
    case 'auto': {
      const rate = control.shadowCompareSamplingPerMille;
      if (rate === undefined) return false;
      const r = BigInt(Math.min(Math.max(0, Math.trunc(rate)), 1000));
      const id = BigInt(batchId);
      const index = id > 0n ? id - 1n : 0n;
      return r > 0n && index % 1000n < r;
    }
  }
}

/** One lane per available CPU (os.availableParallelism), at least 1. */
export function defaultParallelWalLaneCount(): number {
  return Math.max(1, os.availableParallelism());
}

/** Clamps a requested lane count to 1..65535. */
export function clampParallelWalLaneCount(requested: number): number {
  if (!Number.isFinite(requested)) return MAX_PARALLEL_WAL_LANE_COUNT;
  return Math.min(Math.max(1, Math.trunc(requested)), MAX_PARALLEL_WAL_LANE_COUNT);
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  // PARALLEL_WAL_* wins over the reference module's FSQLITE_PARALLEL_WAL_* alias.
  const v = env[`PARALLEL_WAL_${name}`] ?? env[`FSQLITE_PARALLEL_WAL_${name}`];
  // Like the reference, a value that is not text is ignored rather than trusted.
  return typeof v === 'string' ? v : undefined;
}

/** Parses an unsigned decimal integer as the reference does (trimmed; anything else is ignored). */
function parseUnsigned(raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const t = raw.trim();
  if (!/^\+?\d+$/.test(t)) return undefined;
  const v = Number(t);
  return Number.isSafeInteger(v) && v <= max ? v : undefined;
}

/**
 * The control surface the environment asks for. Conservative unless the environment says
 * otherwise. Reads PARALLEL_WAL_MODE, _LANES, _MAX_BATCH_BYTES, _MAX_FLUSH_DELAY_MS,
 * _SHADOW_COMPARE_PER_MILLE (and the FSQLITE_PARALLEL_WAL_* aliases); values that do not parse
 * are ignored. Mode aliases: `serialized`/`single_lane` = conservative, `shadow` = shadow_compare.
 */
export function resolveParallelWalControlSurfaceFromEnv(env: NodeJS.ProcessEnv = process.env): ParallelWalControlSurface {
  if (env === null || typeof env !== 'object') {
    throw Object.assign(new TypeError(`The "env" argument must be an object. Received ${env === null ? 'null' : typeof env}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  const control: ParallelWalControlSurface = { mode: 'conservative' };
  const mode = envValue(env, 'MODE');
  if (mode !== undefined) {
    switch (mode.trim().toLowerCase()) {
      case 'auto':
        control.mode = 'auto';
        break;
      case 'conservative':
      case 'serialized':
      case 'single_lane':
        control.mode = 'conservative';
        break;
      case 'shadow':
      case 'shadow_compare':
        control.mode = 'shadow_compare';
        break;
      default:
        break;
    }
  }
  const lanes = parseUnsigned(envValue(env, 'LANES'), Number.MAX_SAFE_INTEGER);
  if (lanes !== undefined) control.laneCountOverride = Math.max(1, lanes);
  const maxBytes = parseUnsigned(envValue(env, 'MAX_BATCH_BYTES'), Number.MAX_SAFE_INTEGER);
  if (maxBytes !== undefined) control.maxParallelCommitBytes = Math.max(1, maxBytes);
  const delay = parseUnsigned(envValue(env, 'MAX_FLUSH_DELAY_MS'), Number.MAX_SAFE_INTEGER);
  if (delay !== undefined) control.maxFlushDelayMs = delay;
  const perMille = parseUnsigned(envValue(env, 'SHADOW_COMPARE_PER_MILLE'), 65535);
  if (perMille !== undefined) control.shadowCompareSamplingPerMille = perMille;
  return control;
}
