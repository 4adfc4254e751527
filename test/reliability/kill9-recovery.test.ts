// Reliability campaign, part 4: real kill -9 while the log is being recovered, cleaned up or
// reopened (test/wal-kill9.test.ts kills at commit time). Each round builds a log of ~150
// segments (sometimes with a torn last segment, as a crash during an unsynced write leaves it),
// starts a child that runs one of
//   recover-delete   recoverSegmentsSync(db, { deleteAfterRecovery, discardTornTail })
//   recover-async    recoverSegments(...) on the thread pool, same options
//   cleanup          cleanupSegmentsSync(db)
//   reopen           ParallelWal.open(db) (tail scan + torn-tail discard), then commits
// and SIGKILLs it at a uniformly random moment within the operation's measured duration. Then:
// strict recovery succeeds; what is left is a suffix of the log (deletion is oldest first) with
// the exact records of those epochs; for reopen every acknowledged commit (earlier rounds and
// the child's) is there exactly once, in replay order; and a reopened WAL continues.
// PWAL_KILL_RECOVERY_ROUNDS (default 6) rounds per mode.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ParallelWal, recoverSegmentsSync, segmentPath, writeSegmentSync } from '../../lib';
import { ensureFreshDist, removeTmpDirs, tmpDbPath } from '../wal-helpers';

beforeAll(() => ensureFreshDist());
afterAll(() => removeTmpDirs());

const ROUNDS = Number(process.env.PWAL_KILL_RECOVERY_ROUNDS || 6);
const CHILD = path.join(__dirname, 'fixtures', 'recovery-child.js');
const MODES = ['recover-delete', 'recover-async', 'cleanup', 'reopen'] as const;
type Mode = (typeof MODES)[number];

function frame(id: number) {
  const data = Buffer.alloc(48 + (id % 200), id % 251);
  data.writeBigUInt64LE(BigInt(id), 0);
  return { txnToken: { id, epoch: 0 }, commitSeq: id, frames: [{ pageNumber: 1 + (id % 11), pageData: data, dbSizeIfCommit: 0 }] };
}

interface Snapshot {
  epochs: bigint[];
  idsByEpoch: Map<bigint, number[]>;
  ids: Map<number, number>; // id -> count
  tornTail: boolean;
}

function snapshot(db: string): Snapshot {
  const { records, result } = recoverSegmentsSync(db); // strict: throws on corruption
  const idsByEpoch = new Map<bigint, number[]>();
  const ids = new Map<number, number>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const id = Number(r.txnToken.id);
    if (i > 0) {
      const p = records[i - 1];
      const ordered = p.epoch < r.epoch || (p.epoch === r.epoch && (p.beginSeq < r.beginSeq || (p.beginSeq === r.beginSeq && p.txnToken.id <= r.txnToken.id)));
      if (!ordered) throw new Error(`records out of replay order at ${i}`);
    }
    // The payload is the one submitted.
    if (r.afterImage.readBigUInt64LE(0) !== BigInt(id) || r.afterImage.length !== 48 + (id % 200)) throw new Error(`corrupt record ${id}`);
    (idsByEpoch.get(r.epoch) ?? idsByEpoch.set(r.epoch, []).get(r.epoch)!).push(id);
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }
  return { epochs: result.epochs, idsByEpoch, ids, tornTail: result.tornTail };
}

let nextId = 1;
/** Appends `n` segments (one commit each) to the log; returns the acknowledged ids. */
async function populate(db: string, n: number): Promise<number[]> {
  const wal = ParallelWal.open(db, { fsyncPolicy: 'off' });
  const acked: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    await wal.commit(frame(id));
    acked.push(id);
  }
  await wal.close();
  return acked;
}

/** A torn last segment: a real segment of the next epoch, cut in half (never acknowledged). */
function plantTornTail(db: string, after: bigint): void {
  const epoch = after + 1n;
  const id = nextId++;
  const data = Buffer.alloc(300, 7);
  writeSegmentSync(db, { epoch, records: [{ txnToken: { id, epoch: 0 }, epoch, pageId: 1, beginSeq: id, endSeq: id, beforeImage: Buffer.alloc(0), afterImage: data }], recordsPerCore: [1] }, { fsyncPolicy: 'off' });
  const p = segmentPath(db, epoch);
  fs.truncateSync(p, Math.floor(fs.statSync(p).size / 2));
}

interface ChildRun {
  acked: number[];
  done: boolean;
  opMs: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the child; kills it `killAfterMs` after "start" (undefined: lets it finish). */
function runChild(mode: Mode, db: string, base: number, killAfterMs: number | undefined): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, mode, db, String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let done = false;
    let started = 0;
    let opMs = 0;
    let buf = '';
    let stderr = '';
    const kill = () => child.kill('SIGKILL');
    const safety = setTimeout(kill, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'start') {
          started = performance.now();
          if (killAfterMs !== undefined) setTimeout(kill, killAfterMs);
        } else if (line === 'done') {
          done = true;
          opMs = performance.now() - started;
        } else if (line === 'opened') {
          opMs = performance.now() - started;
          // Calibration of reopen: the open plus a few acknowledged commits.
        } else if (line.startsWith('ack ')) {
          acked.push(Number(line.slice(4)));
          if (killAfterMs === undefined && acked.length === 40) {
            opMs = performance.now() - started;
            kill();
          }
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      resolve({ acked, done, opMs, signal, code, stderr });
    });
  });
}

function isSuffix(after: bigint[], before: bigint[]): boolean {
  if (after.length > before.length) return false;
  const off = before.length - after.length;
  return after.every((e, i) => e === before[off + i]);
}

test(`kill -9 during recovery, cleanup and reopen keeps the log a valid suffix and loses no acknowledged commit (${ROUNDS} rounds x ${MODES.length} modes)`, async () => {
  const figures: Record<string, { rounds: number; midOp: number; partial: number }> = {};
  for (const mode of MODES) {
    const db = tmpDbPath(`${mode}.db`);
    figures[mode] = { rounds: 0, midOp: 0, partial: 0 };
    // Calibration: the operation's duration, uninterrupted.
    await populate(db, 150);
    const cal = await runChild(mode, db, 50_000_000, undefined);
    expect(cal.stderr).toBe('');
    if (mode !== 'reopen') expect(cal.done).toBe(true);
    const span = Math.max(2, cal.opMs);
    let acked = new Set<number>(snapshot(db).ids.keys());
    for (let round = 0; round < ROUNDS; round++) {
      const fresh = await populate(db, 150);
      for (const id of fresh) acked.add(id);
      const before = snapshot(db);
      if (round % 2 === 1 && before.epochs.length > 0) plantTornTail(db, before.epochs[before.epochs.length - 1]);
      const base = (mode === 'reopen' ? 60_000_000 : 70_000_000) + round * 100_000;
      const r = await runChild(mode, db, base, Math.random() * span);
      const where = `${mode} round ${round}`;
      expect({ where, stderr: r.stderr }).toEqual({ where, stderr: '' });
      figures[mode].rounds++;
      if (!r.done && r.signal === 'SIGKILL') figures[mode].midOp++;

      const after = snapshot(db); // strict recovery must succeed whatever the moment
      if (mode === 'reopen') {
        for (const id of r.acked) acked.add(id);
        for (const id of acked) {
          const n = after.ids.get(id);
          if (n !== 1) throw new Error(`${where}: acknowledged commit ${id} recovered ${n ?? 0} times`);
        }
      } else {
        // Deletion is oldest first: what is left is a suffix, with the same records.
        if (!isSuffix(after.epochs, before.epochs)) {
          throw new Error(`${where}: after kill the log is not a suffix: ${after.epochs.length} of ${before.epochs.length} epochs`);
        }
        for (const e of after.epochs) expect(after.idsByEpoch.get(e)).toEqual(before.idsByEpoch.get(e));
        if (r.done) expect(after.epochs).toEqual([]);
        // Killed half-way through the deletions: some segments gone, some left.
        if (after.epochs.length > 0 && after.epochs.length < before.epochs.length) figures[mode].partial++;
        // What is left is what a later reader must still see; the deleted ones are gone.
        acked = new Set(after.ids.keys());
      }
      // A reopened WAL continues after whatever is on disk (checked by the next populate's
      // strict snapshot), and a commit now is recovered.
      const more = await populate(db, 1);
      const check = snapshot(db);
      expect(check.ids.get(more[0])).toBe(1);
      for (const id of acked) expect(check.ids.get(id)).toBe(1);
      acked.add(more[0]);
    }
  }
  const total = Object.values(figures).reduce((a, f) => ({ rounds: a.rounds + f.rounds, midOp: a.midOp + f.midOp }), { rounds: 0, midOp: 0 });
  // midOp: killed before the operation finished; partial: the log was left half-deleted.
  console.log(`kill -9 during recovery/cleanup/reopen: ${JSON.stringify(figures)}`);
  // Random timing, but within the measured span: most kills land mid-operation.
  expect(total.midOp).toBeGreaterThan(0);
}, Math.max(180_000, ROUNDS * 30_000));
