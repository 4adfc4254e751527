// Trace and decision records on node:diagnostics_channel.
//
// The native flusher keeps a few counters per epoch (trigger, records, bytes, write and fsync
// time, shadow verdict, fallback reason, ...). Only while someone subscribes to
// 'parallel-wal:trace' or 'parallel-wal:decision' does a WAL handle ask the addon to queue them;
// they reach the JS thread that owns the handle in batches (one thread-safe-function call per
// burst), and only then are the records built and published — on that thread. Nobody listening:
// nothing is queued, nothing is built.
import * as diagnosticsChannel from 'node:diagnostics_channel';

import {
  PARALLEL_WAL_FALLBACK_REASONS,
  type ParallelWalFallbackReason,
  type ParallelWalOperatingMode,
  type ParallelWalShadowVerdict,
} from './control';
import type {
  ParallelWalDecisionAction,
  ParallelWalDecisionRecord,
  ParallelWalTraceEvent,
  ParallelWalTraceRecord,
} from './records';

/** Channel of {@link ParallelWalTraceRecord}s. */
export const PARALLEL_WAL_TRACE_CHANNEL = 'parallel-wal:trace';
/** Channel of the flusher's {@link ParallelWalDecisionRecord}s. */
export const PARALLEL_WAL_DECISION_CHANNEL = 'parallel-wal:decision';
/** `component` of every trace record. */
export const PARALLEL_WAL_TRACE_COMPONENT = 'parallel-wal';
/** Version of the flusher policies whose decisions are published. */
export const PARALLEL_WAL_FLUSH_POLICY_VERSION = 'flusher_v1';

// Strong references: a channel object with subscribers must stay the one we publish on.
const traceChannel = diagnosticsChannel.channel(PARALLEL_WAL_TRACE_CHANNEL);
const decisionChannel = diagnosticsChannel.channel(PARALLEL_WAL_DECISION_CHANNEL);

/** True while anyone subscribes to the trace or the decision channel. @internal */
export function recordsWanted(): boolean {
  return traceChannel.hasSubscribers || decisionChannel.hasSubscribers;
}

let nextTraceId = 1n;
let nextDecisionId = 1n;

/** Layout of one packed epoch item (native/binding/wal_events.cc PackTraceItem). @internal */
export const TRACE_FIELDS = 24;
const F = {
  epoch: 0,
  durable: 1,
  trigger: 2,
  records: 3,
  bytesWritten: 4,
  attempts: 5,
  writeNs: 6,
  fsyncNs: 7,
  batchBytes: 8,
  oldestPendingNs: 9,
  waiters: 10,
  prevWriteNs: 11,
  shadowVerdict: 12,
  fallbackReason: 13,
  mode: 14,
  lanes: 15,
  overflowBatches: 16,
  failed: 17,
  contention: 18,
  latch: 19,
  laneCount: 20,
  hasSeq: 21,
  seqLo: 22,
  seqHi: 23,
} as const;

const TRIGGERS = ['ticker', 'adaptive', 'request', 'max_delay', 'backpressure', 'fallback', 'manual', 'close'] as const;
const MODES: readonly ParallelWalOperatingMode[] = ['auto', 'conservative', 'shadow_compare'];
const VERDICTS: readonly ParallelWalShadowVerdict[] = ['not_run', 'clean', 'diverged'];

function reasonAt(index: number): ParallelWalFallbackReason | null {
  return index > 0 ? (PARALLEL_WAL_FALLBACK_REASONS[index - 1] ?? null) : null;
}

/** A fallback reason from its native name ('none' -> null). @internal */
export function reasonFromName(name: string): ParallelWalFallbackReason | null {
  return (PARALLEL_WAL_FALLBACK_REASONS as readonly string[]).includes(name) ? (name as ParallelWalFallbackReason) : null;
}

interface BaseFields {
  mode: ParallelWalOperatingMode;
  epoch?: bigint | null;
  commitSeqLo?: bigint | null;
  commitSeqHi?: bigint | null;
  recoveryEpoch?: bigint | null;
  fallbackReason: ParallelWalFallbackReason | null;
  decisionId?: bigint | null;
  policyId?: string | null;
  detail?: Record<string, unknown>;
}

function traceRecord(event: ParallelWalTraceEvent, f: BaseFields): ParallelWalTraceRecord {
  return {
    component: PARALLEL_WAL_TRACE_COMPONENT,
    event,
    traceId: nextTraceId++,
    decisionId: f.decisionId ?? null,
    mode: f.mode,
    laneId: null,
    epoch: f.epoch ?? null,
    commitSeqLo: f.commitSeqLo ?? null,
    commitSeqHi: f.commitSeqHi ?? null,
    checkpointEpoch: null,
    recoveryEpoch: f.recoveryEpoch ?? null,
    fallbackActive: f.fallbackReason !== null,
    fallbackReason: f.fallbackReason,
    policyId: f.policyId ?? null,
    policyVersion: f.policyId ? PARALLEL_WAL_FLUSH_POLICY_VERSION : null,
    ...(f.detail ? { detail: f.detail } : {}),
  };
}

/** Publishes one trace record built by `build` if anyone subscribes. @internal */
export function publishTrace(event: ParallelWalTraceEvent, build: () => BaseFields): void {
  if (!traceChannel.hasSubscribers) return;
  traceChannel.publish(traceRecord(event, build()));
}

const us = (ns: number): number => Math.round(ns / 1000);
const I64_MAX = (1n << 63n) - 1n;

/**
 * Per-handle builder of trace and decision records from the packed epoch items. Also remembers
 * the last fallback reason it reported, so that entering and leaving a fallback are published
 * once each.
 * @internal
 */
export class WalRecordPublisher {
  #reason: ParallelWalFallbackReason | null;
  #mode: ParallelWalOperatingMode;
  #ignoreBelowEpoch = 0;
  readonly #policyId: string;

  constructor(flushPolicy: string, mode: ParallelWalOperatingMode, reason: ParallelWalFallbackReason | null) {
    this.#policyId = `parallel-wal.flusher.${flushPolicy}`;
    this.#mode = mode;
    this.#reason = reason;
  }

  /** The mode/fallback changed on this thread (setMode): report it now. */
  onControlChange(mode: ParallelWalOperatingMode, reason: ParallelWalFallbackReason | null, currentEpoch: number): void {
    this.#mode = mode;
    // Items sealed before the change still carry the old state: do not report it back.
    this.#ignoreBelowEpoch = currentEpoch;
    this.#transition(reason, BigInt(currentEpoch), { source: 'setMode' });
  }

  #transition(reason: ParallelWalFallbackReason | null, epoch: bigint | null, detail: Record<string, unknown>): void {
    const old = this.#reason;
    if (old === reason) return;
    this.#reason = reason;
    if (old !== null) {
      publishTrace('fallback_left', () => ({ mode: this.#mode, epoch, fallbackReason: old, detail }));
    }
    if (reason !== null) {
      publishTrace('fallback_entered', () => ({ mode: this.#mode, epoch, fallbackReason: reason, detail }));
    }
  }

  /** A batch of packed epoch items arrived (kEventTrace); `dropped` items were lost. */
  onItems(dropped: number, buffer: ArrayBuffer): void {
    const wantTrace = traceChannel.hasSubscribers;
    const wantDecision = decisionChannel.hasSubscribers;
    if (!wantTrace && !wantDecision) return;
    if (dropped > 0) {
      publishTrace('fallback_entered', () => ({
        mode: this.#mode,
        fallbackReason: 'controller_evidence_lost',
        detail: { dropped },
      }));
    }
    const f64 = new Float64Array(buffer);
    const u64 = new BigUint64Array(buffer);
    for (let base = 0; base + TRACE_FIELDS <= f64.length; base += TRACE_FIELDS) {
      this.#item(f64, u64, base, wantTrace, wantDecision);
    }
    if (dropped > 0) {
      publishTrace('fallback_left', () => ({
        mode: this.#mode,
        fallbackReason: 'controller_evidence_lost',
        detail: { dropped },
      }));
    }
  }

  #item(f: Float64Array, u: BigUint64Array, b: number, wantTrace: boolean, wantDecision: boolean): void {
    const epochNum = f[b + F.epoch];
    const epoch = BigInt(epochNum);
    const records = f[b + F.records];
    const mode = MODES[f[b + F.mode]] ?? 'auto';
    this.#mode = mode;
    const sticky = reasonAt(f[b + F.fallbackReason]);
    const overflow = f[b + F.overflowBatches];
    const reason: ParallelWalFallbackReason | null =
      sticky ?? (overflow > 0 || f[b + F.latch] === 1 ? 'lane_overflow' : null);
    const hasSeq = f[b + F.hasSeq] === 1;
    const seqLo = hasSeq ? u[b + F.seqLo] : null;
    const seqHi = hasSeq ? u[b + F.seqHi] : null;
    const trigger = TRIGGERS[f[b + F.trigger]] ?? 'adaptive';
    const verdict = VERDICTS[f[b + F.shadowVerdict]] ?? 'not_run';
    const failed = f[b + F.failed] === 1;
    const common = { mode, epoch, commitSeqLo: seqLo, commitSeqHi: seqHi, fallbackReason: reason, policyId: this.#policyId };

    let decisionId: bigint | null = null;
    if (wantDecision && records > 0 && trigger !== 'manual' && trigger !== 'close') {
      decisionId = this.#publishSeal(f, b, trigger, reason);
    }
    if (wantTrace) {
      publishTrace('epoch_sealed', () => ({
        ...common,
        decisionId,
        detail: {
          trigger,
          records,
          accountedBytes: f[b + F.batchBytes],
          lanes: f[b + F.lanes],
          laneCount: f[b + F.laneCount],
          oldestPendingUs: us(f[b + F.oldestPendingNs]),
          waiters: f[b + F.waiters] === 1,
          overflowBatches: overflow,
          contentionEvents: f[b + F.contention],
        },
      }));
      if (records > 0 && !failed) {
        publishTrace('segment_written', () => ({
          ...common,
          detail: {
            bytes: f[b + F.bytesWritten],
            attempts: f[b + F.attempts],
            writeUs: us(f[b + F.writeNs]),
            fsyncUs: us(f[b + F.fsyncNs]),
          },
        }));
      }
      if (verdict !== 'not_run') {
        publishTrace('shadow_verdict', () => ({ ...common, detail: { verdict } }));
      }
    }
    if (epochNum >= this.#ignoreBelowEpoch) this.#transition(reason, epoch, { trigger });
    if (wantDecision && verdict === 'diverged') this.#publishForceConservative(f, b, reason);
    if (wantTrace) {
      if (failed) {
        publishTrace('epoch_failed', () => ({ ...common, detail: { attempts: f[b + F.attempts] } }));
      } else {
        const durable = f[b + F.durable];
        publishTrace('epoch_durable', () => ({
          ...common,
          detail: { durableEpoch: durable >= 0 ? BigInt(durable) : null, records },
        }));
      }
    }
  }

  // The flusher sealed a non-empty epoch. Cost model (documented in docs/control.md): with the
  // writer idle, sealing now costs the P pending commits one publish W each; keeping the epoch
  // open for another W would cost them 2W and save them nothing (arrivals during a write are
  // batched into the next epoch either way), so the regret of the counterfactual is P*W.
  #publishSeal(f: Float64Array, b: number, trigger: string, reason: ParallelWalFallbackReason | null): bigint {
    const records = f[b + F.records];
    const w = f[b + F.prevWriteNs] > 0 ? f[b + F.prevWriteNs] : f[b + F.writeNs];
    const waiters = f[b + F.waiters] === 1;
    const forced = trigger === 'max_delay' || trigger === 'backpressure' || trigger === 'fallback';
    const lossMicros = BigInt(Math.round((records * w) / 1000));
    const id = nextDecisionId++;
    const record: ParallelWalDecisionRecord = {
      policyId: this.#policyId,
      policyVersion: PARALLEL_WAL_FLUSH_POLICY_VERSION,
      decisionId: id,
      action: 'seal_epoch_now',
      confidenceBps: forced || waiters ? 10000 : 9000,
      expectedLossMicros: lossMicros,
      topEvidenceTerms: [
        `trigger=${trigger}`,
        `pending_records=${records}`,
        `pending_bytes=${f[b + F.batchBytes]}`,
        `waiting_commits=${waiters ? 'yes' : 'no'}`,
        `oldest_pending_us=${us(f[b + F.oldestPendingNs])}`,
        `last_write_us=${us(f[b + F.prevWriteNs])}`,
        `last_fsync_us=${us(f[b + F.fsyncNs])}`,
        `contention_events=${f[b + F.contention]}`,
        `lanes=${f[b + F.lanes]}/${f[b + F.laneCount]}`,
      ],
      counterfactualAction: 'keep_current',
      counterfactualRegretMicros: lossMicros,
      fallbackActive: reason !== null,
    };
    decisionChannel.publish(record);
    return id;
  }

  #publishForceConservative(f: Float64Array, b: number, reason: ParallelWalFallbackReason | null): void {
    const action: ParallelWalDecisionAction = 'force_conservative';
    const record: ParallelWalDecisionRecord = {
      policyId: this.#policyId,
      policyVersion: PARALLEL_WAL_FLUSH_POLICY_VERSION,
      decisionId: nextDecisionId++,
      action,
      confidenceBps: 10000,
      // The rewrite of the epoch is the cost paid now.
      expectedLossMicros: BigInt(us(f[b + F.writeNs])),
      topEvidenceTerms: [
        'shadow_verdict=diverged',
        `epoch=${f[b + F.epoch]}`,
        `attempts=${f[b + F.attempts]}`,
        `fallback_reason=${reason ?? 'none'}`,
      ],
      // Keeping the diverged segment would publish bytes nobody submitted: unbounded regret.
      counterfactualAction: 'keep_current',
      counterfactualRegretMicros: I64_MAX,
      fallbackActive: true,
    };
    decisionChannel.publish(record);
  }
}
