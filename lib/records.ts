// Typed records that describe what the WAL did: commit certificates (stored in each v2
// segment), trace records (diagnostics_channel 'parallel-wal:trace') and decision records of the
// adaptive flusher ('parallel-wal:decision').
import type { ParallelWalFallbackReason, ParallelWalOperatingMode } from './control';

export type { ParallelWalCommitCertificate } from './segment-types';

/** What a trace record reports. */
export type ParallelWalTraceEvent =
  | 'epoch_sealed'
  | 'segment_written'
  | 'epoch_durable'
  | 'epoch_failed'
  | 'fallback_entered'
  | 'fallback_left'
  | 'shadow_verdict'
  | 'recovery_finished';

export interface ParallelWalTraceRecord {
  component: string;
  event: ParallelWalTraceEvent;
  traceId: bigint;
  decisionId: bigint | null;
  mode: ParallelWalOperatingMode;
  laneId: number | null;
  epoch: bigint | null;
  commitSeqLo: bigint | null;
  commitSeqHi: bigint | null;
  checkpointEpoch: bigint | null;
  recoveryEpoch: bigint | null;
  fallbackActive: boolean;
  fallbackReason: ParallelWalFallbackReason | null;
  policyId: string | null;
  policyVersion: string | null;
  /** Event-specific details (bytes written, fsync time, shadow verdict, ...). */
  detail?: Record<string, unknown>;
}

export type ParallelWalDecisionAction =
  | 'keep_current'
  | 'seal_epoch_now'
  | 'increase_lane_budget'
  | 'decrease_lane_budget'
  | 'force_conservative';

export interface ParallelWalDecisionRecord {
  policyId: string;
  policyVersion: string;
  decisionId: bigint;
  action: ParallelWalDecisionAction;
  confidenceBps: number;
  expectedLossMicros: bigint;
  topEvidenceTerms: string[];
  counterfactualAction: ParallelWalDecisionAction;
  counterfactualRegretMicros: bigint;
  fallbackActive: boolean;
}
