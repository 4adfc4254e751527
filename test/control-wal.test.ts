// The control surface drives the WAL: modes, lanes, batch limit, flush-delay bound, shadow
// compare, fallbacks, trace/decision records, stats.
import * as diagnosticsChannel from 'node:diagnostics_channel';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import {
  PARALLEL_WAL_DECISION_CHANNEL,
  PARALLEL_WAL_TRACE_CHANNEL,
  ParallelWal,
  ParallelWalCoordinator,
  type ParallelWalCommitCertificate,
  type ParallelWalDecisionRecord,
  type ParallelWalTraceRecord,
  listSegmentsSync,
  readSegmentSync,
  recoverSegmentsSync,
} from '../lib/index';
import { catchError } from './helpers';
import { FIXTURES, oneFrame, recovered, removeTmpDirs, tmpDbPath } from './wal-helpers';

afterAll(() => removeTmpDirs());

function collect<T>(name: string): { records: T[]; stop: () => void } {
  const records: T[] = [];
  const fn = (m: unknown): void => {
    records.push(m as T);
  };
  diagnosticsChannel.subscribe(name, fn);
  return { records, stop: () => diagnosticsChannel.unsubscribe(name, fn) };
}

/** Every epoch's certificate, in order: one per segment file, one per frame of a log file. */
function certificates(db: string): ParallelWalCommitCertificate[] {
  return listSegmentsSync(db).flatMap((s) => {
    const seg = readSegmentSync(s.path);
    return seg.frames ? seg.frames.map((f) => f.certificate) : [seg.certificate!];
  });
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Waits until `cond` holds (the trace batches arrive through the event loop).
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await tick(5);
  }
}

describe('options.control', () => {
  test('defaults to auto with every lane; validates its fields', async () => {
    const wal = ParallelWal.open(tmpDbPath(), { slotCount: 16 });
    expect(wal.options.control).toEqual({ mode: 'auto' });
    expect(wal.controlState()).toEqual({ mode: 'auto', fallbackReason: null, fallbackActive: false, laneCount: 16 });
    await wal.close();
    expect(catchError(() => ParallelWal.open(tmpDbPath(), { control: { mode: 'fast' as never } })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(catchError(() => ParallelWal.open(tmpDbPath(), { control: { mode: 'auto', lanes: 2 } as never })).message).toMatch(/options\.control\.lanes/);
  });

  test('helperLaneBudget > 0 is rejected with the reason; 0 is accepted', async () => {
    const err = catchError(() => ParallelWal.open(tmpDbPath(), { control: { mode: 'auto', helperLaneBudget: 2 } }));
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(err.message).toMatch(/options\.control\.helperLaneBudget/);
    expect(err.message).toMatch(/no helper lanes/);
    const wal = ParallelWal.open(tmpDbPath(), { control: { mode: 'auto', helperLaneBudget: 0 } });
    await wal.close();
  });

  test('laneCountOverride sets the lane count (clamped to the slots); conservative uses one lane', async () => {
    const a = ParallelWal.open(tmpDbPath(), { slotCount: 8, control: { mode: 'auto', laneCountOverride: 3 } });
    expect(a.controlState().laneCount).toBe(3);
    expect(a.stats().laneCount).toBe(3);
    await a.close();
    const b = ParallelWal.open(tmpDbPath(), { slotCount: 8, control: { mode: 'auto', laneCountOverride: 100 } });
    expect(b.controlState().laneCount).toBe(8);
    await b.close();
    const c = ParallelWal.open(tmpDbPath(), { slotCount: 8, control: { mode: 'conservative', laneCountOverride: 4 } });
    expect(c.controlState()).toEqual({ mode: 'conservative', fallbackReason: null, fallbackActive: false, laneCount: 1 });
    await c.close();
  });

  // Two threads append to the same epoch; the certificate counts one entry per lane that held
  // records: two lanes normally, one when the lane count is 1 or the mode is conservative.
  // Returns the per-lane record counts of the one segment two threads (main + a worker) wrote,
  // and what they must be given the two threads' slots: a thread's lane is its slot modulo the
  // lane count, and slots come from a process-wide counter that other test files in this jest
  // process may reset, so two threads can legitimately share a lane.
  // `laneCount`: the lane count the control surface should put in effect (docs/control.md: without
  // laneCountOverride every one of the slotCount slots is a lane); the expected certificate
  // follows from the two threads' actual slots modulo that.
  async function lanesUsedByTwoThreads(control: object, laneCount: number): Promise<{ counts: number[]; expected: number[] }> {
    const db = tmpDbPath();
    const main = new ParallelWalCoordinator(db, { slotCount: 64, control: control as never });
    expect(main.controlState().laneCount).toBe(laneCount);
    main.submitBatch(oneFrame(1, 1));
    const mainSlot = main.threadSlot();
    const workerSlot = await new Promise<number>((resolve, reject) => {
      const w = new Worker(path.join(FIXTURES, 'control-worker.js'), { workerData: { dbPath: db, mode: 'submit', txnId: 2 } });
      w.once('message', (m: { slot: number }) => resolve(m.slot));
      w.once('error', reject);
    });
    await main.advanceAndFlush();
    const seg = listSegmentsSync(db);
    expect(seg).toHaveLength(1);
    const counts = readSegmentSync(seg[0].path).certificate!.laneRecordCounts;
    await main.close();
    const sameLane = mainSlot % laneCount === workerSlot % laneCount;
    return { counts, expected: sameLane ? [2] : [1, 1] };
  }

  test('two threads use their own lanes in auto, one with laneCountOverride 1 or in conservative mode', async () => {
    const two = await lanesUsedByTwoThreads({ mode: 'auto' }, 64);
    expect(two.counts).toEqual(two.expected);
    expect((await lanesUsedByTwoThreads({ mode: 'auto', laneCountOverride: 1 }, 1)).counts).toEqual([2]);
    expect((await lanesUsedByTwoThreads({ mode: 'conservative' }, 1)).counts).toEqual([2]);
  }, 60000);

  test('maxParallelCommitBytes: larger batches take the serialized lane (lane_overflow, certificate fallbackActive)', async () => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const db = tmpDbPath();
      const wal = ParallelWal.open(db, { control: { mode: 'auto', maxParallelCommitBytes: 1000 } });
      await wal.commit(oneFrame(1, 1, 7, 100)); // 148 accounted bytes
      expect(wal.stats().fallbacks.lane_overflow).toBe(0);
      await wal.commit(oneFrame(2, 2, 7, 4096)); // over the limit
      await wal.commit(oneFrame(3, 3, 7, 100));
      const stats = wal.stats();
      expect(stats.fallbacks.lane_overflow).toBe(1);
      expect(stats.fallbackReason).toBeNull(); // per batch: the mode does not change
      await until(() => trace.records.some((r) => r.event === 'fallback_left' && r.fallbackReason === 'lane_overflow'));
      const entered = trace.records.filter((r) => r.event === 'fallback_entered' && r.fallbackReason === 'lane_overflow');
      expect(entered).toHaveLength(1);
      await wal.close();
      const certs = certificates(db).map((c) => c.fallbackActive);
      expect(certs).toEqual([false, true, false]);
    } finally {
      trace.stop();
    }
  });

  test('maxFlushDelayMs bounds how long a commit waits (ticker with a long interval)', async () => {
    const decisions = collect<ParallelWalDecisionRecord>(PARALLEL_WAL_DECISION_CHANNEL);
    try {
      const wal = ParallelWal.open(tmpDbPath(), { flushPolicy: 'ticker', epochIntervalMs: 60000, control: { mode: 'auto', maxFlushDelayMs: 20 } });
      expect(wal.options.maxFlushDelayMs).toBe(20);
      const t0 = Date.now();
      // submitBatch: no waiter asks for a flush, only the delay bound seals it.
      const epoch = wal.submitBatch(oneFrame(1));
      await wal.waitForEpochDurable(epoch, { timeoutMs: 5000 });
      expect(Date.now() - t0).toBeLessThan(3000);
      await until(() => decisions.records.length > 0);
      expect(decisions.records[0].topEvidenceTerms).toContain('trigger=max_delay');
      await wal.close();
    } finally {
      decisions.stop();
    }
  });
});

describe('setMode', () => {
  test("'conservative' at run time is operator_forced; back to 'auto' leaves the fallback", async () => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const db = tmpDbPath();
      const wal = ParallelWal.open(db, { slotCount: 8 });
      await wal.commit(oneFrame(1));
      wal.setMode('conservative');
      expect(wal.controlState()).toEqual({ mode: 'conservative', fallbackReason: 'operator_forced', fallbackActive: true, laneCount: 1 });
      await wal.commit(oneFrame(2));
      let s = wal.stats();
      expect(s.fallbacks.operator_forced).toBe(1);
      expect(s.mode).toBe('conservative');
      expect(s.fallbackReason).toBe('operator_forced');
      wal.setMode('auto');
      expect(wal.controlState()).toEqual({ mode: 'auto', fallbackReason: null, fallbackActive: false, laneCount: 8 });
      await wal.commit(oneFrame(3));
      s = wal.stats();
      expect(s.fallbackReason).toBeNull();
      await tick(20);
      const transitions = trace.records.filter((r) => r.event === 'fallback_entered' || r.event === 'fallback_left');
      expect(transitions.map((r) => [r.event, r.fallbackReason])).toEqual([
        ['fallback_entered', 'operator_forced'],
        ['fallback_left', 'operator_forced'],
      ]);
      // The epoch committed during the fallback is certified as such.
      await wal.close();
      expect(certificates(db).map((c) => c.fallbackActive)).toEqual([false, true, false]);
      expect(catchError(() => wal.setMode('auto')).code).toBe('WAL_CLOSED');
    } finally {
      trace.stop();
    }
  });

  test('rejects unknown modes', async () => {
    const wal = ParallelWal.open(tmpDbPath());
    expect(catchError(() => wal.setMode('fast' as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    await wal.close();
  });
});

describe('shadow compare', () => {
  test('shadow_compare re-reads every segment: clean verdicts', async () => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const wal = ParallelWal.open(tmpDbPath(), { control: { mode: 'shadow_compare' } });
      for (let i = 1; i <= 3; i++) await wal.commit(oneFrame(i));
      expect(wal.stats().shadowCompare).toEqual({ clean: 3, diverged: 0 });
      await until(() => trace.records.filter((r) => r.event === 'shadow_verdict').length === 3);
      expect(trace.records.filter((r) => r.event === 'shadow_verdict').every((r) => r.detail?.verdict === 'clean')).toBe(true);
      await wal.close();
    } finally {
      trace.stop();
    }
  });

  test('auto samples per mille by epoch; unset samples nothing; conservative never compares', async () => {
    const all = ParallelWal.open(tmpDbPath(), { control: { mode: 'auto', shadowCompareSamplingPerMille: 1000 } });
    for (let i = 1; i <= 3; i++) await all.commit(oneFrame(i));
    expect(all.stats().shadowCompare.clean).toBe(3);
    await all.close();
    const none = ParallelWal.open(tmpDbPath(), { control: { mode: 'auto' } });
    for (let i = 1; i <= 3; i++) await none.commit(oneFrame(i));
    expect(none.stats().shadowCompare).toEqual({ clean: 0, diverged: 0 });
    await none.close();
    const cons = ParallelWal.open(tmpDbPath(), { control: { mode: 'conservative', shadowCompareSamplingPerMille: 1000 } });
    for (let i = 1; i <= 3; i++) await cons.commit(oneFrame(i));
    expect(cons.stats().shadowCompare).toEqual({ clean: 0, diverged: 0 });
    await cons.close();
  });

  test.each([2, 1] as const)('a corrupted write (format v%d) diverges: publication_mismatch, the epoch is rewritten, recovery is intact', async (formatVersion) => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    const decisions = collect<ParallelWalDecisionRecord>(PARALLEL_WAL_DECISION_CHANNEL);
    try {
      const db = tmpDbPath();
      const wal = ParallelWal.open(db, {
        formatVersion,
        control: { mode: 'shadow_compare' },
        __faultInjection: { op: 'corrupt', after: 0 },
      });
      const epoch = await wal.commit(oneFrame(1, 1, 7, 512));
      const s = wal.stats();
      // The diverged file, then its rewrite (verified clean).
      expect(s.shadowCompare).toEqual({ clean: 1, diverged: 1 });
      expect(s.fallbacks.publication_mismatch).toBe(1);
      expect(wal.controlState()).toEqual({ mode: 'shadow_compare', fallbackReason: 'publication_mismatch', fallbackActive: true, laneCount: 1 });
      await until(() => trace.records.some((r) => r.event === 'fallback_entered'));
      const verdict = trace.records.find((r) => r.event === 'shadow_verdict')!;
      expect(verdict.detail?.verdict).toBe('diverged');
      expect(verdict.epoch).toBe(BigInt(epoch));
      const entered = trace.records.find((r) => r.event === 'fallback_entered')!;
      expect(entered.fallbackReason).toBe('publication_mismatch');
      expect(decisions.records.some((d) => d.action === 'force_conservative')).toBe(true);
      // In the fallback no more comparisons run.
      await wal.commit(oneFrame(2));
      expect(wal.stats().shadowCompare).toEqual({ clean: 1, diverged: 1 });
      // The operator leaves the fallback.
      wal.setMode('shadow_compare');
      expect(wal.controlState().fallbackReason).toBeNull();
      await wal.commit(oneFrame(3));
      expect(wal.stats().shadowCompare.clean).toBe(2);
      await wal.close();
      expect(trace.records.some((r) => r.event === 'fallback_left' && r.fallbackReason === 'publication_mismatch')).toBe(true);
      // What is on disk is what was committed (the diverged file was replaced).
      const rec = recovered(db);
      expect(rec.map((r) => Number(r.txnId))).toEqual([1, 2, 3]);
      expect(rec[0].data.equals(oneFrame(1, 1, 7, 512).frames[0].pageData as Buffer)).toBe(true);
    } finally {
      trace.stop();
      decisions.stop();
    }
  });
});

describe('trace and decision records', () => {
  test('epoch sealed / segment written / epoch durable, with commit seqs, only while subscribed', async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db);
    await wal.commit(oneFrame(1, 11));
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    let epoch: number;
    try {
      epoch = await wal.commit(oneFrame(2, 12));
      await until(() => trace.records.some((r) => r.event === 'epoch_durable' && r.epoch === BigInt(epoch)));
    } finally {
      trace.stop();
    }
    const mine = trace.records.filter((r) => r.epoch === BigInt(epoch));
    expect(mine.map((r) => r.event)).toEqual(['epoch_sealed', 'segment_written', 'epoch_durable']);
    for (const r of mine) {
      expect(r.component).toBe('parallel-wal');
      expect(typeof r.traceId).toBe('bigint');
      expect(r.mode).toBe('auto');
      expect(r.commitSeqLo).toBe(12n);
      expect(r.commitSeqHi).toBe(12n);
      expect(r.fallbackActive).toBe(false);
      expect(r.policyId).toBe('parallel-wal.flusher.adaptive');
    }
    expect(mine[0].detail).toMatchObject({ records: 1, trigger: expect.any(String) });
    expect(mine[1].detail).toMatchObject({ bytes: expect.any(Number), attempts: 1, fsyncUs: expect.any(Number) });
    // Unsubscribed: nothing more arrives.
    const count = trace.records.length;
    await wal.commit(oneFrame(3, 13));
    await tick(30);
    expect(trace.records.length).toBe(count);
    await wal.close();
  });

  test('decision records of the adaptive flusher carry evidence, confidence, expected loss, counterfactual', async () => {
    const decisions = collect<ParallelWalDecisionRecord>(PARALLEL_WAL_DECISION_CHANNEL);
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const wal = ParallelWal.open(tmpDbPath());
      await Promise.all([1, 2, 3].map((i) => wal.commit(oneFrame(i))));
      await until(() => decisions.records.length > 0);
      const d = decisions.records[0];
      expect(d.action).toBe('seal_epoch_now');
      expect(d.policyId).toBe('parallel-wal.flusher.adaptive');
      expect(d.policyVersion).toBe('flusher_v1');
      expect(typeof d.decisionId).toBe('bigint');
      expect(d.confidenceBps).toBeGreaterThan(0);
      expect(d.confidenceBps).toBeLessThanOrEqual(10000);
      expect(typeof d.expectedLossMicros).toBe('bigint');
      expect(d.counterfactualAction).toBe('keep_current');
      expect(d.counterfactualRegretMicros).toBeGreaterThanOrEqual(0n);
      const terms = d.topEvidenceTerms.join(' ');
      for (const t of ['trigger=', 'pending_records=', 'pending_bytes=', 'waiting_commits=', 'last_fsync_us=']) expect(terms).toContain(t);
      await until(() => trace.records.some((r) => r.decisionId === d.decisionId));
      expect(trace.records.find((r) => r.decisionId === d.decisionId)!.event).toBe('epoch_sealed');
      await wal.close();
    } finally {
      decisions.stop();
      trace.stop();
    }
  });

  test('records of a worker-owned handle are published on the worker thread', async () => {
    await tick(100); // let records of the previous tests' final flushes arrive first
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const db = tmpDbPath();
      const result = await new Promise<{ events: string[] }>((resolve, reject) => {
        const w = new Worker(path.join(FIXTURES, 'control-worker.js'), { workerData: { dbPath: db, mode: 'trace' } });
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(result.events).toEqual(expect.arrayContaining(['epoch_sealed', 'segment_written', 'epoch_durable']));
      // The main thread's subscriber saw none of them (it owns no handle of that WAL).
      expect(trace.records).toHaveLength(0);
    } finally {
      trace.stop();
    }
  }, 30000);

  test('controller_evidence_lost: a full record queue drops evidence and says so', async () => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const wal = ParallelWal.open(tmpDbPath(), { __traceQueueCapacity: 2 });
      // Block this thread while the flusher seals one epoch per submit.
      for (let i = 1; i <= 12; i++) {
        const e = wal.submitBatch(oneFrame(i));
        const end = Date.now() + 200;
        while (wal.durableEpoch() !== e && Date.now() < end) {
          /* spin: the event loop cannot deliver */
        }
      }
      await until(() => trace.records.some((r) => r.event === 'fallback_left' && r.fallbackReason === 'controller_evidence_lost'));
      const lost = trace.records.find((r) => r.event === 'fallback_entered' && r.fallbackReason === 'controller_evidence_lost')!;
      expect(lost.detail?.dropped).toBeGreaterThan(0);
      expect(wal.stats().fallbacks.controller_evidence_lost).toBeGreaterThanOrEqual(1);
      expect(wal.controlState().fallbackReason).toBeNull();
      await wal.close();
    } finally {
      trace.stop();
    }
  });
});

describe('stats', () => {
  test('new-file publication: one file sync and one directory sync per segment', async () => {
    const wal = ParallelWal.open(tmpDbPath(), { preparedSegments: false });
    for (let i = 1; i <= 5; i++) await wal.commit(oneFrame(i));
    const s = wal.stats();
    expect(s.segments).toBe(5);
    expect(s.preparedPublishes).toBe(0);
    expect(s.fsyncLatencyNs.count).toBeGreaterThanOrEqual(10);
    await wal.close();
  });

  test('epochs, segments, bytes, fsyncs with latency percentiles, events, fallbacks by reason, mode', async () => {
    const wal = ParallelWal.open(tmpDbPath());
    for (let i = 1; i <= 5; i++) await wal.commit(oneFrame(i));
    const s = wal.stats();
    expect(s.epochs).toBeGreaterThanOrEqual(5);
    expect(s.segments).toBe(5);
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.fsyncs).toBe(5);
    // one file sync and one directory sync per segment published through a new file; one data
    // sync per segment published into a prepared file (preparation I/O is not counted). With no
    // prepared publishes this is exactly the ">= 10" of the new-file protocol (pinned below).
    expect(s.preparedPublishes).toBeLessThanOrEqual(s.segments);
    expect(s.fsyncLatencyNs.count).toBeGreaterThanOrEqual(2 * s.segments - s.preparedPublishes);
    expect(s.fsyncLatencyNs.p50).toBeGreaterThan(0);
    expect(s.fsyncLatencyNs.p50).toBeLessThanOrEqual(s.fsyncLatencyNs.p99);
    expect(s.fsyncLatencyNs.p99).toBeLessThanOrEqual(s.fsyncLatencyNs.max);
    expect(s.backpressureEvents).toBe(0);
    expect(typeof s.contentionEvents).toBe('number');
    expect(Object.keys(s.fallbacks).sort()).toEqual(
      [
        'certificate_checksum_mismatch',
        'certificate_gap',
        'checkpoint_conflict',
        'controller_evidence_lost',
        'lane_overflow',
        'operator_forced',
        'publication_mismatch',
        'recovery_gap',
      ].sort(),
    );
    expect(s.mode).toBe('auto');
    expect(s.fallbackActive).toBe(false);
    await wal.close();
    const off = ParallelWal.open(tmpDbPath(), { fsyncPolicy: 'off' });
    await off.commit(oneFrame(1));
    expect(off.stats().fsyncLatencyNs.count).toBe(0);
    await off.close();
  });
});

describe('segment reasons', () => {
  // A segment file per epoch (these tests remove and damage whole files; log files have
  // their own tests in wal-log-files.test.ts).
  function writeLog(db: string, n: number): Promise<void> {
    const wal = ParallelWal.open(db, { logFileBytes: 0 });
    return (async () => {
      for (let i = 1; i <= n; i++) await wal.commit(oneFrame(i));
      await wal.close();
    })();
  }

  // The certificate CRC is the last word of the certificate, which ends the file unless the
  // segment was published into a prepared (padded) file: then zero padding follows it. Which
  // path the first commit takes depends on whether the preparer thread was done yet, so the
  // test pins each path and locates the certificate from its magic and lane count.
  function certificateCrcOffset(bytes: Buffer): number {
    const at = bytes.lastIndexOf(Buffer.from('CERT', 'latin1'));
    expect(at).toBeGreaterThan(24);
    const lanes = bytes.readUInt32LE(at + 48);
    return at + 52 + 4 * lanes;
  }

  test.each([
    ['a new file', false],
    ['a prepared file', true],
  ])('a bad certificate checksum is certificate_checksum_mismatch (%s)', async (_name, prepared) => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db, { preparedSegments: prepared });
    await wal.commit(oneFrame(1));
    await wal.close();
    const seg = listSegmentsSync(db)[0].path;
    const bytes = fs.readFileSync(seg);
    const crcAt = certificateCrcOffset(bytes);
    // Unpadded, the certificate CRC is the file's last word.
    if (!prepared) expect(crcAt + 4).toBe(bytes.length);
    bytes[crcAt] ^= 0xff;
    fs.writeFileSync(seg, bytes);
    const err = catchError(() => readSegmentSync(seg));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.reason).toBe('certificate_checksum_mismatch');
  });

  test('a missing middle segment is certificate_gap; a recovery that stops early is recovery_gap', async () => {
    const trace = collect<ParallelWalTraceRecord>(PARALLEL_WAL_TRACE_CHANNEL);
    try {
      const db = tmpDbPath();
      await writeLog(db, 3);
      const segs = listSegmentsSync(db);
      fs.unlinkSync(segs[1].path);
      const err = catchError(() => recoverSegmentsSync(db));
      expect(err.reason).toBe('certificate_gap');
      const skipped = recoverSegmentsSync(db, { skipCorrupt: true });
      expect(skipped.result.fallbackReason).toBe('recovery_gap');
      expect(skipped.result.segmentsRecovered).toBe(1);
      const finished = trace.records.filter((r) => r.event === 'recovery_finished');
      expect(finished.map((r) => r.fallbackReason)).toEqual(['certificate_gap', 'recovery_gap']);
      expect(finished[1].recoveryEpoch).toBe(segs[0].epoch);
    } finally {
      trace.stop();
    }
  });

  test('a corrupt middle segment stops a strict recovery with recovery_gap; a clean log has no reason', async () => {
    const db = tmpDbPath();
    await writeLog(db, 3);
    expect(recoverSegmentsSync(db).result.fallbackReason).toBeNull();
    const segs = listSegmentsSync(db);
    const bytes = fs.readFileSync(segs[1].path);
    bytes[30] ^= 0x40;
    fs.writeFileSync(segs[1].path, bytes);
    const err = catchError(() => recoverSegmentsSync(db));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.reason).toBe('recovery_gap');
  });

  test('checkpoint_conflict: deleting segments under an open WAL is refused', async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db);
    await wal.commit(oneFrame(1));
    const { cleanupSegmentsSync, deleteSegmentSync, cleanupSegments } = await import('../lib/index');
    const err = catchError(() => cleanupSegmentsSync(db));
    expect(err.code).toBe('WAL_LOCKED');
    expect(err.reason).toBe('checkpoint_conflict');
    const seg = listSegmentsSync(db)[0].path;
    expect(catchError(() => deleteSegmentSync(seg)).reason).toBe('checkpoint_conflict');
    await expect(cleanupSegments(db)).rejects.toMatchObject({ reason: 'checkpoint_conflict' });
    expect(catchError(() => recoverSegmentsSync(db, { deleteAfterRecovery: true })).reason).toBe('checkpoint_conflict');
    expect(wal.stats().fallbacks.checkpoint_conflict).toBe(4);
    expect(fs.existsSync(seg)).toBe(true);
    await wal.close();
    expect(cleanupSegmentsSync(db)).toBe(1);
  });

  test('checkpoint_conflict: deleting segments of a WAL open in another process is refused', async () => {
    const db = tmpDbPath();
    const child = spawn(process.execPath, [path.join(FIXTURES, 'wal-child.js'), 'kill-loop', db, '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ack')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before acking`)));
      });
      const { cleanupSegmentsSync } = await import('../lib/index');
      const err = catchError(() => cleanupSegmentsSync(db));
      expect(err.code).toBe('WAL_LOCKED');
      expect(err.reason).toBe('checkpoint_conflict');
      expect(err.message).toMatch(/another process/);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60000);
});
