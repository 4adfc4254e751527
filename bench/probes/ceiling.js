'use strict';
// Probe: what a closed loop of N callers can reach in this harness when the disk costs nothing.
// Usage: node bench/probes/ceiling.js SYSTEM INFLIGHT SECS
//   SYSTEM: jsgc (the bench's JS group commit), pwal (parallel-wal, as the bench runs it),
//   null-gc (the JS group commit's class with its flush completed on setImmediate, no I/O),
//   null-gc-batch (null-gc, but each op first builds the batch object parallel-wal's op builds)
// 2026-11-22 (docs/performance.md, "Session 12"): @1024, null-gc 2.2-2.8M commits/s against
// 0.89-0.93M for jsgc and 1.04-1.07M for pwal in the same minutes.
const fs = require('fs'), os = require('os'), path = require('path');
const { closedLoop } = require('../commits/loop');
const { SYSTEMS, GroupCommitLog } = require('../commits/systems');

class NullGroup extends GroupCommitLog {
  flush() {
    this.busy = true;
    const resolves = this.resolves;
    this.bufs = [];
    this.resolves = [];
    this.rejects = [];
    setImmediate(() => {
      for (const r of resolves) r();
      this.after();
    });
  }
}

function nullGroup({ batchObjects, payload }) {
  const log = new NullGroup(-1);
  let id = 1;
  return {
    op: batchObjects
      ? () => {
          const n = id++;
          const b = { txnToken: { id: n, epoch: 0 }, commitSeq: n, frames: [{ pageNumber: (n % 1000000) + 1, pageData: payload, dbSizeIfCommit: 1000001 }] };
          return log.append(b.frames[0].pageData);
        }
      : () => log.append(payload),
    close: () => log.waitIdle(),
  };
}

async function open(system, dir, payload) {
  if (system === 'null-gc' || system === 'null-gc-batch') return nullGroup({ batchObjects: system === 'null-gc-batch', payload });
  const sys = SYSTEMS[{ jsgc: 'js-group-commit', pwal: 'parallel-wal' }[system]];
  if (!sys) throw new Error(`unknown system ${system}`);
  return sys.make(sys.load ? sys.load() : undefined)({ dir, payload });
}

async function main() {
  const [system, inflightS, secsS] = process.argv.slice(2);
  const inflight = Number(inflightS || 1024), secs = Number(secsS || 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceil-'));
  const store = await open(system, dir, Buffer.alloc(128, 7));
  const res = await closedLoop(store.op, { inflight, warmupMs: 500, samples: secs, sampleMs: 1000 });
  const rates = res.samples.map((s) => s.rate).sort((a, b) => a - b);
  const p99 = res.samples.map((s) => s.p99).sort((a, b) => a - b);
  console.log(`${system} @${inflight}: median ${(rates[rates.length >> 1] / 1000).toFixed(0)}k/s (windows ${rates.map((r) => (r / 1000).toFixed(0)).join(',')}), p99 median ${p99[p99.length >> 1].toFixed(2)} ms`);
  await store.close();
  fs.rmSync(dir, { recursive: true });
}
main();
