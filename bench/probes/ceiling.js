'use strict';
// Probe: what a closed loop of N callers can reach in this harness when the disk costs nothing.
// Usage: node bench/probes/ceiling.js SYSTEM INFLIGHT SECS
//   SYSTEM: jsgc (the bench's JS group commit), null-gc (the same class, flush completes on
//   setImmediate without I/O), null-gc-batch (null-gc, but each op builds parallel-wal's batch
//   object first), pwal (parallel-wal, fsyncPolicy full), pwal-off (parallel-wal, fsyncPolicy off)
const fs = require('fs'), os = require('os'), path = require('path');
const { closedLoop } = require('../commits/loop');
const { GroupCommitLog } = require('../commits/systems');
const { ParallelWal } = require('../../dist');

class NullGroup extends GroupCommitLog {
  flush() {
    this.busy = true;
    const resolves = this.resolves;
    this.bufs = []; this.resolves = []; this.rejects = [];
    setImmediate(() => { for (const r of resolves) r(); this.after(); });
  }
}

async function main() {
  const [system, inflightS, secsS] = process.argv.slice(2);
  const inflight = Number(inflightS || 1024), secs = Number(secsS || 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceil-'));
  const payload = Buffer.alloc(128, 7);
  let op, close = async () => {};
  if (system === 'jsgc' || system.startsWith('null-gc')) {
    const fd = fs.openSync(path.join(dir, 'log'), 'a');
    const log = system === 'jsgc' ? new GroupCommitLog(fd) : new NullGroup(fd);
    let id = 1;
    op = system === 'null-gc-batch'
      ? () => { const n = id++; const b = { txnToken: { id: n, epoch: 0 }, commitSeq: n, frames: [{ pageNumber: (n % 1000000) + 1, pageData: payload, dbSizeIfCommit: 1000001 }] }; return log.append(b.frames[0].pageData); }
      : () => log.append(payload);
    close = async () => { await log.waitIdle(); fs.closeSync(fd); };
  } else {
    const wal = await ParallelWal.open(path.join(dir, 'db'), { fsyncPolicy: system === 'pwal-off' ? 'off' : 'full' });
    let id = 1;
    op = () => { const n = id++; return wal.commit({ txnToken: { id: n, epoch: 0 }, commitSeq: n, frames: [{ pageNumber: (n % 1000000) + 1, pageData: payload, dbSizeIfCommit: 1000001 }] }); };
    close = () => wal.close();
  }
  const res = await closedLoop(op, { inflight, warmupMs: 500, samples: secs, sampleMs: 1000 });
  const rates = res.samples.map((s) => s.rate).sort((a, b) => a - b);
  const p99 = res.samples.map((s) => s.p99).sort((a, b) => a - b);
  console.log(`${system} @${inflight}: median ${(rates[rates.length >> 1] / 1000).toFixed(0)}k/s (windows ${rates.map((r) => (r / 1000).toFixed(0)).join(',')}), p99 median ${p99[p99.length >> 1].toFixed(2)} ms`);
  await close();
  fs.rmSync(dir, { recursive: true });
}
main();
