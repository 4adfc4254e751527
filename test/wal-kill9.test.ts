// A real crash: a child commits in a loop and prints each acknowledgement after its promise
// resolved; the parent SIGKILLs it at a random moment, recovers, and checks that every
// acknowledged commit is there. The same path is reused across rounds, so each round also
// proves that a crashed owner's lock is released and that a restart never overwrites history.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { FIXTURES, ensureFreshDist, recovered, removeTmpDirs, tmpDbPath } from './wal-helpers';

beforeAll(() => ensureFreshDist());
afterAll(() => removeTmpDirs());

const ROUNDS = Number(process.env.PWAL_KILL_ROUNDS || 24);

interface Round {
  acked: number[];
  /** Epoch of each acknowledged commit. */
  epochOf: Map<number, number>;
  /** Largest epoch a checkpoint was announced for (before it started), -1 for none. */
  checkpointUpto: number;
  filesDeleted: number;
  sawReady: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function crashRound(dbPath: string, base: number, killAfterMs: number, killAfterAcks: number, checkpoints = false): Promise<Round> {
  return new Promise((resolve, reject) => {
    const args = [path.join(FIXTURES, 'wal-child.js'), 'kill-loop', dbPath, '8', String(base), ...(checkpoints ? ['checkpoint'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    const epochOf = new Map<number, number>();
    let checkpointUpto = -1;
    let filesDeleted = 0;
    let sawReady = false;
    let buf = '';
    let stderr = '';
    let killed = false;
    const kill = () => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const safety = setTimeout(kill, 10_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') {
          sawReady = true;
          setTimeout(kill, killAfterMs);
        } else if (line.startsWith('ack ')) {
          const [, id, epoch] = line.split(' ');
          acked.push(Number(id));
          epochOf.set(Number(id), Number(epoch));
          if (acked.length >= killAfterAcks) kill();
        } else if (line.startsWith('ckpt ')) {
          checkpointUpto = Math.max(checkpointUpto, Number(line.slice(5)));
        } else if (line.startsWith('deleted ')) {
          filesDeleted += Number(line.slice(8));
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(safety);
      // A partial last line is not an acknowledgement.
      resolve({ acked, epochOf, checkpointUpto, filesDeleted, sawReady, code, signal, stderr });
    });
  });
}

test(`kill -9 at a random moment loses no acknowledged commit (${ROUNDS} rounds)`, async () => {
  const p = tmpDbPath('kill9.db');
  const allAcked: number[] = [];
  let totalAcked = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = (round + 1) * 1_000_000;
    // Random moment: a random delay after start-up, or a random number of acknowledgements,
    // whichever comes first (some rounds die before the first acknowledgement).
    const r = await crashRound(p, base, Math.floor(Math.random() * 40), 1 + Math.floor(Math.random() * 400));
    expect(r.stderr).toBe('');
    expect(r.sawReady).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    totalAcked += r.acked.length;
    allAcked.push(...r.acked);

    const recs = recovered(p); // strict: throws on any corruption
    const ids = new Map<number, Buffer>();
    for (const rec of recs) {
      const id = Number(rec.txnId);
      expect(ids.has(id)).toBe(false); // never twice
      ids.set(id, rec.data);
    }
    for (const id of allAcked) {
      const data = ids.get(id);
      if (data === undefined) throw new Error(`round ${round}: acknowledged commit ${id} is missing after kill -9`);
      expect(data.readBigUInt64LE(0)).toBe(BigInt(id));
    }
  }
  expect(totalAcked).toBeGreaterThan(0);
}, 120_000);

// The same with checkpoints: the child deletes its oldest log files (16 slots each) every 40
// acknowledgements, announcing the epoch before it starts. A kill can land inside a checkpoint:
// recovery must still be strict (a suffix of the log, never a gap), and every acknowledged commit
// of an epoch after the largest announced checkpoint must be there.
test(`kill -9 with checkpoints running loses nothing after the checkpointed epoch (${ROUNDS} rounds)`, async () => {
  const p = tmpDbPath('kill9-ckpt.db');
  const acked = new Map<number, number>(); // txn -> epoch, over all rounds
  let checkpointUpto = -1;
  let filesDeleted = 0;
  let mustKeep = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = (round + 1) * 1_000_000;
    const r = await crashRound(p, base, 20 + Math.floor(Math.random() * 60), 100 + Math.floor(Math.random() * 600), true);
    expect(r.stderr).toBe('');
    expect(r.sawReady).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    for (const [id, e] of r.epochOf) acked.set(id, e);
    checkpointUpto = Math.max(checkpointUpto, r.checkpointUpto);
    filesDeleted += r.filesDeleted;

    const ids = new Set<number>();
    for (const rec of recovered(p)) {
      const id = Number(rec.txnId);
      expect(ids.has(id)).toBe(false);
      ids.add(id);
    }
    for (const [id, e] of acked) {
      if (e <= checkpointUpto) continue; // a checkpoint may have deleted it
      mustKeep++;
      if (!ids.has(id)) throw new Error(`round ${round}: acknowledged commit ${id} (epoch ${e} > checkpoint ${checkpointUpto}) is missing after kill -9`);
    }
  }
  // The rounds really checkpointed, and really checked commits after the checkpoints.
  expect(filesDeleted).toBeGreaterThan(0);
  expect(mustKeep).toBeGreaterThan(0);
}, 120_000);
