// ParallelWalLaneStager<T>: per-lane FIFO queues of staged batches with per-lane frame backlogs.
// A flush names the batches it takes (TransactionFrameBatchContext); the stager hands them out
// only if, lane by lane, they are exactly the oldest queued batches in that order — otherwise it
// drains nothing, so a reordered flush can never publish frames out of order.
import {
  clampParallelWalLaneCount,
  defaultParallelWalLaneCount,
  type ParallelWalControlSurface,
  type ParallelWalShadowVerdict,
} from './control';

/** One staged batch on a lane. */
export interface ParallelWalLaneBatch<T> {
  batchId: number;
  laneId: number;
  stagedFrameCount: number;
  stagingElapsedNs: number;
  shadowVerdict: ParallelWalShadowVerdict;
  payload: T;
}

/** What a flush says about a batch it wants to take. */
export interface TransactionFrameBatchContext {
  batchId: number;
  laneId: number;
  stagedFrameCount: number;
  stagingElapsedNs: number;
}

/** Returns the calling thread's lane id for a given lane count (0 <= id < laneCount). */
export type LaneIdProvider = (laneCount: number) => number;

export interface ParallelWalLaneStagerOptions {
  /**
   * Lane of the calling thread. The default is the native thread slot: a process-wide counter
   * handed out on each OS thread's first use, modulo the lane count (main thread and every
   * worker get their own, stable for the thread's life).
   * @default native thread slot
   */
  laneIdProvider?: LaneIdProvider;
}

let defaultProvider: LaneIdProvider | undefined;
/** @internal Installed by the native module loader (avoids a load-order cycle). */
export function setDefaultLaneIdProvider(provider: LaneIdProvider): void {
  defaultProvider = provider;
}

export class ParallelWalLaneStager<T> {
  readonly #control: ParallelWalControlSurface;
  readonly #laneIdProvider: LaneIdProvider | undefined;
  #nextBatchId = 1;
  readonly #laneBatches = new Map<number, ParallelWalLaneBatch<T>[]>();
  readonly #laneBacklog = new Map<number, number>();

  constructor(control: ParallelWalControlSurface, options: ParallelWalLaneStagerOptions = {}) {
    this.#control = { ...control };
    this.#laneIdProvider = options.laneIdProvider;
  }

  control(): Readonly<ParallelWalControlSurface> {
    return this.#control;
  }

  /** A fresh batch id (starts at 1). */
  nextBatchId(): number {
    return this.#nextBatchId++;
  }

  /** 1 in conservative mode; else the override (or one per CPU), clamped to 1..65535. */
  laneCount(): number {
    if (this.#control.mode === 'conservative') return 1;
    return clampParallelWalLaneCount(this.#control.laneCountOverride ?? defaultParallelWalLaneCount());
  }

  /** The calling thread's lane. */
  currentLaneId(): number {
    const count = this.laneCount();
    const provider = this.#laneIdProvider ?? defaultProvider;
    if (!provider) throw new Error('ParallelWalLaneStager: no lane id provider (native module not loaded)');
    const id = provider(count);
    if (!Number.isInteger(id) || id < 0 || id >= count) {
      throw new RangeError(`lane id provider returned ${id} for a lane count of ${count}`);
    }
    return id;
  }

  /** Frames staged on `laneId` and not yet taken or discarded. */
  currentLaneBacklog(laneId: number): number {
    return this.#laneBacklog.get(laneId) ?? 0;
  }

  /** Queues a batch on its lane; returns that lane's new backlog in frames. */
  recordBatch(batch: ParallelWalLaneBatch<T>): number {
    let queue = this.#laneBatches.get(batch.laneId);
    if (!queue) {
      queue = [];
      this.#laneBatches.set(batch.laneId, queue);
    }
    queue.push(batch);
    const backlog = (this.#laneBacklog.get(batch.laneId) ?? 0) + Math.max(0, batch.stagedFrameCount);
    this.#laneBacklog.set(batch.laneId, backlog);
    return backlog;
  }

  /**
   * Takes the named batches if, on every lane, they are the oldest queued ones in the given
   * order; returns them by batch id. Otherwise returns undefined and drains nothing.
   */
  takeBatchesForFlush(contexts: readonly TransactionFrameBatchContext[]): Map<number, ParallelWalLaneBatch<T>> | undefined {
    const offsets = new Map<number, number>();
    for (const c of contexts) {
      const offset = offsets.get(c.laneId) ?? 0;
      const candidate = this.#laneBatches.get(c.laneId)?.[offset];
      if (!candidate || candidate.batchId !== c.batchId) return undefined;
      offsets.set(c.laneId, offset + 1);
    }
    const out = new Map<number, ParallelWalLaneBatch<T>>();
    for (const c of contexts) {
      const queue = this.#laneBatches.get(c.laneId)!;
      const batch = queue.shift()!;
      this.#subtractBacklog(c.laneId, batch.stagedFrameCount);
      if (queue.length === 0) this.#laneBatches.delete(c.laneId);
      out.set(batch.batchId, batch);
    }
    return out;
  }

  /** Drops the named batches wherever they are queued; unknown ids are ignored. Returns the count removed. */
  discardBatchesForFlush(contexts: readonly TransactionFrameBatchContext[]): number {
    if (contexts.length === 0) return 0;
    const ids = new Set(contexts.map((c) => c.batchId));
    let removed = 0;
    for (const [laneId, queue] of this.#laneBatches) {
      const retained = queue.filter((b) => {
        if (!ids.has(b.batchId)) return true;
        removed++;
        this.#subtractBacklog(laneId, b.stagedFrameCount);
        return false;
      });
      if (retained.length === 0) this.#laneBatches.delete(laneId);
      else this.#laneBatches.set(laneId, retained);
    }
    return removed;
  }

  #subtractBacklog(laneId: number, frames: number): void {
    const backlog = Math.max(0, (this.#laneBacklog.get(laneId) ?? 0) - Math.max(0, frames));
    if (backlog === 0) this.#laneBacklog.delete(laneId);
    else this.#laneBacklog.set(laneId, backlog);
  }
}
