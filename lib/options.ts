// Options of a WAL, validated in TypeScript: every error names the option and the value received.
import { type ParallelWalControlSurface, defaultParallelWalControlSurface } from './control';
import { argRangeError, argTypeError, argValueError } from './errors';

/** What a full slot does with the next append. */
export type OverflowPolicy = 'block_writer' | 'allocate_overflow';
/** When the flusher seals an epoch. */
export type FlushPolicy = 'adaptive' | 'ticker';
/** How a segment is made durable: fsync (`full`), fdatasync (`normal`) or not at all (`off`). */
export type FsyncPolicy = 'full' | 'normal' | 'off';
/** Segment format written: 1 is the seed's layout, 2 checksums every byte and adds a certificate. */
export type FormatVersion = 1 | 2;
/** How log files get their blocks: see {@link ParallelWalOptions.logFileFill}. */
export type LogFileFill = 'auto' | 'always' | 'never';

/**
 * Test-only fault injection through the core's FailingFileSystem. Not part of the public API:
 * it exists so the durability tests can exercise the failure paths.
 * @internal
 */
export interface FaultInjection {
  /**
   * The file-system operation to fail. `corrupt`: the write succeeds but one bit of the bytes
   * reaching the file is flipped (a silent corruption, for shadow compare). `delete`: a file
   * deletion (checkpoints).
   */
  op: 'open' | 'write' | 'sync' | 'rename' | 'dirsync' | 'close' | 'corrupt' | 'delete';
  /** The error to fail with. @default 'EIO' */
  errno?: 'EIO' | 'ENOSPC';
  /** How many matching calls succeed before the first failure. @default 0 */
  after?: number;
  /** Keep failing every later matching call (otherwise fail once). @default false */
  persistent?: boolean;
}

/** Options of {@link ParallelWalCoordinator} and `ParallelWal.open`. */
export interface ParallelWalOptions {
  /**
   * Number of per-thread buffer slots; a thread's slot is fixed on first use (modulo this).
   * Only the first open of a path in the process decides it.
   * @default 128
   */
  slotCount?: number;
  /** Capacity of each slot's active lane, in accounted bytes (48 per record + images). @default 4194304 */
  bufferCapacityBytes?: number;
  /** What a full slot does: refuse (`block_writer`) or queue up to 8 MiB more. @default 'block_writer' */
  overflowPolicy?: OverflowPolicy;
  /** Interval of the `ticker` policy, in milliseconds. @default 10 */
  epochIntervalMs?: number;
  /**
   * `adaptive` seals as soon as commits wait and no write is in progress; `ticker` seals every
   * `epochIntervalMs`. @default 'adaptive'
   */
  flushPolicy?: FlushPolicy;
  /** Upper bound on how long a submitted commit waits before its epoch is sealed (adaptive). @default 10 */
  maxFlushDelayMs?: number;
  /** Durability of each segment. @default 'full' */
  fsyncPolicy?: FsyncPolicy;
  /** Segment format to write. @default 2 */
  formatVersion?: FormatVersion;
  /**
   * Publish epochs into segment files prepared ahead of time (zero-filled, synced, durably
   * named by a background thread), so that an epoch costs one overwrite + one data sync instead
   * of creating, syncing, renaming and directory-syncing a new file. Applies to format 2 with
   * fsync `full` or `normal`. See docs/durability.md. @default true
   */
  preparedSegments?: boolean;
  /**
   * With `preparedSegments` (format 2): write epochs as frames into log files of this many
   * bytes, preallocated (zero-filled and synced) in the background, so that an epoch costs one
   * positioned write + one data sync into blocks that already exist: no new file per epoch.
   * A multiple of 4096, at most 256 MiB; 0 writes a prepared file per epoch instead. See
   * docs/format.md ("Log files") and docs/durability.md. @default 67108864 (64 MiB)
   */
  logFileBytes?: number;
  /**
   * How log files get their blocks. `'always'`: zero-filled and synced ahead by a background
   * thread, so a frame's data sync has no size to update (cheapest for small epochs, but the
   * disk writes every byte twice). `'never'`: grown by appending, each frame's sync also making
   * the new size durable (cheapest when the disk is busy). `'auto'` appends at first and then
   * follows the rate at which frames take 4 KiB slots, measured per 100 ms: zero-filled below
   * 96 MiB/s (64 MiB/s once appending), appended from 128 MiB/s.
   * Either way a log file holds the same frames (docs/format.md). @default 'auto'
   */
  logFileFill?: LogFileFill;
  /**
   * The control surface: operating mode, lanes, batch limit, flush delay bound, shadow-compare
   * sampling (see docs/control.md). Only the first open of a path in the process decides it;
   * change the mode at run time with `setMode`. To let the environment decide, pass
   * `resolveParallelWalControlSurfaceFromEnv()` (conservative unless PARALLEL_WAL_MODE says
   * otherwise).
   * @default defaultParallelWalControlSurface() — `{ mode: 'auto' }`
   */
  control?: ParallelWalControlSurface;
  /** @internal test-only fault injection; never use in production. */
  __faultInjection?: FaultInjection;
  /** @internal undelivered epoch records kept per handle while tracing. @default 4096 */
  __traceQueueCapacity?: number;
  /**
   * @internal the longest the adaptive flusher holds a seal for the JS turn after a durable
   * event, in microseconds (0: never; for A/B measurements). @default 250
   */
  __turnHoldUs?: number;
}

/** Options after validation, every field present. */
export interface ResolvedWalOptions {
  slotCount: number;
  bufferCapacityBytes: number;
  overflowPolicy: OverflowPolicy;
  epochIntervalMs: number;
  flushPolicy: FlushPolicy;
  maxFlushDelayMs: number;
  fsyncPolicy: FsyncPolicy;
  formatVersion: FormatVersion;
  preparedSegments: boolean;
  logFileBytes: number;
  logFileFill: LogFileFill;
  control: ParallelWalControlSurface;
  traceQueueCapacity: number;
  turnHoldUs: number;
  faultInjection?: Required<FaultInjection>;
}

/** The defaults, as documented on {@link ParallelWalOptions}. */
export const DEFAULT_WAL_OPTIONS: Readonly<ResolvedWalOptions> = Object.freeze({
  slotCount: 128,
  bufferCapacityBytes: 4 * 1024 * 1024,
  overflowPolicy: 'block_writer',
  epochIntervalMs: 10,
  flushPolicy: 'adaptive',
  maxFlushDelayMs: 10,
  fsyncPolicy: 'full',
  formatVersion: 2,
  preparedSegments: true,
  logFileBytes: 64 * 1024 * 1024,
  logFileFill: 'auto',
  control: Object.freeze(defaultParallelWalControlSurface()),
  traceQueueCapacity: 4096,
  turnHoldUs: 250,
});

const KNOWN_KEYS = new Set([
  'slotCount',
  'bufferCapacityBytes',
  'overflowPolicy',
  'epochIntervalMs',
  'flushPolicy',
  'maxFlushDelayMs',
  'fsyncPolicy',
  'formatVersion',
  'preparedSegments',
  'logFileBytes',
  'logFileFill',
  'control',
  '__faultInjection',
  '__traceQueueCapacity',
  '__turnHoldUs',
]);

function int(name: string, value: unknown, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number') throw argTypeError(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw argRangeError(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

function oneOf<T extends string | number>(name: string, value: unknown, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw argValueError(name, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  }
  return value as T;
}

/** Validates an fsync policy (also used by `start({ fsyncPolicy })`). @internal */
export function validateFsyncPolicy(name: string, value: unknown, dflt: FsyncPolicy): FsyncPolicy {
  return oneOf<FsyncPolicy>(name, value, ['full', 'normal', 'off'], dflt);
}

/** Validates a timeout in milliseconds: a finite number >= 0. @internal */
export function validateTimeoutMs(name: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number') throw argTypeError(name, 'of type number', value);
  if (!(value >= 0) || !Number.isFinite(value) || value > 2147483647) {
    throw argRangeError(name, 'a finite number >= 0 and <= 2147483647', value);
  }
  return value;
}

function faultInjection(value: unknown): Required<FaultInjection> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw argTypeError('options.__faultInjection', 'of type object', value);
  }
  const v = value as Record<string, unknown>;
  return {
    op: (() => {
      if (v.op === undefined) throw argTypeError('options.__faultInjection.op', 'of type string', v.op);
      return oneOf('options.__faultInjection.op', v.op, ['open', 'write', 'sync', 'rename', 'dirsync', 'close', 'corrupt', 'delete'] as const, 'sync');
    })(),
    errno: oneOf('options.__faultInjection.errno', v.errno, ['EIO', 'ENOSPC'] as const, 'EIO'),
    after: int('options.__faultInjection.after', v.after, 0, 2 ** 31 - 1, 0),
    persistent: (() => {
      if (v.persistent === undefined) return false;
      if (typeof v.persistent !== 'boolean') throw argTypeError('options.__faultInjection.persistent', 'of type boolean', v.persistent);
      return v.persistent;
    })(),
  };
}

/**
 * Validates `options` and fills in the defaults. Unknown keys are rejected (a typo would
 * otherwise silently fall back to a default).
 * @throws TypeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) or RangeError
 *   (`ERR_OUT_OF_RANGE`) naming the option, e.g. `options.slotCount`, and the value received.
 */
export function resolveWalOptions(options: unknown): ResolvedWalOptions {
  if (options === undefined || options === null) return { ...DEFAULT_WAL_OPTIONS, control: defaultParallelWalControlSurface() };
  if (typeof options !== 'object') throw argTypeError('options', 'of type object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) {
      throw argValueError(`options.${key}`, `one of the known options (${[...KNOWN_KEYS].filter((k) => !k.startsWith('__')).join(', ')})`, o[key]);
    }
  }
  const d = DEFAULT_WAL_OPTIONS;
  const resolved: ResolvedWalOptions = {
    slotCount: int('options.slotCount', o.slotCount, 1, 65535, d.slotCount),
    bufferCapacityBytes: int('options.bufferCapacityBytes', o.bufferCapacityBytes, 1, 2 ** 30, d.bufferCapacityBytes),
    overflowPolicy: oneOf('options.overflowPolicy', o.overflowPolicy, ['block_writer', 'allocate_overflow'], d.overflowPolicy),
    epochIntervalMs: int('options.epochIntervalMs', o.epochIntervalMs, 1, 60000, d.epochIntervalMs),
    flushPolicy: oneOf('options.flushPolicy', o.flushPolicy, ['adaptive', 'ticker'], d.flushPolicy),
    maxFlushDelayMs: int('options.maxFlushDelayMs', o.maxFlushDelayMs, 0, 60000, d.maxFlushDelayMs),
    fsyncPolicy: validateFsyncPolicy('options.fsyncPolicy', o.fsyncPolicy, d.fsyncPolicy),
    formatVersion: oneOf<FormatVersion>('options.formatVersion', o.formatVersion, [1, 2], d.formatVersion),
    preparedSegments: (() => {
      if (o.preparedSegments === undefined) return d.preparedSegments;
      if (typeof o.preparedSegments !== 'boolean') throw argTypeError('options.preparedSegments', 'of type boolean', o.preparedSegments);
      return o.preparedSegments;
    })(),
    logFileBytes: (() => {
      const v = int('options.logFileBytes', o.logFileBytes, 0, 256 * 1024 * 1024, d.logFileBytes);
      if (v % 4096 !== 0) throw argRangeError('options.logFileBytes', 'a multiple of 4096 (0: off)', v);
      return v;
    })(),
    logFileFill: oneOf('options.logFileFill', o.logFileFill, ['auto', 'always', 'never'], d.logFileFill),
    control: validateControlSurface(o.control),
    traceQueueCapacity: int('options.__traceQueueCapacity', o.__traceQueueCapacity, 1, 1 << 20, d.traceQueueCapacity),
    turnHoldUs: int('options.__turnHoldUs', o.__turnHoldUs, 0, 10_000, d.turnHoldUs),
  };
  // control.maxFlushDelayMs is the control surface's name for the same bound; it wins.
  if (resolved.control.maxFlushDelayMs !== undefined) resolved.maxFlushDelayMs = resolved.control.maxFlushDelayMs;
  const fi = faultInjection(o.__faultInjection);
  if (fi) resolved.faultInjection = fi;
  return resolved;
}

/**
 * Why `helperLaneBudget` is refused: this design has no helper threads to budget.
 * @internal
 */
export const HELPER_LANE_BUDGET_UNSUPPORTED =
  'unsupported: parallel-wal has no helper lanes. Producers already build their records in their own ' +
  'thread slot, and the flusher encodes and CRC32C-checksums a whole epoch in one pass at tens of GB/s ' +
  '(about 0.1 ms for a full 4 MiB lane), less than the fsync that follows it (>= 0.15 ms here); ' +
  'handing lanes to helper threads would add a thread handoff to every epoch without shortening the ' +
  'commit path. Leave it undefined (or 0)';

/**
 * Validates a control surface (the `control` open option) and returns a copy.
 * @throws TypeError/RangeError naming `options.control.<field>`.
 * @internal
 */
export function validateControlSurface(value: unknown): ParallelWalControlSurface {
  if (value === undefined) return defaultParallelWalControlSurface();
  if (typeof value !== 'object' || value === null) throw argTypeError('options.control', 'of type object', value);
  const v = value as Record<string, unknown>;
  const known = new Set([
    'mode',
    'laneCountOverride',
    'helperLaneBudget',
    'maxParallelCommitBytes',
    'maxFlushDelayMs',
    'shadowCompareSamplingPerMille',
  ]);
  for (const key of Object.keys(v)) {
    if (!known.has(key)) throw argValueError(`options.control.${key}`, `one of ${[...known].join(', ')}`, v[key]);
  }
  const out: ParallelWalControlSurface = {
    mode: oneOf('options.control.mode', v.mode, ['auto', 'conservative', 'shadow_compare'] as const, 'auto'),
  };
  const opt = (name: string, min: number, max: number): number | undefined => {
    const x = v[name];
    if (x === undefined || x === null) return undefined;
    return int(`options.control.${name}`, x, min, max, 0);
  };
  const lanes = opt('laneCountOverride', 0, Number.MAX_SAFE_INTEGER);
  // The reference clamps lane overrides to 1..65535.
  if (lanes !== undefined) out.laneCountOverride = Math.min(Math.max(1, lanes), 65535);
  const helpers = opt('helperLaneBudget', 0, Number.MAX_SAFE_INTEGER);
  if (helpers !== undefined && helpers > 0) {
    throw argValueError('options.control.helperLaneBudget', HELPER_LANE_BUDGET_UNSUPPORTED, helpers);
  }
  if (helpers !== undefined) out.helperLaneBudget = helpers;
  const maxBytes = opt('maxParallelCommitBytes', 1, Number.MAX_SAFE_INTEGER);
  if (maxBytes !== undefined) out.maxParallelCommitBytes = maxBytes;
  const delay = opt('maxFlushDelayMs', 0, 60000);
  if (delay !== undefined) out.maxFlushDelayMs = delay;
  const perMille = opt('shadowCompareSamplingPerMille', 0, 65535);
  // The reference clamps the rate to 1000.
  if (perMille !== undefined) out.shadowCompareSamplingPerMille = Math.min(perMille, 1000);
  return out;
}

/** The native form of a control surface. @internal */
export function nativeControl(c: ParallelWalControlSurface): {
  mode: string;
  laneCount: number;
  maxParallelCommitBytes: number;
  shadowPerMille: number;
} {
  return {
    mode: c.mode,
    laneCount: c.laneCountOverride ?? 0,
    maxParallelCommitBytes: c.maxParallelCommitBytes ?? 0,
    shadowPerMille: c.shadowCompareSamplingPerMille ?? -1,
  };
}
