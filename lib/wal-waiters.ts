// JS-side bookkeeping of promises waiting for epochs to become durable.
//
// One deferred per epoch, shared by every commit of that epoch: a native event ("durable up to
// E") costs one pass over the epochs <= E, not one callback per commit. Epochs are kept sorted
// (appends are almost always at the tail, since the append epoch only grows), consumed from a
// moving head index, so resolution is O(epochs resolved).

const noop = (): void => {};

/** A pending epoch: one promise shared by all its waiters. @internal */
export interface EpochDeferred {
  readonly epoch: number;
  readonly promise: Promise<number>;
  /** Number of interested parties (commits and untimed waits count; timed-out waits leave). */
  holders: number;
  settled: boolean;
  resolve(epoch: number): void;
  reject(err: unknown): void;
}

/** Sorted set of pending epochs with shared deferreds. @internal */
export class EpochWaiters {
  #epochs: number[] = [];
  #head = 0;
  #byEpoch = new Map<number, EpochDeferred>();

  /** Number of pending epochs. */
  get size(): number {
    return this.#byEpoch.size;
  }

  /** Lowest pending epoch, if any. */
  lowest(): number | undefined {
    this.#skipDead();
    return this.#head < this.#epochs.length ? this.#epochs[this.#head] : undefined;
  }

  /** Every pending epoch, ascending (tests and diagnostics). */
  pendingEpochs(): number[] {
    return this.#epochs.slice(this.#head).filter((e) => this.#byEpoch.has(e));
  }

  /**
   * The deferred of `epoch`, created when missing; `created` tells the caller whether the set
   * went from not having it to having it.
   */
  acquire(epoch: number): EpochDeferred {
    let d = this.#byEpoch.get(epoch);
    if (d !== undefined) {
      d.holders++;
      return d;
    }
    let resolve!: (e: number) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A deferred may be rejected after its last holder left (timed out): never report that
    // as an unhandled rejection. Holders still see the rejection through their own chains.
    promise.catch(noop);
    d = { epoch, promise, holders: 1, settled: false, resolve, reject };
    this.#byEpoch.set(epoch, d);
    this.#insert(epoch);
    return d;
  }

  /** A holder leaves (its wait timed out); the epoch is forgotten when no holder remains. */
  release(d: EpochDeferred): void {
    if (d.settled) return;
    if (--d.holders > 0) return;
    if (this.#byEpoch.get(d.epoch) === d) this.#byEpoch.delete(d.epoch);
    this.#compact();
  }

  /** Resolves every epoch <= durable; returns how many epochs were resolved. */
  resolveUpTo(durable: number): number {
    let n = 0;
    const epochs = this.#epochs;
    while (this.#head < epochs.length && epochs[this.#head] <= durable) {
      const e = epochs[this.#head++];
      const d = this.#byEpoch.get(e);
      if (d === undefined) continue;
      this.#byEpoch.delete(e);
      d.settled = true;
      d.resolve(e);
      n++;
    }
    this.#compact();
    return n;
  }

  /** Rejects every pending epoch with `makeError(epoch)`. */
  rejectAll(makeError: (epoch: number) => unknown): number {
    const pending = [...this.#byEpoch.values()];
    this.#byEpoch.clear();
    this.#epochs = [];
    this.#head = 0;
    for (const d of pending) {
      d.settled = true;
      d.reject(makeError(d.epoch));
    }
    return pending.length;
  }

  #insert(epoch: number): void {
    const a = this.#epochs;
    if (a.length === this.#head || a[a.length - 1] < epoch) {
      a.push(epoch);
      return;
    }
    // Rare: an older epoch (a wait on an epoch that is not the newest). Binary search.
    let lo = this.#head;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < epoch) lo = mid + 1;
      else hi = mid;
    }
    if (a[lo] !== epoch) a.splice(lo, 0, epoch);
  }

  #skipDead(): void {
    while (this.#head < this.#epochs.length && !this.#byEpoch.has(this.#epochs[this.#head])) this.#head++;
  }

  #compact(): void {
    if (this.#byEpoch.size === 0) {
      this.#epochs = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#epochs.length) {
      this.#epochs = this.#epochs.slice(this.#head);
      this.#head = 0;
    }
  }
}
