// Reliability campaign, part 7: lifecycle stress.
//   - PWAL_LIFECYCLE_CYCLES (CI default 500; `npm run stress -- --lifecycle-cycles 1000` and more on demand) cycles of worker_threads opening a WAL shared with the
//     main thread, committing and being terminated at random moments (before loading the addon,
//     right after opening, mid-commit, after finishing), 4 at a time, while the main thread keeps
//     committing: no crash, no error, no unsettled promise, RSS stable, every acknowledged
//     commit recovered exactly once;
//   - process.exit() at a random moment with commits in flight on the main thread and in workers;
//   - close() racing with commits (with and without abort): every promise settles, resolved
//     commits are recovered, rejections are typed.
import * as path from 'node:path';
import { spawn } from 'node:child_process';

import { ParallelWal, isWalError, recoverSegmentsSync } from '../../lib';
import { ensureFreshDist, removeTmpDirs, tmpDbPath } from '../wal-helpers';

beforeAll(() => ensureFreshDist());
afterAll(() => removeTmpDirs());

const CYCLES = Number(process.env.PWAL_LIFECYCLE_CYCLES || 500);
const CHILD = path.join(__dirname, 'fixtures', 'lifecycle-child.js');

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function recoveredIds(db: string): Map<number, number> {
  const ids = new Map<number, number>();
  for (const r of recoverSegmentsSync(db).records) {
    const id = Number(r.txnToken.id);
    expect(r.afterImage.readBigUInt64LE(0)).toBe(BigInt(id));
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }
  return ids;
}

test(`${CYCLES} worker open/commit/terminate cycles on a shared WAL: no crash, no unsettled promise, RSS stable`, async () => {
  const db = tmpDbPath('cycles.db');
  const t0 = Date.now();
  const r = await run(['cycles', db, String(CYCLES), '4'], Math.max(170_000, CYCLES * 170));
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  const out = JSON.parse(r.stdout.trim()) as { cycles: number; acked: number[]; rss: Array<{ cycle: number; rss: number }>; unsettled: number; errors: string[] };
  expect(out.errors).toEqual([]);
  expect(out.cycles).toBe(CYCLES);
  expect(out.unsettled).toBe(0);
  const ids = recoveredIds(db);
  for (const id of out.acked) {
    if (ids.get(id) !== 1) throw new Error(`acknowledged commit ${id} recovered ${ids.get(id) ?? 0} times`);
  }
  const workerAcks = out.acked.filter((id) => id < 900_000_000).length;
  expect(workerAcks).toBeGreaterThan(CYCLES / 10);
  // RSS: from the first sample after warm-up (>= cycle 100, or the first) to the last.
  const warm = out.rss.find((s) => s.cycle >= Math.min(100, CYCLES - 1)) ?? out.rss[0];
  const last = out.rss[out.rss.length - 1];
  const growthMb = (last.rss - warm.rss) / 2 ** 20;
  console.log(
    `lifecycle: ${out.cycles} worker cycles in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${out.acked.length} commits acknowledged (${workerAcks} by workers), ` +
      `RSS ${(warm.rss / 2 ** 20).toFixed(0)} MB at cycle ${warm.cycle} -> ${(last.rss / 2 ** 20).toFixed(0)} MB at cycle ${last.cycle} (${growthMb.toFixed(1)} MB)`,
  );
  // Generous: a leak of even 100 KB per cycle would exceed it over 1,000 cycles.
  expect(growthMb).toBeLessThan(Math.max(48, CYCLES * 0.05));
}, Math.max(180_000, CYCLES * 180));

test('process.exit() at a random moment with commits in flight in the main thread and in workers', async () => {
  for (let round = 0; round < 6; round++) {
    const db = tmpDbPath(`exit-${round}.db`);
    const r = await run(['exit', db, String(Math.floor(Math.random() * 60))], 20_000);
    expect({ round, code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ round, code: 0, signal: null, stderr: '' });
    const acked = r.stdout.split('\n').filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
    const ids = recoveredIds(db); // strict
    for (const id of acked) expect(ids.get(id)).toBe(1);
  }
}, 60_000);

test('close() racing with commits settles every promise; resolved commits are durable, rejections typed', async () => {
  let resolvedTotal = 0;
  let rejectedTotal = 0;
  for (let round = 0; round < 60; round++) {
    const db = tmpDbPath(`race-${round}.db`);
    const wal = ParallelWal.open(db, { fsyncPolicy: round % 2 ? 'normal' : 'off' });
    const abort = round % 3 === 0;
    const outcomes: Array<{ id: number; ok: boolean; err?: unknown }> = [];
    const promises: Array<Promise<void>> = [];
    const fire = (id: number) => {
      const data = Buffer.alloc(64, id % 251);
      data.writeBigUInt64LE(BigInt(id), 0);
      let p: Promise<unknown>;
      try {
        p = wal.commit({ txnToken: { id, epoch: 0 }, commitSeq: id, frames: [{ pageNumber: 1 + (id % 5), pageData: data, dbSizeIfCommit: 0 }] });
      } catch (e) {
        outcomes.push({ id, ok: false, err: e });
        return;
      }
      promises.push(p.then(() => void outcomes.push({ id, ok: true }), (err: unknown) => void outcomes.push({ id, ok: false, err })));
    };
    let id = 0;
    const before = Math.floor(Math.random() * 200);
    for (let i = 0; i < before; i++) fire(++id);
    // Close after a random number of event-loop turns, while commits keep coming.
    const turns = Math.floor(Math.random() * 4);
    for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
    const closing = wal.close({ abort });
    for (let i = 0; i < 20; i++) fire(++id); // after close: rejected with WAL_CLOSED
    const second = wal.close(); // idempotent
    // Every promise settles (a deadline turns a hang into a failure, not a timeout of jest).
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all([...promises, closing, second]).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 15_000))),
    ]);
    clearTimeout(timer);
    expect({ round, settled }).toEqual({ round, settled: true });
    expect(outcomes).toHaveLength(id);
    const ids = recoveredIds(db);
    for (const o of outcomes) {
      if (o.ok) {
        resolvedTotal++;
        expect(ids.get(o.id)).toBe(1);
      } else {
        rejectedTotal++;
        expect(isWalError(o.err, 'WAL_CLOSED')).toBe(true);
      }
      if (o.id > before) expect(o.ok).toBe(false); // submitted after close()
    }
    // Without abort, close() makes everything submitted before it durable.
    if (!abort) for (const o of outcomes) if (o.id <= before) expect(o.ok).toBe(true);
  }
  console.log(`close racing with commits: 60 rounds, ${resolvedTotal} resolved (all recovered), ${rejectedTotal} rejected with WAL_CLOSED`);
  expect(resolvedTotal).toBeGreaterThan(0);
  expect(rejectedTotal).toBeGreaterThan(0);
}, 120_000);
