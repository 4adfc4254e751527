'use strict';
// One child process per system (fresh heap, fresh libuv thread pool, RSS attributable to that
// system alone, and a crash in a native addon cannot take the whole harness down).
// Receives its plan as JSON in argv[2]; reports over IPC:
//   {type:'cell', payloadSize, inflight, samples, peakRss, stats}
//   {type:'sustained', ...}  {type:'error', message, payloadSize?, inflight?}  {type:'done', peakRss, baseRss}
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { closedLoop, newHistogram } = require('./loop');
const { SYSTEMS } = require('./systems');

const plan = JSON.parse(process.argv[2]);
const send = (m) => process.send && process.send(m);

let peakRss = 0;
const sampleRss = () => {
  const r = process.memoryUsage.rss();
  if (r > peakRss) peakRss = r;
  return r;
};

function gc() {
  if (global.gc) global.gc();
}

async function main() {
  const sys = SYSTEMS[plan.system];
  const mod = sys.load ? sys.load() : sys.peer ? require(sys.peer) : undefined;
  const open = sys.make(mod);
  gc();
  const baseRss = sampleRss();

  for (const cell of plan.cells) {
    const dir = fs.mkdtempSync(path.join(plan.tmpRoot, `${plan.system.replace(/[^a-z0-9]+/gi, '_')}-`));
    try {
      const payload = crypto.randomBytes(cell.payloadSize);
      gc();
      const store = await open({ dir, payload, inflight: cell.inflight });
      let cellPeak = sampleRss();
      const onRss = () => {
        const r = sampleRss();
        if (r > cellPeak) cellPeak = r;
      };
      const res = await closedLoop(store.op, {
        inflight: cell.inflight,
        warmupMs: plan.warmupMs,
        samples: plan.samples,
        sampleMs: cell.sampleMs || plan.sampleMs,
        onRss,
      });
      onRss();
      await store.close();
      send({ type: 'cell', payloadSize: cell.payloadSize, inflight: cell.inflight, samples: res.samples, peakRss: cellPeak, stats: store.stats });
    } catch (e) {
      send({ type: 'error', payloadSize: cell.payloadSize, inflight: cell.inflight, message: String((e && e.stack) || e) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  if (plan.sustained) {
    const { seconds, payloadSize, inflight } = plan.sustained;
    const dir = fs.mkdtempSync(path.join(plan.tmpRoot, 'sustained-'));
    try {
      gc();
      const payload = crypto.randomBytes(payloadSize);
      const store = await open({ dir, payload, inflight });
      const rssSeries = [];
      const t0 = Date.now();
      // Disk: an application that applies the log as it goes checkpoints what is durable, once a
      // second (ParallelWalCoordinator.checkpoint); the log's size on disk must stay bounded.
      const wal = store.wal && typeof store.wal.checkpoint === 'function' ? store.wal : null;
      const diskNow = () => {
        let b = 0;
        for (const f of fs.readdirSync(dir)) {
          try {
            b += fs.statSync(path.join(dir, f)).size;
          } catch {
            // deleted between the listing and the stat
          }
        }
        return b;
      };
      let peakDiskBytes = 0;
      let checkpoints = 0;
      let checkpointError;
      let lastCheckpoint = Promise.resolve();
      const timer = setInterval(() => {
        rssSeries.push({ t: (Date.now() - t0) / 1000, rss: sampleRss() });
        peakDiskBytes = Math.max(peakDiskBytes, diskNow());
        if (wal && wal.durableEpoch() >= 0) {
          lastCheckpoint = wal.checkpoint(wal.durableEpoch()).then(
            () => checkpoints++,
            (e) => (checkpointError = String(e)),
          );
        }
      }, 1000);
      const hist = newHistogram();
      // Whole-run latency histogram on top of the per-second windows.
      const op = store.op;
      const res = await closedLoop(
        async () => {
          const s = performance.now();
          await op();
          hist.recordValue(Math.max(1, Math.round((performance.now() - s) * 1e6)));
        },
        { inflight, warmupMs: 0, samples: seconds, sampleMs: 1000, onRss: sampleRss },
      );
      clearInterval(timer);
      await lastCheckpoint; // one still running when the load stops must not meet close()
      rssSeries.push({ t: (Date.now() - t0) / 1000, rss: sampleRss() });
      const diskBytes = diskNow();
      peakDiskBytes = Math.max(peakDiskBytes, diskBytes);
      await store.close();
      if (checkpointError) throw new Error(`checkpoint failed: ${checkpointError}`);
      send({
        type: 'sustained',
        payloadSize,
        inflight,
        seconds,
        samples: res.samples,
        rssSeries,
        p50: hist.getValueAtPercentile(50) / 1e6,
        p99: hist.getValueAtPercentile(99) / 1e6,
        p999: hist.getValueAtPercentile(99.9) / 1e6,
        max: hist.maxValue / 1e6,
        diskBytes,
        peakDiskBytes,
        checkpoints: wal ? checkpoints : null,
      });
    } catch (e) {
      send({ type: 'error', sustained: true, message: String((e && e.stack) || e) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return { type: 'done', peakRss, baseRss };
}

main()
  .catch((e) => ({ type: 'error', fatal: true, message: String((e && e.stack) || e) }))
  .then((last) => {
    // Exit once the last message is handed to the parent, even if a peer left a handle open.
    if (process.send) process.send(last, () => process.exit(0));
    else process.exit(0);
  });
