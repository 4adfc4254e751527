// What the `<db>` argument of a `pwal` command names: the log of a database (its segments sit
// beside it as `<db>-wal-seg-<epoch>`), or one segment file given directly.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { listSegmentsSync } from '../segments';
import { SEGMENT_MAGIC } from '../segment-header';
import type { SegmentEntry } from '../segment-types';
import { CliError, EXIT } from './errors';

/** The segment file-name pattern of docs/format.md: `<db file name>-wal-seg-<16 lowercase hex digits>`. */
export const SEGMENT_NAME = /^(.+)-wal-seg-([0-9a-f]{16})$/;

/** A database's log: every segment listed beside `dbPath`, in epoch order. */
export interface LogTarget {
  kind: 'log';
  dbPath: string;
  segments: SegmentEntry[];
}

/** One segment file named directly on the command line. */
export interface FileTarget {
  kind: 'file';
  path: string;
  /** The epoch in the file name, or `null` when the name is not a segment name. */
  nameEpoch: bigint | null;
  segments: SegmentEntry[];
}

export type Target = LogTarget | FileTarget;

function ioError(what: string, e: unknown): CliError {
  const err = e as NodeJS.ErrnoException;
  return new CliError(`${what}: ${err.code ?? ''} ${err.message}`.trim(), EXIT.IO);
}

function startsWithMagic(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    const n = fs.readSync(fd, buf, 0, 4, 0);
    return n === 4 && buf.readUInt32LE(0) === SEGMENT_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/** Database names that have segments in `dir` (for a helpful error when a directory is given). */
function logsIn(dir: string): string[] {
  const names = new Set<string>();
  for (const name of fs.readdirSync(dir)) {
    const m = SEGMENT_NAME.exec(name);
    if (m) names.add(path.join(dir, m[1]));
  }
  return [...names].sort();
}

/**
 * Resolves the `<db>` argument. A name matching the segment pattern, or an existing file that
 * starts with the segment magic and has no segments beside it, is a single segment file;
 * anything with segments beside it is a log.
 * @throws CliError exit 2 for a missing path, a directory, or a file that is neither; exit 3 on I/O errors.
 */
export function resolveTarget(arg: string): Target {
  if (typeof arg !== 'string' || arg.length === 0) throw new CliError('missing <db> argument', EXIT.USAGE);
  const abs = path.resolve(arg);
  const dir = path.dirname(abs);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') {
      throw ioError(`cannot stat ${arg}`, e);
    }
  }
  if (st?.isDirectory()) {
    let found: string[] = [];
    try {
      found = logsIn(abs);
    } catch {
      /* unreadable: the message below is enough */
    }
    const hint = found.length
      ? `; logs found there: ${found.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`
      : '; no segments found in it';
    throw new CliError(
      `${arg} is a directory: give the database path (its segments are named <db>-wal-seg-<epoch>)${hint}`,
      EXIT.USAGE,
    );
  }
  const m = SEGMENT_NAME.exec(path.basename(abs));
  if (m && st?.isFile()) {
    const epoch = BigInt('0x' + m[2]);
    return { kind: 'file', path: abs, nameEpoch: epoch, segments: [{ epoch, path: abs }] };
  }
  if (!fs.existsSync(dir)) throw new CliError(`${arg}: no such directory: ${dir}`, EXIT.USAGE);
  let segments: SegmentEntry[];
  try {
    segments = listSegmentsSync(abs);
  } catch (e) {
    throw ioError(`cannot list the segments of ${arg}`, e);
  }
  if (segments.length > 0) return { kind: 'log', dbPath: abs, segments };
  if (st === undefined) {
    throw new CliError(
      `${arg}: no such file, and no segments named ${path.basename(abs)}-wal-seg-<epoch> in ${dir}`,
      EXIT.USAGE,
    );
  }
  if (!st.isFile()) throw new CliError(`${arg} is not a regular file`, EXIT.USAGE);
  let magic: boolean;
  try {
    magic = startsWithMagic(abs);
  } catch (e) {
    throw ioError(`cannot read ${arg}`, e);
  }
  if (magic) return { kind: 'file', path: abs, nameEpoch: null, segments: [{ epoch: -1n, path: abs }] };
  throw new CliError(
    `${arg} is not a segment file (it does not start with the segment magic 4C 41 57 50) ` +
      `and has no segments named ${path.basename(abs)}-wal-seg-<epoch> beside it`,
    EXIT.USAGE,
  );
}
