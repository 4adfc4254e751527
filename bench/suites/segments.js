'use strict';
// Segment files: write throughput per fsync policy next to a plain fs loop doing the same I/O,
// small-epoch latency next to one raw append+fdatasync, and recovery throughput next to raw
// reads of the same files. Uses the built package: `npm run build:ts` first.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Table, median } = require('../harness');
const wal = require('../../dist');

const KiB = 1024;
const MiB = 1024 * 1024;

function stat(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), samples: values };
}

/** An epoch of `bytes` of 4 KiB after-images (or one record of `recordBytes`). */
function makeBatch(epoch, bytes, recordBytes) {
  const records = [];
  const n = Math.max(1, Math.floor(bytes / recordBytes));
  for (let i = 0; i < n; i++) {
    records.push({
      txnToken: { id: epoch * 100000 + i + 1, epoch: 0 },
      epoch,
      pageId: i + 1,
      beginSeq: epoch * 100000 + i,
      endSeq: epoch * 100000 + i,
      beforeImage: Buffer.alloc(0),
      afterImage: Buffer.alloc(recordBytes, (epoch + i) & 0xff),
    });
  }
  return { epoch, records, recordsPerCore: [n] };
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const noop = () => {};

/**
 * Starts `op(i)` and drops its result: returns a promise of nothing for an async op, nothing for
 * a sync one. Holding the previous op's result while the next one runs is not what a caller does
 * (nobody keeps one recovery's million records alive while running another), and it made every
 * collection during the next op mark them: recoverSegmentsSync measured at half its speed.
 */
function startOp(op, i) {
  const r = op(i);
  return r && typeof r.then === 'function' ? r.then(noop) : undefined;
}

/**
 * Runs `samples` samples of `ops` operations; `op(i)` returns a promise or nothing and is timed
 * alone; `after(i)` runs untimed (cleanup). Returns per-op milliseconds {median,min,max}.
 */
async function measure({ samples, ops, op, after }) {
  // Start from a collected heap (the harness runs with --expose-gc) so that the garbage of the
  // previous measurement is not charged to this one; this one's own garbage still is.
  if (typeof global.gc === 'function') global.gc();
  const perSample = [];
  const cpuPerSample = [];
  let i = 0;
  for (let s = 0; s < samples; s++) {
    let total = 0;
    let cpu = 0;
    for (let k = 0; k < ops; k++, i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const pending = startOp(op, i);
      if (pending) await pending;
      total += performance.now() - t0;
      const c = process.cpuUsage(c0);
      cpu += (c.user + c.system) / 1e3;
      if (after) after(i);
    }
    perSample.push(total / ops);
    cpuPerSample.push(cpu / ops);
  }
  // `cpu`: process CPU time per op (all threads, so the thread-pool work of async calls too).
  // On a loaded machine it shows what the work costs when wall time mostly shows waiting.
  return { ...stat(perSample), cpu: stat(cpuPerSample) };
}

/**
 * Like measure(), for several variants at once, interleaved: operation k of every variant runs
 * before operation k+1 of any (in a rotating order), so drift in the device's fsync time (large
 * on a VM) lands on every variant alike instead of on whichever ran during a slow spell.
 * `variants` is { name: { op(i), after(i) } }; returns { name: stat }.
 */
async function measureInterleaved({ samples, ops, variants }) {
  if (typeof global.gc === 'function') global.gc();
  const names = Object.keys(variants);
  const per = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [] }]));
  let i = 0;
  for (let s = 0; s < samples; s++) {
    const total = Object.fromEntries(names.map((n) => [n, 0]));
    const cpu = Object.fromEntries(names.map((n) => [n, 0]));
    for (let k = 0; k < ops; k++, i++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(j + i) % names.length];
        const v = variants[name];
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const pending = startOp(v.op, i);
        if (pending) await pending;
        total[name] += performance.now() - t0;
        const c = process.cpuUsage(c0);
        cpu[name] += (c.user + c.system) / 1e3;
        if (v.after) v.after(i);
      }
    }
    for (const n of names) {
      per[n].wall.push(total[n] / ops);
      per[n].cpu.push(cpu[n] / ops);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ...stat(per[n].wall), cpu: stat(per[n].cpu) }]));
}

function map(st, f) {
  const a = f(st.median);
  const b = f(st.min);
  const c = f(st.max);
  return { median: a, min: Math.min(b, c), max: Math.max(b, c) };
}

/**
 * One parallel-wal variant of an interleaved measurement: each op writes the next epoch
 * (base, base + 1, ...) of `batches` (in rotation) to `db`, and `after` hands the segment's path
 * to `dispose`. With `ahead`, the epochs go into files prepareSegments made `ahead.count` at a
 * time in `after` (untimed, as an application would make them in the background; the time is
 * added to `ahead.cost` when given).
 */
function segmentWriter({ db, batches, base, sync, policy, ahead, dispose }) {
  let next = base;
  const prepare = () => {
    const t0 = performance.now();
    const made = wal.prepareSegmentsSync(db, { firstEpoch: next, count: ahead.count, sizeBytes: ahead.sizeBytes, fsyncPolicy: policy });
    if (ahead.cost) {
      ahead.cost.files += made;
      ahead.cost.ms += performance.now() - t0;
    }
  };
  if (ahead) prepare();
  return {
    op: () => {
      const b = batches[next % batches.length];
      for (const r of b.records) r.epoch = next;
      b.epoch = next;
      return sync ? void wal.writeSegmentSync(db, b, { fsyncPolicy: policy }) : wal.writeSegment(db, b, { fsyncPolicy: policy });
    },
    after: () => {
      dispose(wal.segmentPath(db, next));
      next++;
      if (ahead && (next - base) % ahead.count === 0) prepare();
    },
  };
}

async function writeThroughput(ctx, dir) {
  const q = ctx.quick;
  const mbps = new Table({ title: 'Segment write', metric: 'throughput', unit: 'MB/s', higherIsBetter: true });
  const sps = new Table({ title: 'Segment write', metric: 'segments per second', unit: 'segments/s', higherIsBetter: true });
  const raw = {
    full: 'raw fs (write+fsync+dirsync)',
    normal: 'raw fs (write+fdatasync+dirsync)',
    off: 'raw fs (write only)',
  };
  const checks = [];
  const db = path.join(dir, 'write.db');
  let range = 0; // each variant of each round writes its own range of epochs
  for (const [label, bytes] of [['1 MiB epoch', MiB], ['64 KiB epoch', 64 * KiB]]) {
    const batches = [];
    for (let i = 0; i < 8; i++) batches.push(makeBatch(0, bytes, 4 * KiB));
    const payload = Buffer.concat(batches[0].records.map((r) => r.afterImage));
    // Bytes our segment holds (headers, per-record fields, checksums, certificate).
    const probe = await wal.writeSegment(db, { ...batches[0], epoch: 0, records: batches[0].records.map((r) => ({ ...r, epoch: 0 })) }, { fsyncPolicy: 'off' });
    await wal.cleanupSegments(db);
    const rawBuf = Buffer.alloc(probe, 7); // the raw loop writes as many bytes as a segment has
    for (const policy of ['full', 'normal', 'off']) {
      const samples = q ? 3 : 5;
      const ops = policy === 'off' ? (q ? 40 : 100) : q ? 15 : 40;
      // The same calls into files made ahead with prepareSegments (their cost is reported
      // separately below). A prepared file is at most 1 MiB, so the 1 MiB epoch (a little more on
      // disk) extends it slightly.
      const prep = { ms: 0, files: 0 };
      const ahead = { count: 16, sizeBytes: Math.min(probe, MiB), cost: prep };
      const variant = (sync, made) =>
        segmentWriter({ db, batches, base: (range += 100_000), sync, policy, ahead: made ? ahead : undefined, dispose: fs.unlinkSync });
      const m = await measureInterleaved({
        samples,
        ops,
        variants: {
          ours: variant(false, false),
          // The same calls without the thread-pool hop (the raw loops below are synchronous too).
          oursSync: variant(true, false),
          oursAhead: variant(false, true),
          oursAheadSync: variant(true, true),
          raw: {
            op: (i) => {
              const fd = fs.openSync(path.join(dir, `raw-${i}`), 'wx');
              fs.writeSync(fd, rawBuf);
              if (policy === 'full') fs.fsyncSync(fd);
              else if (policy === 'normal') fs.fdatasyncSync(fd);
              fs.closeSync(fd);
              if (policy !== 'off') syncDir(dir);
            },
            after: (i) => fs.unlinkSync(path.join(dir, `raw-${i}`)),
          },
          // The portable publication protocol in plain fs calls: temp file, write, sync, close,
          // rename, directory sync. (On Linux parallel-wal writes an unnamed O_TMPFILE file and
          // links it instead, which plain fs cannot express; it falls back to this elsewhere.)
          rawRename: {
            op: (i) => {
              const tmpName = path.join(dir, `rawt-${i}`);
              const fd = fs.openSync(tmpName, 'wx');
              fs.writeSync(fd, rawBuf);
              if (policy === 'full') fs.fsyncSync(fd);
              else if (policy === 'normal') fs.fdatasyncSync(fd);
              fs.closeSync(fd);
              fs.renameSync(tmpName, path.join(dir, `rawr-${i}`));
              if (policy !== 'off') syncDir(dir);
            },
            after: (i) => fs.unlinkSync(path.join(dir, `rawr-${i}`)),
          },
        },
      });
      wal.cleanupSegmentsSync(db); // prepared files the run did not use
      const { ours, oursSync, oursAhead, oursAheadSync, raw: rawStat, rawRename } = m;
      const row = `${label}, ${policy}`;
      const toMB = (ms) => probe / 1e6 / (ms / 1e3);
      mbps.add(row, 'parallel-wal', map(ours, toMB));
      mbps.add(row, 'parallel-wal (writeSegmentSync)', map(oursSync, toMB));
      mbps.add(row, 'parallel-wal, files made ahead', map(oursAhead, toMB));
      mbps.add(row, 'parallel-wal, files made ahead (writeSegmentSync)', map(oursAheadSync, toMB));
      mbps.add(row, raw[policy], map(rawStat, toMB));
      mbps.add(row, 'raw fs, temp+rename (portable protocol)', map(rawRename, toMB));
      sps.add(row, 'parallel-wal', map(ours, (ms) => 1e3 / ms));
      sps.add(row, 'parallel-wal (writeSegmentSync)', map(oursSync, (ms) => 1e3 / ms));
      sps.add(row, 'parallel-wal, files made ahead', map(oursAhead, (ms) => 1e3 / ms));
      sps.add(row, 'parallel-wal, files made ahead (writeSegmentSync)', map(oursAheadSync, (ms) => 1e3 / ms));
      sps.add(row, raw[policy], map(rawStat, (ms) => 1e3 / ms));
      sps.add(row, 'raw fs, temp+rename (portable protocol)', map(rawRename, (ms) => 1e3 / ms));
      const prepPerFile = prep.ms / prep.files;
      if (policy !== 'off') {
        checks.push({
          row,
          ratio: ours.median / rawStat.median,
          syncRatio: oursSync.median / rawStat.median,
          aheadRatio: oursAhead.median / rawStat.median,
          aheadSyncRatio: oursAheadSync.median / rawStat.median,
          prepPerFile,
          aheadSyncWithPrep: (oursAheadSync.median + prepPerFile) / rawStat.median,
          raw: raw[policy],
          protocol: rawRename.median / rawStat.median,
          vsProtocol: ours.median / rawRename.median,
        });
      }
    }
    mbps.note(`${label}: ${batches[0].records.length} records of 4 KiB after-images (${(payload.length / KiB).toFixed(0)} KiB of images, ${probe} bytes on disk as a v2 segment; the raw loop writes the same number of bytes to a new file).`);
  }
  for (const c of checks) {
    const verdict = (r) => (r <= 1.2 ? 'met' : 'NOT met');
    mbps.note(
      `target epoch write <= 1.2x raw (${c.raw}): ${c.row}: into files made ahead, writeSegmentSync ${c.aheadSyncRatio.toFixed(2)}x — ${verdict(c.aheadSyncRatio)}, writeSegment (promise, one thread-pool hop) ${c.aheadRatio.toFixed(2)}x — ${verdict(c.aheadRatio)}; ` +
        `into a new file, writeSegmentSync ${c.syncRatio.toFixed(2)}x — ${verdict(c.syncRatio)}, writeSegment ${c.ratio.toFixed(2)}x — ${verdict(c.ratio)} (the portable temp+rename protocol in plain fs: ${c.protocol.toFixed(2)}x raw). ` +
        `Making a file ahead (untimed above) took ${(c.prepPerFile * 1e3).toFixed(0)} µs per file; with it, writeSegmentSync would be ${c.aheadSyncWithPrep.toFixed(2)}x raw.`,
    );
  }
  ctx.tables.push(mbps, sps);
}

async function smallEpoch(ctx, dir) {
  const q = ctx.quick;
  const t = new Table({ title: 'Small epoch (one 128-byte record)', metric: 'latency per epoch', unit: 'µs', higherIsBetter: false });
  const db = path.join(dir, 'small.db');
  const samples = q ? 3 : 5;
  const ops = q ? 60 : 200;
  const rec = Buffer.alloc(128 + 48, 1);
  // Each variant writes its own range of epochs. The "made ahead" ones write into files that
  // prepareSegments made (untimed, in `after`, a batch at a time, as an application would do in
  // the background): the commit path is then one in-place write plus one data sync.
  const writer = (base, { sync, prepared, policy }) =>
    segmentWriter({
      db,
      batches: [makeBatch(base, 128, 128)],
      base,
      sync,
      policy,
      ahead: prepared ? { count: 64 } : undefined,
      dispose: (p) => garbage.push(p),
    });
  const appendPath = path.join(dir, 'append.log');
  const garbage = [];
  const checks = [];
  let range = 1_000_000;
  for (const policy of ['normal', 'full']) {
    const fd = fs.openSync(appendPath, 'a');
    const handle = await fs.promises.open(path.join(dir, 'append-async.log'), 'a');
    const variants = {
      'parallel-wal': writer((range += 100_000), { sync: false, prepared: false, policy }),
      'parallel-wal (writeSegmentSync)': writer((range += 100_000), { sync: true, prepared: false, policy }),
      'parallel-wal, files made ahead': writer((range += 100_000), { sync: false, prepared: true, policy }),
      'parallel-wal, files made ahead (writeSegmentSync)': writer((range += 100_000), { sync: true, prepared: true, policy }),
      'raw fs (append+fdatasync, one open file)': {
        op: () => {
          fs.writeSync(fd, rec);
          fs.fdatasyncSync(fd);
        },
        // Files are deleted in batches, not right after each write: deleting a file just written
        // is not what a log does, and on a file system mounted with `discard` (as here) the freed
        // blocks slow down the next journal commit, whoever's sync forces it. A batch every 32
        // rounds keeps the directory small; the rotation spreads its cost over every variant.
        after: (i) => {
          if (i % 32 === 31) {
            for (const f of garbage.splice(0)) fs.unlinkSync(f);
          }
        },
      },
      // The same append as a promise-returning caller does it: what the thread pool's two hops
      // (write, then datasync) cost next to the synchronous calls above.
      'raw fs promises (append+datasync, one open file)': {
        op: async () => {
          await handle.write(rec);
          await handle.datasync();
        },
      },
      'raw fs (new file+write+fdatasync+dirsync)': {
        op: (i) => {
          const f = fs.openSync(path.join(dir, `small-raw-${i}`), 'wx');
          fs.writeSync(f, rec);
          fs.fdatasyncSync(f);
          fs.closeSync(f);
          syncDir(dir);
        },
        after: (i) => garbage.push(path.join(dir, `small-raw-${i}`)),
      },
      // Our publication protocol in plain fs calls (temp file, write, fdatasync, rename, dirsync).
      'raw fs, temp+rename (our protocol)': {
        op: (i) => {
          const tmpName = path.join(dir, `small-rawt-${i}`);
          const f = fs.openSync(tmpName, 'wx');
          fs.writeSync(f, rec);
          fs.fdatasyncSync(f);
          fs.closeSync(f);
          fs.renameSync(tmpName, path.join(dir, `small-rawr-${i}`));
          syncDir(dir);
        },
        after: (i) => garbage.push(path.join(dir, `small-rawr-${i}`)),
      },
    };
    const r = await measureInterleaved({ samples, ops, variants });
    fs.closeSync(fd);
    await handle.close();
    for (const f of garbage.splice(0)) fs.unlinkSync(f);
    wal.cleanupSegmentsSync(db); // the segments, and prepared files the run did not use
    for (const [name, st] of Object.entries(r)) t.add(`fsyncPolicy ${policy}`, name, map(st, (ms) => ms * 1e3));
    const floor = r['raw fs (append+fdatasync, one open file)'].median;
    checks.push({
      policy,
      sync: r['parallel-wal, files made ahead (writeSegmentSync)'].median / floor,
      async: r['parallel-wal, files made ahead'].median / floor,
      asyncVsPromises: r['parallel-wal, files made ahead'].median / r['raw fs promises (append+datasync, one open file)'].median,
      fresh: r['parallel-wal'].median / floor,
      vsNewFile: r['parallel-wal'].median / r['raw fs (new file+write+fdatasync+dirsync)'].median,
    });
  }
  const verdict = (x) => (x <= 1.3 ? 'met' : 'NOT met');
  for (const c of checks) {
    t.note(
      `target small epoch <= 1.3x one raw append+fdatasync if the files are made ahead of time (fsyncPolicy ${c.policy}): ` +
        `writeSegmentSync into a prepared file ${c.sync.toFixed(2)}x — ${verdict(c.sync)}; writeSegment (promise, one thread-pool hop) ${c.async.toFixed(2)}x — ${verdict(c.async)} (${c.asyncVsPromises.toFixed(2)}x the same append through fs.promises). ` +
        `Without files made ahead: ${c.fresh.toFixed(2)}x the append, ${c.vsNewFile.toFixed(2)}x a raw new file+dirsync.`,
    );
  }
  t.note('All variants interleaved operation by operation, so drift in the device\'s sync time lands on each alike. Files made ahead with prepareSegments (64 at a time, untimed).');
  ctx.tables.push(t);
}

async function recovery(ctx, dir) {
  const q = ctx.quick;
  const gbps = new Table({ title: 'Recovery (page cache warm)', metric: 'throughput', unit: 'GB/s', higherIsBetter: true });
  // Thousands, not millions: large pages recover tens of thousands of records per second, which
  // printed as 0.00 in M records/s.
  const rps = new Table({ title: 'Recovery (page cache warm)', metric: 'records per second', unit: 'K records/s', higherIsBetter: true });
  const cpuGbps = new Table({ title: 'Recovery (page cache warm)', metric: 'throughput per CPU-second (process CPU time, all threads)', unit: 'GB/s', higherIsBetter: true });
  const cpuRps = new Table({ title: 'Recovery (page cache warm)', metric: 'records per CPU-second (process CPU time, all threads)', unit: 'K records/s', higherIsBetter: true });
  const setups = [
    { label: 'large pages (64 KiB records)', recordBytes: 64 * KiB, perSegment: 16, segments: q ? 32 : 128 },
    { label: '128-byte records', recordBytes: 128, perSegment: 8192, segments: q ? 32 : 128 },
  ];
  const notes = [];
  for (const s of setups) {
    const sub = path.join(dir, `recover-${s.recordBytes}`);
    fs.mkdirSync(sub);
    const db = path.join(sub, 'r.db');
    for (let e = 1; e <= s.segments; e++) {
      wal.writeSegmentSync(db, makeBatch(e, s.perSegment * s.recordBytes, s.recordBytes), { fsyncPolicy: 'off', prevDurableEpoch: e > 1 ? e - 1 : null });
    }
    const files = wal.listSegmentsSync(db).map((x) => x.path);
    const totalBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
    const totalRecords = s.perSegment * s.segments;
    // Warm the page cache and check the log. The records are dropped before measuring (only
    // the count is kept): a million records left alive would be marked by every collection of
    // the measurements below and charged to them.
    const checked = (await wal.recoverSegments(db)).records.length;
    if (checked !== totalRecords) throw new Error('recovery returned the wrong record count');
    const samples = q ? 3 : 5;
    const ops = q ? 2 : 4;
    const ours = await measure({ samples, ops, op: () => wal.recoverSegments(db) });
    const oursSync = await measure({ samples, ops, op: () => wal.recoverSegmentsSync(db) });
    // The same recovery, records as columns (no object per record); images made for none.
    const columnar = await measure({ samples, ops, op: () => wal.recoverSegmentsColumnar(db) });
    const iter = await measure({
      samples,
      ops: 1,
      op: async () => {
        let n = 0;
        for await (const _ of wal.iterateSegmentRecords(db)) n++;
        if (n !== totalRecords) throw new Error('iterator returned the wrong record count');
      },
    });
    const raw = await measure({
      samples,
      ops,
      op: () => {
        let n = 0;
        for (const f of files) n += fs.readFileSync(f).length;
        if (n !== totalBytes) throw new Error('short read');
      },
    });
    const toGB = (ms) => totalBytes / 1e9 / (ms / 1e3);
    const toMR = (ms) => totalRecords / 1e6 / (ms / 1e3);
    const toKR = (ms) => totalRecords / 1e3 / (ms / 1e3);
    for (const [system, st] of [
      ['parallel-wal', ours],
      ['parallel-wal (recoverSegmentsSync)', oursSync],
      ['parallel-wal (recoverSegmentsColumnar)', columnar],
      ['parallel-wal (iterateSegmentRecords)', iter],
      ['raw fs (readFileSync of the same files)', raw],
    ]) {
      gbps.add(s.label, system, map(st, toGB));
      cpuGbps.add(s.label, system, map(st.cpu, toGB));
      if (!system.startsWith('raw')) {
        rps.add(s.label, system, map(st, toKR));
        cpuRps.add(s.label, system, map(st.cpu, toKR));
      }
    }
    gbps.note(`${s.label}: ${s.segments} segments, ${totalRecords} records, ${(totalBytes / MiB).toFixed(1)} MiB.`);
    if (s.recordBytes === 64 * KiB) {
      const v = toGB(ours.median);
      notes.push(`target recovery >= 1 GB/s on large pages (recoverSegments, record objects): ${v.toFixed(2)} GB/s wall — ${v >= 1 ? 'met' : 'NOT met'} (raw readFileSync ${toGB(raw.median).toFixed(2)} GB/s); per CPU-second ${toGB(ours.cpu.median).toFixed(2)} GB/s (raw ${toGB(raw.cpu.median).toFixed(2)})`);
    } else {
      const v = toMR(ours.median);
      const c = toMR(columnar.median);
      const it = toMR(iter.median);
      const verdict = (x) => (x >= 2 ? 'met' : 'NOT met');
      notes.push(
        `target recovery >= 2 M records/s on 128-byte records: iterateSegmentRecords (one object per record, consumed as they come) ${it.toFixed(2)} M/s wall — ${verdict(it)} (${toMR(iter.cpu.median).toFixed(2)} M per CPU-second); ` +
          `recoverSegmentsColumnar (columns, images on demand) ${c.toFixed(2)} M/s wall — ${verdict(c)} (${toMR(columnar.cpu.median).toFixed(2)} M per CPU-second); ` +
          `recoverSegments (one object per record, all alive in one array) ${v.toFixed(2)} M/s wall — ${verdict(v)} (${toMR(ours.cpu.median).toFixed(2)} M per CPU-second)`,
      );
    }
  }
  for (const n of notes) gbps.note(n);
  cpuGbps.note('The same runs as the wall-clock tables, divided by the CPU time the process used: on an idle machine wall time approaches this; on a loaded one wall time is mostly waiting for a core.');
  ctx.tables.push(gbps, rps, cpuGbps, cpuRps);
}

async function run(ctx) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-bench-seg-'));
  try {
    await writeThroughput(ctx, dir);
    await smallEpoch(ctx, dir);
    await recovery(ctx, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { run };
