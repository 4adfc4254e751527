'use strict';
// Probe: a hand-written JS group commit with up to K batches durable-in-flight at once, closed
// loop. Each batch is one positioned writev + fdatasync on the libuv thread pool; commits resolve
// in batch order (a batch's commits only once every earlier batch is durable). Compared:
//   K=1 appending to the end of the file (the bench's "JS group commit" peer),
//   K=1 writing 4 KiB-aligned batches into a preallocated zero-filled file,
//   K=2, 4, 8 into the zero-filled file.
// What it answers: does a pipeline of data syncs (bench/probes/parallel-sync.c: the disk takes
// several in flight) make a closed loop of N commits faster?
//
// Run: UV_THREADPOOL_SIZE=16 node bench/probes/pipelined-group-commit.js [INFLIGHT=64] [DIR=os.tmpdir()]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

class PipelinedLog {
  constructor(fd, depth, aligned) {
    this.fd = fd;
    this.depth = depth;
    this.aligned = aligned;
    this.offset = 0;
    this.inFlight = 0;
    this.bufs = [];
    this.resolves = [];
    this.kickScheduled = false;
    this.lastStarted = 0;
    this.lastDone = 0;
    this.finished = new Set();
    this.waiting = new Map(); // batch id -> resolves
    this.batches = 0;
  }
  append(buf) {
    return new Promise((resolve) => {
      this.bufs.push(buf);
      this.resolves.push(resolve);
      if (this.inFlight < this.depth && !this.kickScheduled) {
        this.kickScheduled = true;
        process.nextTick(() => {
          this.kickScheduled = false;
          this.startBatches();
        });
      }
    });
  }
  startBatches() {
    while (this.inFlight < this.depth && this.bufs.length) this.startBatch();
  }
  startBatch() {
    const bufs = this.bufs;
    const id = ++this.lastStarted;
    this.waiting.set(id, this.resolves);
    this.bufs = [];
    this.resolves = [];
    let len = 0;
    for (const b of bufs) len += b.length;
    const at = this.offset;
    this.offset += this.aligned ? Math.ceil(len / 4096) * 4096 : len;
    this.inFlight++;
    this.batches++;
    fs.writev(this.fd, bufs, at, (err) => {
      if (err) throw err;
      fs.fdatasync(this.fd, (err2) => {
        if (err2) throw err2;
        this.inFlight--;
        this.finished.add(id);
        while (this.finished.has(this.lastDone + 1)) {
          this.lastDone++;
          this.finished.delete(this.lastDone);
          for (const r of this.waiting.get(this.lastDone)) r();
          this.waiting.delete(this.lastDone);
        }
        this.startBatches();
      });
    });
  }
}

async function run(dir, depth, inflight, seconds, zeroFilled) {
  const d = fs.mkdtempSync(path.join(dir, 'pgc-'));
  const file = path.join(d, 'log');
  const bytes = 256 << 20;
  if (zeroFilled) {
    const fd0 = fs.openSync(file, 'w');
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < bytes >> 20; i++) fs.writeSync(fd0, zeros);
    fs.fsyncSync(fd0);
    fs.closeSync(fd0);
  }
  const fd = fs.openSync(file, zeroFilled ? 'r+' : 'w');
  const log = new PipelinedLog(fd, depth, zeroFilled);
  const payload = Buffer.alloc(168, 3); // a 128 B commit with a 40 B header
  const latencies = [];
  let n = 0;
  let stop = false;
  const client = async () => {
    while (!stop && log.offset < bytes - (1 << 20)) {
      const t0 = performance.now();
      await log.append(payload);
      latencies.push(performance.now() - t0);
      n++;
    }
  };
  const t0 = performance.now();
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  await Promise.all(Array.from({ length: inflight }, client));
  clearTimeout(timer);
  const dt = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  fs.rmSync(d, { recursive: true });
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))].toFixed(3);
  return `depth ${depth} ${zeroFilled ? 'zero-filled' : 'appending  '} @${inflight}: ${(n / dt / 1000).toFixed(1)}k commits/s, ${(n / log.batches).toFixed(1)} commits per batch, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

(async () => {
  const inflight = Number(process.argv[2] || 64);
  const dir = process.argv[3] || os.tmpdir();
  for (let round = 0; round < 2; round++) {
    for (const [depth, zero] of [[1, false], [1, true], [2, true], [4, true], [8, true]]) {
      console.log(await run(dir, depth, inflight, 3, zero));
    }
  }
})();
