// The parallel WAL coordinator: the public face of the native per-thread buffers, epochs and
// flusher thread. Durable commits are promises resolved once per epoch.
import * as path from 'node:path';

import { WalError, argRangeError, argTypeError, argValueError, fromNative, isWalError } from './errors';
import type { ParallelWalFallbackReason, ParallelWalOperatingMode } from './control';
import { EVENT_CLOSED, EVENT_DURABLE, EVENT_FAILED, EVENT_TRACE, native } from './native';
import type { NativeWalHandle } from './native';
import {
  type FsyncPolicy,
  type ParallelWalOptions,
  type ResolvedWalOptions,
  resolveWalOptions,
  validateFsyncPolicy,
  validateTimeoutMs,
  nativeControl,
} from './options';
import { WalRecordPublisher, reasonFromName, recordsWanted } from './trace';
import { type ParallelWalStats, toParallelWalStats } from './wal-stats';
import { type EpochDeferred, EpochWaiters } from './wal-waiters';

/** A transaction's identity: `id` is a u64 != 0, `epoch` a u32. */
export interface WalTxnToken {
  /** Transaction id, non-zero. A number must be a safe integer; use a bigint beyond 2^53. */
  id: number | bigint;
  /** Transaction epoch (u32). @default 0 */
  epoch?: number;
}

/** One page written by a commit. */
export interface ParallelWalFrame {
  /** Page number, 1..2^32-1. */
  pageNumber: number;
  /** The page's new content (at most 65536 bytes); copied at submit. */
  pageData: ArrayBufferView;
  /** Database size in pages after this commit, or 0 for a non-final frame. @default 0 */
  dbSizeIfCommit?: number;
}

/** A transaction's frames, appended atomically (all or nothing) to the caller's slot. */
export interface ParallelWalBatch {
  txnToken: WalTxnToken;
  /** The commit sequence (u64): number (safe integer) or bigint. */
  commitSeq: number | bigint;
  frames: readonly ParallelWalFrame[];
}

/** Options of {@link ParallelWalCoordinator.waitForEpochDurable}. */
export interface WaitOptions {
  /** Reject with `WAL_TIMEOUT` after this many milliseconds. @default Infinity (no timeout) */
  timeoutMs?: number;
}

/** Options of {@link ParallelWalCoordinator.advanceAndFlush}. */
export interface AdvanceAndFlushOptions {
  /** Give up (reject with `WAL_TIMEOUT`) after this many milliseconds. @default 10000 */
  timeoutMs?: number;
}

/** What {@link ParallelWalCoordinator.checkpoint} did. */
export interface ParallelWalCheckpointResult {
  /** Files deleted (segment files or log files, each holding only epochs <= the checkpoint). */
  filesDeleted: number;
  /** Their sizes added up. */
  bytesFreed: number;
  /**
   * First epoch of the oldest file kept (recovery starts there; it may hold epochs <= the
   * checkpoint, which replay again), or `null` when the log has no file.
   */
  firstRetainedEpoch: number | null;
}

/** Options of {@link ParallelWalCoordinator.start}. */
export interface StartOptions {
  /** Durability of the segments the flusher writes. @default the WAL's `fsyncPolicy` option */
  fsyncPolicy?: FsyncPolicy;
}

/** Options of {@link ParallelWalCoordinator.close}. */
export interface CloseOptions {
  /**
   * `false`: make every pending epoch durable, then close. `true`: reject every pending
   * promise with `WAL_CLOSED` at once (what was submitted may or may not become durable).
   * @default false
   */
  abort?: boolean;
}

/** Options of `ParallelWal.open`. */
export interface OpenOptions extends ParallelWalOptions {
  /** Start the flusher thread right away. @default true */
  autoStart?: boolean;
}

const DEFAULT_FLUSH_TIMEOUT_MS = 10000;

// Set by ParallelWal.open around construction: the native open then starts the flusher in the
// same step when it creates the shared WAL.
let startOnOpen = false;

function closedError(what: string): WalError {
  return new WalError('WAL_CLOSED', `${what}: the WAL is closed`);
}

/**
 * The coordinator of one WAL (one database path). Within a process every coordinator of the
 * same path — on the main thread or in `worker_threads` — shares one native WAL: one set of
 * slots, one epoch sequence, one flusher thread, one lock on the path.
 *
 * `new ParallelWalCoordinator(path)` opens the WAL with its flusher stopped (the seed's
 * semantics: drive it with {@link advanceAndFlush} or {@link start}); `ParallelWal.open` also
 * starts it.
 */
export class ParallelWalCoordinator {
  #native: NativeWalHandle | null;
  /** The numbers of a one-frame commit, read by the native submitScratch (see submitBatch). */
  readonly #scratch = new Float64Array(5);
  /** The native fast path for one-frame commits, bound to #native and #scratch. */
  readonly #submitScratch: (pageData: unknown) => number;
  readonly #dbPath: string;
  readonly #options: ResolvedWalOptions;
  readonly #waiters = new EpochWaiters();
  #roomWaiters: Array<() => void> = [];
  #refs = 0;
  #failure: { epoch: number; error: WalError } | undefined;
  #intakeClosed = false;
  #closing: Promise<void> | undefined;
  #nativeEvents = 0;
  #publisher!: WalRecordPublisher;
  #tracing = false;
  // Wal::EndTurn after the turn that follows a durable event (#scheduleEndTurn).
  #endTurnQueued = false;
  readonly #queueEndTurn = (): void => {
    process.nextTick(this.#endTurn);
  };
  readonly #endTurn = (): void => {
    this.#endTurnQueued = false;
    this.#native?.endTurn();
  };

  /**
   * Opens (or joins, if this process already has it open) the WAL of `dbPath`.
   * @param dbPath the database path; segments are written beside it.
   * @param options see {@link ParallelWalOptions}; only the first open of a path in the process
   *   decides the shared settings.
   * @throws WalError `WAL_LOCKED` when another process holds the path; `WAL_IO`/`WAL_CORRUPTION`
   *   when the directory cannot be read; TypeError/RangeError naming a bad option.
   */
  constructor(dbPath: string, options?: ParallelWalOptions) {
    if (typeof dbPath !== 'string' || dbPath.length === 0) {
      throw argTypeError('dbPath', 'a non-empty string', dbPath);
    }
    this.#options = resolveWalOptions(options);
    this.#dbPath = path.resolve(dbPath);
    const { faultInjection, ...rest } = this.#options;
    const nativeOptions = {
      ...rest,
      control: nativeControl(rest.control),
      startFlusher: startOnOpen,
      ...(faultInjection ? { faultInjection } : {}),
    };
    try {
      this.#native = new native.NativeWal(this.#dbPath, nativeOptions, (kind, epoch, code, message, errno, items) =>
        kind === EVENT_TRACE ? this.#onTrace(epoch, items) : this.#onEvent(kind, epoch, code, message, errno),
      );
    } catch (e) {
      throw fromNative(e);
    }
    this.#submitScratch = this.#native.bindScratch(this.#scratch);
    this.#initControl();
  }

  /** The absolute database path. */
  get dbPath(): string {
    return this.#dbPath;
  }

  /** The validated options, defaults filled in. */
  get options(): Readonly<ResolvedWalOptions> {
    return this.#options;
  }

  /** The epoch new submissions go to. Epochs are below 2^53 (one per flush), so a number. */
  currentEpoch(): number {
    return this.#handle('currentEpoch').currentEpoch();
  }

  /** The newest epoch known durable (every earlier epoch is durable too), or undefined. */
  durableEpoch(): number | undefined {
    const e = this.#handle('durableEpoch').durableEpoch();
    return e < 0 ? undefined : e;
  }

  /** The calling thread's buffer slot (fixed on first use). */
  threadSlot(): number {
    return this.#handle('threadSlot').threadSlot();
  }

  /** True while the flusher thread runs. */
  isRunning(): boolean {
    return this.#native !== null && this.#native.isRunning();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#intakeClosed;
  }

  /**
   * Appends a transaction's frames to the calling thread's slot, all or nothing, and returns
   * the epoch they belong to. Does not wait for durability: see {@link commit}.
   * @throws WalError `WAL_BACKPRESSURE` when the slot is full (nothing appended), `WAL_CLOSED`,
   *   `WAL_IO` after a fatal flush failure; TypeError/RangeError naming the bad field, e.g.
   *   `batch.frames[2].pageNumber`.
   */
  submitBatch(batch: ParallelWalBatch): number {
    const n = this.#native;
    if (n === null || this.#intakeClosed) throw closedError('submitBatch');
    if (this.#failure !== undefined) throw this.#failedError(this.#failure.epoch);
    if (typeof batch !== 'object' || batch === null) throw argTypeError('batch', 'of type object', batch);
    const t = batch.txnToken;
    if (typeof t !== 'object' || t === null) throw argTypeError('batch.txnToken', 'of type object', t);
    const frames = batch.frames;
    if (!Array.isArray(frames)) throw argTypeError('batch.frames', 'an array', frames);
    try {
      if (frames.length === 1) {
        const f = frames[0];
        if (typeof f !== 'object' || f === null) throw argTypeError('batch.frames[0]', 'of type object', f);
        const id = t.id;
        const txnEpoch = t.epoch;
        const seq = batch.commitSeq;
        const page = f.pageNumber;
        const dbSize = f.dbSizeIfCommit;
        if (
          typeof id === 'number' &&
          typeof seq === 'number' &&
          typeof page === 'number' &&
          (typeof txnEpoch === 'number' || txnEpoch === undefined) &&
          (typeof dbSize === 'number' || dbSize === undefined)
        ) {
          // The common commit: its numbers go through a scratch array, not six N-API arguments.
          const s = this.#scratch;
          s[0] = id;
          s[1] = txnEpoch ?? 0;
          s[2] = seq;
          s[3] = page;
          s[4] = dbSize ?? 0;
          return this.#submitScratch(f.pageData);
        }
        return n.submitOne(id, txnEpoch, seq, page, f.pageData, dbSize);
      }
      return n.submit(t.id, t.epoch, batch.commitSeq, frames);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Submits `batch` and resolves with its epoch once that epoch is durable. When the slot is
   * full it waits for room (the next flush) instead of throwing `WAL_BACKPRESSURE`.
   * Commits of the same epoch share one native event and one internal deferred; each call
   * still gets its own promise, so an unhandled failure is reported as such.
   * @returns the durable epoch of the commit.
   * @throws (rejects) WalError `WAL_IO` naming the epoch when it cannot be made durable,
   *   `WAL_CLOSED` when the WAL is closed with `abort`.
   */
  commit(batch: ParallelWalBatch): Promise<number> {
    let epoch: number;
    try {
      epoch = this.submitBatch(batch);
    } catch (e) {
      if (isWalError(e, 'WAL_BACKPRESSURE')) return this.#commitAfterBackpressure(batch);
      return Promise.reject(e);
    }
    return this.#acquire(epoch).promise.then(identity);
  }

  /**
   * Resolves once `epoch` is durable (at once when it already is).
   * @param epoch an epoch returned by {@link submitBatch} (number or bigint).
   * @throws (rejects) WalError `WAL_TIMEOUT` after `timeoutMs`, `WAL_IO` when the epoch failed,
   *   `WAL_CLOSED` when the WAL is closed with `abort`.
   */
  waitForEpochDurable(epoch: number | bigint, options?: WaitOptions): Promise<void> {
    let e: number;
    let timeoutMs: number;
    try {
      e = toEpoch('epoch', epoch);
      if (options !== undefined && (typeof options !== 'object' || options === null)) {
        throw argTypeError('options', 'of type object', options);
      }
      timeoutMs = validateTimeoutMs('options.timeoutMs', options?.timeoutMs === Infinity ? undefined : options?.timeoutMs, Infinity);
    } catch (err) {
      return Promise.reject(err);
    }
    const durable = this.#native === null ? -1 : this.#native.durableEpoch();
    if (e <= durable) return Promise.resolve();
    if (this.#failure !== undefined && e >= this.#failure.epoch) {
      return Promise.reject(this.#failedError(this.#failure.epoch));
    }
    if (this.#native === null) return Promise.reject(closedError('waitForEpochDurable'));
    const d = this.#acquire(e);
    if (timeoutMs === Infinity) return d.promise.then(() => undefined);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#release(d);
        reject(new WalError('WAL_TIMEOUT', `epoch ${e} did not become durable within ${timeoutMs} ms`, { epoch: e }));
      }, timeoutMs);
      d.promise.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /**
   * Seals the current epoch and makes it (and everything sealed before it) durable, off the
   * event loop. Works whether or not the flusher runs.
   * @returns the new current epoch (the sealed one plus one).
   * @throws (rejects) WalError `WAL_TIMEOUT`, `WAL_IO` naming the failed epoch, `WAL_CLOSED`.
   */
  async advanceAndFlush(options?: AdvanceAndFlushOptions): Promise<number> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw argTypeError('options', 'of type object', options);
    }
    const timeoutMs = validateTimeoutMs('options.timeoutMs', options?.timeoutMs, DEFAULT_FLUSH_TIMEOUT_MS);
    const n = this.#native;
    if (n === null) throw closedError('advanceAndFlush');
    this.#syncTracing();
    if (this.#failure !== undefined) throw this.#failedError(this.#failure.epoch);
    let next: number;
    try {
      next = await n.advanceAndFlush(timeoutMs);
    } catch (e) {
      const err = fromNative(e);
      if (isWalError(err, 'WAL_IO')) {
        // Name the epoch like every other WAL_IO rejection; keep the core's message as cause.
        const f = n.isFailed() ? n.failure() : undefined;
        if (f !== undefined) {
          throw new WalError('WAL_IO', `epoch ${f[0]} could not be made durable: ${err.message}`, {
            epoch: f[0],
            errno: err.errno ?? (f[3] || undefined),
            cause: err,
          });
        }
      }
      throw err;
    }
    // Deliver the durable epoch now rather than waiting for the coalesced native event.
    if (this.#native !== null) this.#deliverDurable(this.#native.durableEpoch());
    return next;
  }

  /**
   * Checkpoint: tells the WAL that every epoch <= `epoch` is applied to the application's own
   * storage, so the log no longer needs to keep it. Deletes, off the event loop and beside the
   * running flusher, the log's oldest files whose epochs are all <= `epoch`: renamed out of the
   * log oldest first, with a directory sync after each (unless `fsyncPolicy` is `off`), so that
   * a crash at any point leaves a suffix of the log, which recovers without a gap; then freed a
   * few MiB at a time (freeing a 64 MiB file at once stalls commits in flight for tens of
   * milliseconds), so the promise takes ~30 ms per log file. Whole files only: a log file that also
   * holds a later epoch is kept, and so is the newest file (the log goes on from it), so
   * recovery after a checkpoint returns every epoch > `epoch` and possibly some epochs <= it
   * (replaying an after-image twice gives the same page). See docs/durability.md, "Checkpoints".
   * @param epoch an epoch <= {@link durableEpoch} (number or bigint).
   * @throws TypeError / RangeError (`ERR_OUT_OF_RANGE`) for an epoch that is not a non-negative
   *   integer or is above the durable epoch; (rejects) `WAL_CLOSED`, `WAL_IO` naming the file.
   */
  async checkpoint(epoch: number | bigint): Promise<ParallelWalCheckpointResult> {
    const e = toEpoch('epoch', epoch);
    const n = this.#native;
    if (n === null || this.#intakeClosed) throw closedError('checkpoint');
    const durable = n.durableEpoch();
    if (e > durable) {
      throw argRangeError('epoch', `<= durableEpoch() (${durable < 0 ? 'no epoch is durable yet' : durable})`, epoch);
    }
    let r: [number, number, number];
    try {
      r = await n.checkpoint(e);
    } catch (err) {
      throw fromNative(err);
    }
    return { filesDeleted: r[0], bytesFreed: r[1], firstRetainedEpoch: r[2] < 0 ? null : r[2] };
  }

  /**
   * Starts the flusher thread with the WAL's flush policy.
   * @throws Error `WAL_IO`-free plain Error when it already runs (the seed's "already running").
   */
  start(options?: StartOptions): void {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw argTypeError('options', 'of type object', options);
    }
    const policy = validateFsyncPolicy('options.fsyncPolicy', options?.fsyncPolicy, this.#options.fsyncPolicy);
    const n = this.#handle('start');
    if (this.#intakeClosed) throw closedError('start');
    try {
      n.start(policy);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Stops the flusher thread (joins it); idempotent. Pending epochs wait for the next flush. */
  stop(): void {
    if (this.#native === null) return;
    try {
      this.#native.stop();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Counters of the shared native WAL: epochs, segments, bytes, fsyncs and fsync latency
   * percentiles, backpressure and contention events, fallbacks by reason, current mode.
   */
  stats(): ParallelWalStats {
    const n = this.#handle('stats');
    this.#syncTracing();
    return toParallelWalStats(n.stats());
  }

  // ---- control surface (docs/control.md) ----

  /**
   * Changes the operating mode of the shared WAL at run time. `'conservative'` enters the
   * conservative fallback with reason `operator_forced` (one lane, no shadow compare);
   * `'auto'` or `'shadow_compare'` leave any active fallback (publication_mismatch included).
   * Transitions are published as `fallback_entered` / `fallback_left` trace records.
   * @throws TypeError `ERR_INVALID_ARG_VALUE` for another value; `WAL_CLOSED`.
   */
  setMode(mode: ParallelWalOperatingMode): void {
    if (mode !== 'auto' && mode !== 'conservative' && mode !== 'shadow_compare') {
      throw argValueError('mode', "one of 'auto', 'conservative', 'shadow_compare'", mode);
    }
    const n = this.#handle('setMode');
    n.setMode(mode);
    this.#syncTracing();
    const state = this.controlState();
    this.#publisher.onControlChange(state.mode, state.fallbackReason, n.currentEpoch());
  }

  /** The configured mode, the active fallback (null: none) and the lanes producers use now. */
  controlState(): { mode: ParallelWalOperatingMode; fallbackReason: ParallelWalFallbackReason | null; fallbackActive: boolean; laneCount: number } {
    const [mode, reason, laneCount] = this.#handle('controlState').controlState();
    const fallbackReason = reasonFromName(reason);
    return { mode: mode as ParallelWalOperatingMode, fallbackReason, fallbackActive: fallbackReason !== null, laneCount };
  }

  #initControl(): void {
    const s = this.controlState();
    this.#publisher = new WalRecordPublisher(this.#options.flushPolicy, s.mode, s.fallbackReason);
    this.#syncTracing();
  }

  // Asks the addon to queue epoch items only while someone subscribes. Checked at open, once
  // per new epoch waited on, on stats()/setMode()/advanceAndFlush() and on every delivery.
  #syncTracing(): void {
    const want = recordsWanted();
    if (want === this.#tracing || this.#native === null) return;
    this.#tracing = want;
    this.#native.setTracing(want, this.#options.traceQueueCapacity);
  }

  #onTrace(dropped: number, items: ArrayBuffer | undefined): void {
    this.#syncTracing();
    if (items !== undefined) this.#publisher.onItems(dropped, items);
  }

  /**
   * Stops intake and settles every pending promise: by making the pending epochs durable, or,
   * with `abort`, by rejecting them with `WAL_CLOSED`. Then releases this handle on the native
   * WAL (which closes, lock included, with its last handle in the process). Idempotent.
   */
  close(options?: CloseOptions): Promise<void> {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(argTypeError('options', 'of type object', options));
    }
    const abort = options?.abort === true;
    if (this.#closing !== undefined) {
      if (abort) this.#abortWaiters();
      return this.#closing;
    }
    this.#intakeClosed = true;
    unregister(this);
    this.#closing = this.#closeImpl(abort);
    return this.#closing;
  }

  async #closeImpl(abort: boolean): Promise<void> {
    if (!abort && this.#native !== null && this.#failure === undefined && !this.#native.isFailed()) {
      try {
        await this.advanceAndFlush({ timeoutMs: 2 ** 31 - 1 });
      } catch {
        // A fatal failure already rejected the waiters; anything left is rejected below.
      }
    }
    this.#abortWaiters();
    const n = this.#native;
    this.#native = null;
    if (n !== null) {
      if (this.#refs > 0) n.setWaiting(false);
      this.#refs = 0;
      n.close(abort);
    }
  }

  #abortWaiters(): void {
    const n = this.#waiters.rejectAll((epoch) =>
      this.#failure !== undefined && epoch >= this.#failure.epoch
        ? this.#failedError(this.#failure.epoch)
        : new WalError('WAL_CLOSED', `the WAL was closed before epoch ${epoch} became durable`, { epoch }),
    );
    this.#unref(n);
    this.#wakeRoomWaiters();
  }

  #handle(what: string): NativeWalHandle {
    const n = this.#native;
    if (n === null) throw closedError(what);
    return n;
  }

  #failedError(epoch: number): WalError {
    const f = this.#failure;
    const cause = f?.error;
    return new WalError('WAL_IO', `epoch ${epoch} could not be made durable: ${cause ? cause.message : 'unknown cause'}`, {
      epoch,
      errno: cause?.errno,
      cause,
    });
  }

  // ---- ref counting of the native thread-safe function ----

  #ref(): void {
    if (this.#refs++ === 0 && this.#native !== null) {
      const n = this.#native;
      const durable = n.setWaiting(true);
      // The flusher may have published (or failed) before the handle started listening.
      const failure = n.isFailed() ? n.failure() : undefined;
      queueMicrotask(() => {
        if (durable >= 0) this.#deliverDurable(durable);
        if (failure !== undefined) this.#deliverFailure(failure[0], failure[1], failure[2], failure[3]);
      });
    }
  }

  #unref(count: number): void {
    if (count <= 0) return;
    this.#refs -= count;
    if (this.#refs <= 0) {
      this.#refs = 0;
      if (this.#native !== null) this.#native.setWaiting(false);
    }
  }

  #acquire(epoch: number): EpochDeferred {
    const before = this.#waiters.size;
    const d = this.#waiters.acquire(epoch);
    if (this.#waiters.size > before) {
      if (this.#tracing !== recordsWanted()) this.#syncTracing();
      this.#ref();
      // Once per epoch (not per commit): ask for this epoch to be sealed and reported.
      this.#native?.requestFlush(epoch);
    }
    return d;
  }

  #release(d: EpochDeferred): void {
    const before = this.#waiters.size;
    this.#waiters.release(d);
    this.#unref(before - this.#waiters.size);
  }

  // ---- native events ----

  #onEvent(kind: number, epoch: number, code?: string, message?: string, errno?: number): void {
    this.#nativeEvents++;
    if (kind === EVENT_DURABLE) {
      this.#deliverDurable(epoch);
      this.#scheduleEndTurn();
    } else if (kind === EVENT_FAILED) {
      this.#deliverFailure(epoch, code, message, errno);
    } else if (kind === EVENT_CLOSED) {
      // The shared WAL was closed under us (removed elsewhere): settle what is left.
      this.#deliverDurable(epoch);
      this.#intakeClosed = true;
      this.#abortWaiters();
    }
  }

  /**
   * Tells the flusher when the turn that follows a durable event is over (Wal::EndTurn): until
   * then it holds the next seal, so that the commits made by the callers just resolved join the
   * epoch already waiting. The resolutions run as microtasks after this callback; a nextTick
   * queued now would run before them, one queued from a microtask runs once the microtask queue
   * (the callers' next commits included) has drained.
   */
  #scheduleEndTurn(): void {
    if (this.#endTurnQueued) return;
    this.#endTurnQueued = true;
    queueMicrotask(this.#queueEndTurn);
  }

  #deliverDurable(durable: number): void {
    if (durable >= 0) this.#unref(this.#waiters.resolveUpTo(durable));
    this.#wakeRoomWaiters();
    // Still waiting: the next transition must be reported too.
    if (this.#native !== null && this.#refs > 0) {
      const lowest = this.#waiters.lowest();
      this.#native.requestFlush(lowest);
    }
  }

  #deliverFailure(epoch: number, code: string | undefined, message: string | undefined, errno: number | undefined): void {
    if (this.#failure === undefined) {
      const cause = new WalError((code as WalError['code']) ?? 'WAL_IO', message ?? 'flush failed', {
        epoch,
        errno: errno === undefined || errno === 0 ? undefined : errno,
      });
      this.#failure = { epoch, error: cause };
    }
    // Epochs below the failed one are durable (durability is a prefix); resolve them first.
    if (this.#native !== null) this.#unref(this.#waiters.resolveUpTo(this.#native.durableEpoch()));
    const f = this.#failure.epoch;
    this.#unref(this.#waiters.rejectAll(() => this.#failedError(f)));
    this.#wakeRoomWaiters();
  }

  #wakeRoomWaiters(): void {
    if (this.#roomWaiters.length === 0) return;
    const room = this.#roomWaiters;
    this.#roomWaiters = [];
    this.#unref(room.length);
    for (const wake of room) wake();
  }

  async #commitAfterBackpressure(batch: ParallelWalBatch): Promise<number> {
    for (;;) {
      await new Promise<void>((resolve) => {
        this.#roomWaiters.push(resolve);
        this.#ref();
      });
      let epoch: number;
      try {
        epoch = this.submitBatch(batch);
      } catch (e) {
        if (isWalError(e, 'WAL_BACKPRESSURE')) continue;
        throw e;
      }
      return this.#acquire(epoch).promise.then(identity);
    }
  }

  /** Pending epochs (diagnostics and tests). @internal */
  pendingEpochs(): number[] {
    return this.#waiters.pendingEpochs();
  }

  /** JS callbacks received from the native event channel so far (diagnostics and tests). @internal */
  nativeEventCount(): number {
    return this.#nativeEvents;
  }
}

const identity = (epoch: number): number => epoch;

function toEpoch(name: string, value: unknown): number {
  if (typeof value === 'bigint') {
    if (value < 0n) throw argRangeError(name, 'a non-negative safe integer or bigint', value);
    // Epochs stay below 2^53; anything above can never be reached, so clamp for comparison.
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }
  if (typeof value !== 'number') throw argTypeError(name, 'of type number or bigint', value);
  if (!Number.isSafeInteger(value) || value < 0) throw argRangeError(name, 'a non-negative safe integer or bigint', value);
  return value;
}

// ---- the per-environment registry (the seed's parallel_wal_coordinator_for_path) ----

const registry = new Map<string, ParallelWalCoordinator>();

function unregister(c: ParallelWalCoordinator): void {
  if (registry.get(c.dbPath) === c) registry.delete(c.dbPath);
}

/**
 * The coordinator of `dbPath` for this thread, opened (and started) on first use. Every call
 * with the same path returns the same object; every thread's coordinator of a path shares
 * one native WAL.
 * @param options used only when the coordinator is created.
 */
export function parallelWalCoordinatorForPath(dbPath: string, options?: OpenOptions): ParallelWalCoordinator {
  if (typeof dbPath !== 'string' || dbPath.length === 0) throw argTypeError('dbPath', 'a non-empty string', dbPath);
  const key = path.resolve(dbPath);
  let c = registry.get(key);
  if (c === undefined) {
    c = ParallelWal.open(key, options);
    registry.set(key, c);
  }
  return c;
}

/**
 * Removes the coordinator of `dbPath` from this thread's registry and closes it (its pending
 * commits become durable first). Resolves to whether there was one.
 */
export async function removeParallelWalCoordinator(dbPath: string): Promise<boolean> {
  if (typeof dbPath !== 'string' || dbPath.length === 0) throw argTypeError('dbPath', 'a non-empty string', dbPath);
  const key = path.resolve(dbPath);
  const c = registry.get(key);
  if (c === undefined) return false;
  registry.delete(key);
  await c.close();
  return true;
}

/** Entry point: `ParallelWal.open(dbPath, options)`. */
export const ParallelWal = Object.freeze({
  /**
   * Opens the WAL of `dbPath` and starts its flusher (unless `autoStart: false`).
   * @returns the coordinator, synchronously (opening only reads directory metadata).
   */
  open(dbPath: string, options?: OpenOptions): ParallelWalCoordinator {
    let autoStart = true;
    let rest: ParallelWalOptions | undefined = options;
    if (options !== undefined && options !== null && typeof options === 'object' && 'autoStart' in options) {
      const { autoStart: a, ...others } = options;
      if (a !== undefined && typeof a !== 'boolean') throw argTypeError('options.autoStart', 'of type boolean', a);
      autoStart = a !== false;
      rest = others;
    }
    startOnOpen = autoStart;
    let c: ParallelWalCoordinator;
    try {
      c = new ParallelWalCoordinator(dbPath, rest);
    } finally {
      startOnOpen = false;
    }
    if (autoStart && !c.isRunning()) {
      try {
        c.start();
      } catch (e) {
        // Another thread may have started the shared flusher in between.
        if (!c.isRunning()) {
          void c.close({ abort: true });
          throw e;
        }
      }
    }
    return c;
  },
});
