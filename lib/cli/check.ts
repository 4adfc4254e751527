// Checks each segment of a log the way recovery does (docs/durability.md, "Recovery rules") and
// reports every segment's own status, so that `inspect` can show all of them and `verify` can
// stop at the first bad one.
import * as fs from 'node:fs';

import { liveFrames, readSegment, type SegmentContents } from '../segments';
import { SegmentHeader, SEGMENT_HEADER_SIZE } from '../segment-header';
import type { ParallelWalCommitCertificate, SegmentEntry } from '../segment-types';
import { CliError, EXIT } from './errors';
import type { Target } from './target';

/**
 * - `ok`: decodes with every check, its header epoch matches its name, its certificate link
 *   (if any) names the previous segment on disk.
 * - `torn`: the last segment of a log does not decode (recovery reports it, applies the rest).
 * - `corrupt`: any other decode failure, or a header epoch that disagrees with the file name.
 * - `gap`: its certificate links to an epoch that is not the previous segment on disk.
 */
export type SegmentStatus = 'ok' | 'torn' | 'corrupt' | 'gap';

export interface SegmentReport {
  path: string;
  /** Epoch from the file name (or from the header for a file whose name is not a segment name). */
  epoch: bigint | null;
  /** Format version from the header, when the header itself is readable. */
  format: number | null;
  /** Record count from the header, when readable. */
  records: number | null;
  bytes: number;
  certificate: ParallelWalCommitCertificate | null;
  status: SegmentStatus;
  /** Why the segment is not ok (the reader's message). */
  reason: string | null;
  /** Index of the first bad record when the reader names one. */
  recordIndex: number | null;
}

/** `record 3` inside a reader's message -> 3. */
export function recordIndexOf(message: string): number | null {
  const m = /record (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}

function headerOf(file: string): SegmentHeader | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(SEGMENT_HEADER_SIZE);
      const n = fs.readSync(fd, buf, 0, SEGMENT_HEADER_SIZE, 0);
      return SegmentHeader.fromBytes(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (e) {
    throw new CliError(`cannot stat ${file}: ${(e as Error).message}`, EXIT.IO);
  }
}

/**
 * Checks the segments of `target` in epoch order and yields one report per segment, with the
 * decoded contents when the segment is ok (so `dump` of a single file need not read it twice).
 * Non-corruption errors (I/O) end the iteration with a CliError (exit 3).
 */
export async function* checkSegments(target: Target): AsyncGenerator<{ report: SegmentReport; contents: SegmentContents | null }> {
  const segments: SegmentEntry[] = target.segments;
  const single = target.kind === 'file';
  // The newest good epoch of the previous file: its name's, or a log file's last good frame's.
  let prevLast: bigint | null = null;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const nameEpoch = single ? target.nameEpoch : seg.epoch;
    const report: SegmentReport = {
      path: seg.path,
      epoch: nameEpoch,
      format: null,
      records: null,
      bytes: fileSize(seg.path),
      certificate: null,
      status: 'ok',
      reason: null,
      recordIndex: null,
    };
    let contents: SegmentContents | null = null;
    try {
      contents = await readSegment(seg.path);
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code !== 'WAL_CORRUPTION') {
        throw new CliError(`cannot read ${seg.path}: ${err.code ? err.code + ': ' : ''}${err.message}`, EXIT.IO);
      }
      const header = headerOf(seg.path);
      if (header) {
        report.format = header.version;
        report.records = header.recordCount;
        if (report.epoch === null) report.epoch = header.epoch;
      }
      report.status = !single && i + 1 === segments.length ? 'torn' : 'corrupt';
      report.reason = err.message;
      report.recordIndex = recordIndexOf(err.message);
      prevLast = seg.epoch;
      yield { report, contents: null };
      continue;
    }
    const h = contents.header;
    report.format = h.version;
    report.records = contents.frames ? contents.records.length : h.recordCount;
    report.certificate = contents.certificate;
    if (report.epoch === null) report.epoch = h.epoch;
    // A log file (docs/durability.md, "Log files"): frames of an epoch the next file starts at
    // were rewritten there; damage is a torn tail in the newest file, corruption before a whole
    // later frame, and otherwise must be certified past by the next file (checked on its turn).
    let last = h.epoch;
    let damage = contents.damage ?? null;
    if (contents.frames) {
      const live = liveFrames(contents.frames, damage, !single && i + 1 < segments.length ? segments[i + 1].epoch : null);
      damage = live.damage;
      last = live.frames[live.frames.length - 1].header.epoch;
    }
    if (nameEpoch !== null && h.epoch !== nameEpoch) {
      report.status = 'corrupt';
      report.reason = `segment ${seg.path} has mismatched epoch: header=${h.epoch}, filename=${nameEpoch}`;
    } else if (damage !== null && damage.frameAfterDamage) {
      report.status = 'corrupt';
      report.reason = `log file ${seg.path}: ${damage.message} (a whole later frame follows the damage)`;
    } else if (damage !== null && (single || i + 1 === segments.length)) {
      report.status = 'torn';
      report.reason = `log file ${seg.path}: ${damage.message}`;
    } else if (!single && i > 0 && prevLast !== null && contents.certificate && contents.certificate.durableSegmentEpoch !== null) {
      const prev = contents.certificate.durableSegmentEpoch;
      const onDisk = prevLast;
      if (prev !== onDisk) {
        report.status = 'gap';
        report.reason =
          `segment ${seg.path} (epoch ${seg.epoch}) certifies that the previous durable segment is epoch ${prev}, ` +
          `but the previous segment on disk is epoch ${onDisk}: ` +
          (prev > onDisk ? `a segment is missing` : 'an uncertified segment is in the chain');
      }
    }
    prevLast = last;
    yield { report, contents: report.status === 'ok' ? contents : null };
  }
}

/** One-line summary of a certificate (or why there is none). */
export function certificateSummary(format: number | null, c: ParallelWalCommitCertificate | null): string {
  if (c === null) return format === 1 ? 'none (v1)' : '-';
  const prev = c.durableSegmentEpoch === null ? 'none' : String(c.durableSegmentEpoch);
  const flags = c.fallbackActive ? ', fallback' : '';
  return `seq ${c.commitSeqLo}..${c.commitSeqHi}, prev ${prev}, lanes ${c.laneCount}, pages ${c.pageSetSize}, db ${c.dbSizePages}${flags}`;
}
