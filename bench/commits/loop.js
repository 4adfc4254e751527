'use strict';
// Closed-loop load generator: `inflight` async clients, each issuing one commit, awaiting it,
// recording its latency and issuing the next. Time is cut into fixed windows ("samples"); each
// window yields commits/s (completions in the window / window length) and p50/p99 latency of the
// commits that completed in it (hdr-histogram-js, nanosecond resolution).
//
// Window bookkeeping happens on each completion rather than on timers, so a system whose commit
// is synchronous (better-sqlite3, the fdatasync floor) — whose loop never yields to the event
// loop — is measured exactly like the asynchronous ones. RSS is sampled the same way (every
// ~100 ms of completions) and reported to `onRss`.
const { performance } = require('node:perf_hooks');
const hdr = require('hdr-histogram-js');

function newHistogram() {
  // 1 ns .. 100 s, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e11, numberOfSignificantValueDigits: 3 });
}

/**
 * @param {() => (Promise<unknown>|unknown)} op one commit
 * @param {{inflight:number, warmupMs:number, samples:number, sampleMs:number, onRss?:() => void}} o
 * @returns {Promise<{samples: {rate:number, count:number, p50:number, p99:number}[], total:number, wallMs:number}>}
 *   rate in ops/s, latencies in ms (NaN for a window in which nothing completed)
 */
async function closedLoop(op, { inflight, warmupMs, samples, sampleMs, onRss = () => {} }) {
  const hist = newHistogram();
  const out = [];
  const start = performance.now();
  let stop = false;
  let failure;
  let warmEnd = -1; // set once warm: warmupMs elapsed and at least 2*inflight completions
  let warmCount = 0;
  let cur = -1;
  let count = 0;
  let total = 0;
  let lastRss = start;

  const pushSample = () => {
    out.push({
      rate: count / (sampleMs / 1000),
      count,
      p50: count ? hist.getValueAtPercentile(50) / 1e6 : NaN,
      p99: count ? hist.getValueAtPercentile(99) / 1e6 : NaN,
    });
  };
  const pushEmpty = () => out.push({ rate: 0, count: 0, p50: NaN, p99: NaN });

  const done = (t0, t1) => {
    total++;
    if (t1 - lastRss >= 100) {
      lastRss = t1;
      onRss();
    }
    if (stop) return;
    if (warmEnd < 0) {
      warmCount++;
      if (t1 - start >= warmupMs && warmCount >= 2 * inflight) warmEnd = t1;
      return;
    }
    const idx = Math.floor((t1 - warmEnd) / sampleMs);
    if (idx !== cur) {
      if (cur >= 0) pushSample();
      for (let k = cur + 1; k < Math.min(idx, samples); k++) pushEmpty();
      if (idx >= samples) {
        stop = true;
        return;
      }
      cur = idx;
      hist.reset();
      count = 0;
    }
    hist.recordValue(Math.max(1, Math.round((t1 - t0) * 1e6)));
    count++;
  };

  const client = async () => {
    while (!stop) {
      const t0 = performance.now();
      try {
        await op();
      } catch (e) {
        if (!failure) failure = e;
        stop = true;
        return;
      }
      done(t0, performance.now());
    }
  };

  const clients = [];
  for (let i = 0; i < inflight; i++) clients.push(client());
  await Promise.all(clients);
  if (failure) throw failure;
  return { samples: out, total, wallMs: performance.now() - start };
}

module.exports = { closedLoop, newHistogram };
