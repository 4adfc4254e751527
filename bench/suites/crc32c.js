'use strict';
// CRC32C throughput and per-call cost: parallel-wal (its public crc32c, which picks the JS path
// for tiny Uint8Arrays and the best native implementation otherwise), each native implementation
// on its own (crc32cWith, shown as "parallel-wal[<impl>]"), and the peers a user would pick.
//
// Needs the compiled package: `npm run build:ts` (and the addon built) before running.
// Every (system, size) pair gets its own generated loop function, so V8's call-site feedback
// stays monomorphic and one system's inlining decisions do not leak into another's numbers.
const path = require('node:path');
const v8 = require('node:v8');
const { median, Table, loadPeer } = require('../harness');

const SIZES = [
  ['8 B', 8],
  ['64 B', 64],
  ['1 KiB', 1024],
  ['4 KiB', 4096],
  ['64 KiB', 65536],
  ['1 MiB', 1 << 20],
];
const OURS = 'parallel-wal';
const CHECK = Buffer.from('123456789');
const CHECK_VALUE = 0xe3069283;

// The ratio column compares the public parallel-wal entry point with the real peers only; the
// per-implementation columns are ours too and must not count as "best peer".
class CrcTable extends Table {
  ratio(row) {
    const cells = this.rows.get(row);
    const mine = cells && cells.get(this.ours);
    if (!mine) return undefined;
    let best;
    for (const [system, stat] of cells) {
      if (system.startsWith(OURS) || !stat) continue;
      if (best === undefined || (this.higherIsBetter ? stat.median > best : stat.median < best)) best = stat.median;
    }
    if (best === undefined) return undefined;
    return this.higherIsBetter ? mine.median / best : best / mine.median;
  }
}

function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
}

/** Iterations of `fn` that take about `sampleMs` of CPU time. */
function calibrate(fn, sampleMs) {
  let iterations = 1;
  for (;;) {
    const t0 = cpuNs();
    fn(iterations);
    const dt = (cpuNs() - t0) / 1e6;
    if (dt >= sampleMs / 4 || iterations >= 1 << 30) {
      return Math.max(1, Math.round((iterations * sampleMs) / Math.max(dt, 0.001)));
    }
    iterations *= 4;
  }
}

/**
 * Like harness.timeSync, for several competitors at once, timed in CPU time of this process
 * (process.cpuUsage, microsecond resolution) rather than wall time: on this shared 2-core
 * machine other jobs deschedule us for whole time slices, which wall time would charge to
 * whatever was being measured. Samples are interleaved round-robin across the competitors, so a
 * noisy stretch hits all of them alike instead of whichever happened to run then.
 * Returns, per competitor, per-iteration ns {median,min,max,samples}.
 */
function timeCpuInterleaved(loops, { samples = 11, sampleMs = 40 } = {}) {
  const iterations = loops.map((fn) => calibrate(fn, sampleMs));
  loops.forEach((fn, i) => fn(iterations[i])); // warm-up at the final size
  const ns = loops.map(() => []);
  for (let s = 0; s < samples; s++) {
    loops.forEach((fn, i) => {
      const t0 = cpuNs();
      fn(iterations[i]);
      ns[i].push((cpuNs() - t0) / iterations[i]);
    });
  }
  return ns.map((v) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v), samples: v }));
}

let loopId = 0;
/**
 * A loop that calls `fn(buf)` `iterations` times, compiled separately for each use. The source
 * text differs per loop on purpose: V8 caches compilations of identical `new Function` sources,
 * and loops sharing one compiled function share its call-site feedback (which then turns
 * megamorphic and slows whichever system is measured later).
 */
function makeLoop(fn, buf) {
  loopId++;
  // eslint-disable-next-line no-new-func
  const factory = new Function(
    'fn',
    'buf',
    `return function crcLoop${loopId}(iterations) {
       let acc = 0;
       for (let i = 0; i < iterations; i++) acc ^= fn(buf);
       return acc;
     };`,
  );
  return factory(fn, buf);
}

function randomBuffer(n, seed) {
  // Fresh (non-pooled) memory, deterministic content.
  const buf = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

function loadSystems(ctx) {
  let pw;
  try {
    pw = require(path.join(__dirname, '..', '..', 'dist'));
  } catch (e) {
    throw new Error(`parallel-wal is not built (run \`npm run build\`): ${e.message}`);
  }
  const systems = [{ name: OURS, fn: pw.crc32c }];
  for (const impl of pw.crc32cImplementations().slice().reverse()) {
    const crc32cWith = pw.crc32cWith;
    systems.push({ name: `${OURS}[${impl}]`, fn: (b) => crc32cWith(impl, b) });
  }
  const noders = loadPeer('@node-rs/crc32', ctx.skipped);
  if (noders) systems.push({ name: '@node-rs/crc32', fn: noders.crc32c });
  const sse4 = loadPeer('sse4_crc32', ctx.skipped);
  if (sse4) systems.push({ name: 'sse4_crc32', fn: sse4.calculate });
  const aws = loadPeer('aws-crt', ctx.skipped);
  if (aws) systems.push({ name: 'aws-crt', fn: aws.checksums.crc32c });
  const crc32 = loadPeer('crc-32/crc32c', ctx.skipped);
  if (crc32) systems.push({ name: 'crc-32 (JS)', fn: crc32.buf }); // signed result; compared as >>> 0
  // Every system must compute the same checksum, or its numbers mean nothing.
  const probe = randomBuffer(100003, 7);
  const expected = pw.crc32cWith('portable', probe);
  return systems.filter((s) => {
    const ok = s.fn(CHECK) >>> 0 === CHECK_VALUE && s.fn(probe) >>> 0 === expected;
    if (!ok) ctx.skipped.push({ peer: s.name, reason: 'wrong CRC32C value; not measured' });
    return ok;
  });
}

async function run(ctx) {
  // With both cores busy (other jobs), V8's background compiler thread can lag for a long time
  // and a pure-JS system then runs unoptimised through a whole measurement. Compiling on the main
  // thread makes "optimised" deterministic; the generated code is the same.
  v8.setFlagsFromString('--no-concurrent-recompilation');
  v8.setFlagsFromString('--no-concurrent-osr');
  try {
    await measure(ctx);
  } finally {
    v8.setFlagsFromString('--concurrent-recompilation');
    v8.setFlagsFromString('--concurrent-osr');
  }
}

async function measure(ctx) {
  const systems = loadSystems(ctx);
  const opts = ctx.quick ? { samples: 5, sampleMs: 20 } : { samples: 15, sampleMs: 40 };
  const gbps = new CrcTable({ title: 'CRC32C throughput', metric: 'throughput', unit: 'GB/s' });
  const perCall = new CrcTable({ title: 'CRC32C call cost at 64 B', metric: 'time per call', unit: 'ns', higherIsBetter: false });

  for (const [label, size] of SIZES) {
    const buf = randomBuffer(size, size);
    const stats = timeCpuInterleaved(systems.map((s) => makeLoop(s.fn, buf)), opts);
    systems.forEach((s, i) => {
      const ns = stats[i];
      // GB/s = bytes per ns; the slowest sample gives the minimum throughput.
      gbps.add(label, s.name, { median: size / ns.median, min: size / ns.max, max: size / ns.min });
      if (size === 64) perCall.add('64 B', s.name, { median: ns.median, min: ns.min, max: ns.max });
    });
  }
  const pw = require(path.join(__dirname, '..', '..', 'dist'));
  const impl = pw.crc32cImplementation();
  gbps.note(
    `${OURS} = the public crc32c(): native "${impl}" implementation, pure JS for Uint8Arrays of at most ` +
      `${require(path.join(__dirname, '..', '..', 'dist', 'crc32c')).JS_MAX_BYTES} bytes. ` +
      `${OURS}[x] = crc32cWith('x', ...), native only. "vs best peer" compares ${OURS} with the other packages only.`,
  );
  perCall.note('Includes the JS->native call.');
  for (const t of [gbps, perCall]) {
    t.note(`Timed in process CPU time (${opts.samples} samples of ~${opts.sampleMs} ms each), interleaved across systems, so time spent descheduled by other jobs is not counted; 1 GB = 10^9 bytes.`);
  }
  ctx.tables.push(gbps, perCall);
}

module.exports = { run };
