// Log files end to end, on real files: ParallelWal writes epochs as frames into preallocated
// log files; every reader (readSegment, recoverSegments, iterateSegmentRecords, maxDurableEpoch,
// listSegments) sees them; a reopened WAL starts a new log file after the last frame; a torn
// newest frame is a torn tail and damage before a later frame is corruption.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  ParallelWal,
  type ParallelWalCoordinator,
  iterateSegmentRecords,
  listSegments,
  maxDurableEpoch,
  readSegment,
  recoverSegments,
  type WalRecord,
} from '../lib';
import { oneFrame, removeTmpDirs, tmpDbPath } from './wal-helpers';

const LOG_BYTES = 16 * 4096; // 16 slots: a few dozen commits fill several files
const PWAL = path.join(__dirname, '..', 'dist', 'cli', 'pwal.js');

function pwal(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [PWAL, ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

afterAll(removeTmpDirs);

/** Waits (by polling the WAL's own counter) until the preparer has made a log file. */
async function logFileReady(wal: ParallelWalCoordinator, made: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (wal.stats().preparedFiles < made) {
    if (Date.now() > deadline) throw new Error('no log file was prepared within 20 s');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Commits txns first..last one at a time (one epoch each); returns their ids. */
async function commitEach(wal: ParallelWalCoordinator, first: number, last: number): Promise<number[]> {
  const ids: number[] = [];
  for (let t = first; t <= last; t++) {
    await wal.commit(oneFrame(t, t));
    ids.push(t);
  }
  return ids;
}

const txnIds = (records: WalRecord[]): number[] => records.map((r) => Number(r.txnToken.id));

async function writeLog(db: string, commits: number): Promise<void> {
  const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'always' });
  await logFileReady(wal, 1);
  await commitEach(wal, 1, commits);
  expect(wal.stats().preparedPublishes).toBe(commits);
  await wal.close();
}

describe('log files', () => {
  test('every reader sees the frames of the log files a WAL wrote', async () => {
    const db = tmpDbPath();
    await writeLog(db, 40);
    const files = await listSegments(db);
    expect(files.length).toBeGreaterThanOrEqual(3); // 16 slots each
    expect(files.length).toBeLessThan(40);
    const first = await readSegment(files[0].path);
    expect(first.frames).toBeDefined();
    expect(first.frames!.length).toBeGreaterThan(1);
    expect(first.damage).toBeNull();
    expect(first.frames!.map((f) => f.offset)).toEqual(first.frames!.map((_, k) => k * 4096));
    expect(first.records.length).toBe(first.frames!.reduce((n, f) => n + f.recordCount, 0));
    expect(first.header.epoch).toBe(files[0].epoch);

    const { result, records } = await recoverSegments(db);
    expect(txnIds(records)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(result.segmentsRecovered).toBe(40);
    expect(result.tornTail).toBe(false);
    const iterated: WalRecord[] = [];
    for await (const r of iterateSegmentRecords(db)) iterated.push(r);
    expect(txnIds(iterated)).toEqual(txnIds(records));
    expect(await maxDurableEpoch(db)).toBe(result.epochs[result.epochs.length - 1]);
    // Close cut the last log file after its last frame (40 frames = 2 full files + 8 frames).
    const sizes = files.map((f) => fs.statSync(f.path).size);
    expect(sizes[sizes.length - 1]).toBeLessThan(LOG_BYTES);
    expect(sizes[sizes.length - 1] % 4096).toBe(0);
  });

  test('a reopened WAL continues after the last frame, in a new log file', async () => {
    const db = tmpDbPath();
    await writeLog(db, 10);
    const before = (await listSegments(db)).length;
    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'always' });
    await logFileReady(wal, 1);
    await commitEach(wal, 11, 14);
    await wal.close();
    expect((await listSegments(db)).length).toBe(before + 1);
    const { records } = await recoverSegments(db);
    expect(txnIds(records)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });

  test('a torn newest frame is a torn tail; the file stays and the WAL goes on after it', async () => {
    const db = tmpDbPath();
    await writeLog(db, 6);
    const files = await listSegments(db);
    const last = files[files.length - 1];
    const log = await readSegment(last.path);
    const tornAt = log.frames![log.frames!.length - 1].offset;
    const bytes = fs.readFileSync(last.path);
    bytes[tornAt + 40] ^= 0x01; // as if the crash tore the newest frame's write
    fs.writeFileSync(last.path, bytes);

    const torn = await readSegment(last.path);
    expect(torn.damage).toMatchObject({ offset: tornAt, frameAfterDamage: false });
    const { result, records } = await recoverSegments(db, { discardTornTail: true });
    expect(result.tornTail).toBe(true);
    expect(txnIds(records)).toEqual([1, 2, 3, 4, 5]);
    expect(fs.existsSync(last.path)).toBe(true); // it holds acknowledged frames
    const iterated: WalRecord[] = [];
    const it = iterateSegmentRecords(db);
    let step = await it.next();
    while (!step.done) {
      iterated.push(step.value);
      step = await it.next();
    }
    expect(txnIds(iterated)).toEqual([1, 2, 3, 4, 5]);
    expect(step.value.tornTail).toBe(true);

    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'always' });
    await logFileReady(wal, 1);
    await commitEach(wal, 7, 8);
    await wal.close();
    const after = await recoverSegments(db);
    expect(after.result.tornTail).toBe(false);
    expect(txnIds(after.records)).toEqual([1, 2, 3, 4, 5, 7, 8]);
  });

  test('damage before a whole later frame is corruption, also for the iterator', async () => {
    const db = tmpDbPath();
    await writeLog(db, 6);
    const files = await listSegments(db);
    const log = await readSegment(files[0].path);
    expect(log.frames!.length).toBeGreaterThanOrEqual(3);
    const bytes = fs.readFileSync(files[0].path);
    bytes[log.frames![1].offset + 40] ^= 0x01;
    fs.writeFileSync(files[0].path, bytes);
    await expect(recoverSegments(db)).rejects.toMatchObject({ code: 'WAL_CORRUPTION', message: expect.stringMatching(/later frame/) });
    const skipped = await recoverSegments(db, { skipCorrupt: true });
    expect(txnIds(skipped.records)).toEqual([1]);
    expect(skipped.result.partialSegments[0]).toBe(files[0].path);
    await expect(
      (async () => {
        for await (const _ of iterateSegmentRecords(db)) void _;
      })(),
    ).rejects.toMatchObject({ code: 'WAL_CORRUPTION' });
  });

  test('log files and per-epoch files mixed: recovery and `pwal verify` follow the chain across them', async () => {
    const db = tmpDbPath();
    await writeLog(db, 20); // log files
    const wal = ParallelWal.open(db, { logFileBytes: 0 }); // then a file per epoch
    await commitEach(wal, 21, 23);
    await wal.close();
    await writeLog(db, 0); // (opens and closes: nothing written)
    const { records } = await recoverSegments(db);
    expect(txnIds(records)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    const ok = pwal('verify', db);
    expect(ok.out).not.toMatch(/gap|corrupt/i);
    expect(ok.code).toBe(0);
    // Tear the newest frame of the last log file: a torn frame before a later file that
    // certifies past it would be fine, but these later files certify the torn frame: a gap.
    const files = await listSegments(db);
    const logs = [];
    for (const f of files) if ((await readSegment(f.path)).frames) logs.push(f);
    const last = logs[logs.length - 1];
    const log = await readSegment(last.path);
    const bytes = fs.readFileSync(last.path);
    bytes[log.frames![log.frames!.length - 1].offset + 40] ^= 0x01;
    fs.writeFileSync(last.path, bytes);
    await expect(recoverSegments(db)).rejects.toMatchObject({ code: 'WAL_CORRUPTION' });
    const bad = pwal('verify', db);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/gap/i);
  });

  test("logFileFill 'never': log files grown by appending hold the same frames, and nothing is zero-filled", async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db, { logFileBytes: LOG_BYTES, logFileFill: 'never' });
    await commitEach(wal, 1, 40);
    const stats = wal.stats();
    expect(stats.preparedPublishes).toBe(40);
    expect(stats.preparedFiles).toBe(0);
    expect(stats.logFilesFilled).toBe(0);
    expect(stats.logFilesAppended).toBe(3); // 16 slots each
    await wal.close();
    const files = await listSegments(db);
    expect(files.length).toBe(3);
    for (const f of files) {
      const seg = await readSegment(f.path);
      expect(seg.damage).toBeNull();
      // Each frame was written with its padding: the file ends at its last slot.
      expect(fs.statSync(f.path).size).toBe(seg.frames!.length * 4096);
    }
    const { result, records } = await recoverSegments(db);
    expect(result.tornTail).toBe(false);
    expect(txnIds(records)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // A torn append at the end (a crash mid-write) is a torn tail, as in a zero-filled file.
    const last = files[files.length - 1].path;
    fs.appendFileSync(last, Buffer.from('torn frame'));
    const torn = await recoverSegments(db, { discardTornTail: true });
    expect(torn.result.tornTail).toBe(true);
    expect(txnIds(torn.records)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test("the default logFileFill ('auto') appends at first, and zero-fills once it has seen a low rate of frames", async () => {
    const db = tmpDbPath();
    // 16 MiB (4096 slots): far more frames than one commit at a time writes in a window, so
    // the first file is still the one being appended to when the decision comes.
    const wal = ParallelWal.open(db, { logFileBytes: 16 * 1024 * 1024 });
    // One commit at a time is a low rate (a 4 KiB slot per ~0.1 ms at most, against 128 MiB/s):
    // after the first 100 ms window the preparer zero-fills a file.
    let txn = 0;
    const deadline = Date.now() + 20_000;
    while (wal.stats().preparedFiles < 1) {
      if (Date.now() > deadline) throw new Error('no log file was zero-filled within 20 s');
      await wal.commit(oneFrame(++txn, txn));
    }
    // The commit after the file is ready moves into it (unless the last one already did: the
    // fill finishes in the background, between two commits or during one).
    await wal.commit(oneFrame(++txn, txn));
    expect(wal.stats().logFilesAppended).toBe(1);
    expect(wal.stats().logFilesFilled).toBe(1);
    await wal.close();
    const files = await listSegments(db);
    expect(files.length).toBe(2);
    const appended = (await readSegment(files[0].path)).frames!.length;
    const filled = (await readSegment(files[1].path)).frames!.length;
    expect(appended).toBeGreaterThan(1); // a window's worth of frames before any zero-fill
    expect(filled).toBeGreaterThanOrEqual(1);
    expect(appended + filled).toBe(txn);
    const { records } = await recoverSegments(db);
    expect(txnIds(records)).toEqual(Array.from({ length: txn }, (_, i) => i + 1));
  });

  test('logFileBytes: 0 writes a prepared file per epoch', async () => {
    const db = tmpDbPath();
    const wal = ParallelWal.open(db, { logFileBytes: 0 });
    await commitEach(wal, 1, 5);
    await wal.close();
    for (const f of await listSegments(db)) expect((await readSegment(f.path)).frames).toBeUndefined();
    expect((await listSegments(db)).length).toBe(5);
  });
});
