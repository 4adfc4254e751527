'use strict';
// Durable commits: commits/s and p50/p99 latency at 1, 64 and 1024 commits in flight (closed
// loop), 128 B and 4 KiB payloads, for parallel-wal and its peers, all in one run; plus the
// append+fdatasync floor, the sequential write+fdatasync bandwidth, peak RSS per system, a
// sustained-load phase, and the issue-4 targets checked against numbers from this same run.
//
// Every system runs in its own child process (bench/commits/worker.js) on a fresh temp dir.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const { Table, loadPeer, median, fmt } = require('../harness');
const { SYSTEMS, traceChannelPresent, loadParallelWal, ROOT } = require('../commits/systems');

const KiB = 1024;
const MiB = 1024 * 1024;
const PAYLOADS = [128, 4 * KiB];
const INFLIGHT = [1, 64, 1024];
const OURS = 'parallel-wal';
const HEAD_TO_HEAD = [64, 1024]; // 128 B cells whose targets are ratios to the JS group commit

const sizeLabel = (n) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);
const rowLabel = (size, n) => `${sizeLabel(size)} @${n}`;
const allCells = (inflights = INFLIGHT) => PAYLOADS.flatMap((payloadSize) => inflights.map((inflight) => ({ payloadSize, inflight })));

function stat(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return undefined;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v) };
}

function human(rate) {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(1)}k` : rate.toFixed(0);
}

/** Runs one system's plan in a child process; resolves with its messages. */
function runChild(system, plan, timeoutMs) {
  return new Promise((resolve) => {
    const msgs = [];
    const child = fork(path.join(__dirname, '..', 'commits', 'worker.js'), [JSON.stringify({ system, ...plan })], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: ROOT,
    });
    let killedForTime = false;
    const timer = setTimeout(() => {
      killedForTime = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => {
      msgs.push(m);
      if (m.type === 'cell') {
        const rates = stat(m.samples.map((s) => s.rate));
        const p50 = stat(m.samples.map((s) => s.p50));
        const p99 = stat(m.samples.map((s) => s.p99));
        console.log(
          `  ${system.padEnd(31)} ${rowLabel(m.payloadSize, m.inflight).padEnd(12)} ${human(rates ? rates.median : 0).padStart(7)} ops/s` +
            `  p50 ${fmt(p50 && p50.median, 3)} ms  p99 ${fmt(p99 && p99.median, 3)} ms  rss ${(m.peakRss / MiB).toFixed(0)} MiB`,
        );
      } else if (m.type === 'error') {
        const where = m.sustained ? 'sustained phase' : m.fatal ? 'fatal' : rowLabel(m.payloadSize, m.inflight);
        console.log(`  ${system} ${where}: FAILED — ${m.message.split('\n')[0]}`);
      } else if (m.type === 'sustained') {
        console.log(`  ${system} sustained ${m.seconds}s @${m.inflight}: done`);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const done = msgs.some((m) => m.type === 'done');
      let exit;
      if (killedForTime) exit = `killed after ${Math.round(timeoutMs / 1000)} s (hung?)`;
      else if (!done) exit = `child exited (code ${code}, signal ${signal}) before finishing`;
      if (exit) console.log(`  ${system}: ${exit}`);
      resolve({ msgs, exit });
    });
  });
}

/** RSS growth verdict for the sustained phase. */
function rssVerdict(series, seconds) {
  const warm = Math.max(1, Math.min(10, seconds * 0.2));
  const pts = series.filter((p) => p.t >= warm);
  if (pts.length < 3) return { bounded: undefined, text: 'too few samples' };
  const half = Math.floor(pts.length / 2);
  const first = Math.max(...pts.slice(0, half).map((p) => p.rss));
  const second = Math.max(...pts.slice(half).map((p) => p.rss));
  // Least-squares slope, MiB per minute.
  const n = pts.length;
  const mt = pts.reduce((a, p) => a + p.t, 0) / n;
  const mr = pts.reduce((a, p) => a + p.rss, 0) / n;
  const num = pts.reduce((a, p) => a + (p.t - mt) * (p.rss - mr), 0);
  const den = pts.reduce((a, p) => a + (p.t - mt) ** 2, 0) || 1;
  const slope = ((num / den) * 60) / MiB;
  const bounded = second <= first * 1.1 + 16 * MiB;
  return {
    bounded,
    slopeMiBPerMin: slope,
    firstHalfPeak: first,
    secondHalfPeak: second,
    text: `${bounded ? 'bounded' : 'GROWING'}: peak ${(first / MiB).toFixed(0)} MiB in the first half after ${warm.toFixed(0)} s warm-up, ${(second / MiB).toFixed(0)} MiB in the second; trend ${slope >= 0 ? '+' : ''}${slope.toFixed(1)} MiB/min`,
  };
}

/** The targets block: a Table whose rendering is a checklist. */
class TargetsTable extends Table {
  constructor() {
    super({ title: 'Targets (issue 4), from this run', metric: 'check', unit: 'PASS/FAIL' });
    this.targets = [];
  }
  check(name, required, measured, pass) {
    this.targets.push({ name, required, measured, result: pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL' });
  }
  render() {
    const header = ['target', 'required', 'measured', 'result'];
    const lines = this.targets.map((t) => [t.name, t.required, t.measured, t.result]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const pad = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
    const out = [`### ${this.title}`, '', pad(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(pad)];
    for (const n of this.notes) out.push('', `_${n}_`);
    return out.join('\n');
  }
  toJSON() {
    return { title: this.title, metric: this.metric, unit: this.unit, targets: this.targets, notes: this.notes };
  }
}

async function run(ctx) {
  const quick = !!ctx.quick;
  const cfg = quick
    ? { warmupMs: 150, samples: 3, sampleMs: 250, sustainedSeconds: 5, h2hRounds: 2, h2hSamples: 3 }
    : { warmupMs: 400, samples: 5, sampleMs: 800, sustainedSeconds: 60, h2hRounds: 4, h2hSamples: 3 };
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-bench-commits-'));
  console.log(
    `  closed loop, ${cfg.samples} windows x ${cfg.sampleMs} ms per cell after >= ${cfg.warmupMs} ms and 2x in-flight commits of warm-up; ` +
      `each system in its own process, fresh dir under ${tmpRoot}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );

  // --- which systems can run -------------------------------------------------------------
  const runnable = (name) => {
    const sys = SYSTEMS[name];
    if (!sys.peer) return true;
    if (sys.load) {
      try {
        sys.load();
        return true;
      } catch (e) {
        if (!ctx.skipped.some((s) => s.peer === name)) ctx.skipped.push({ peer: name, reason: String(e.message.split('\n')[0]) });
        return false;
      }
    }
    const already = ctx.skipped.some((s) => s.peer === sys.peer);
    if (already) return false;
    return loadPeer(sys.peer, ctx.skipped) !== undefined;
  };

  const haveOurs = runnable('parallel-wal');
  let traceOk = false;
  if (haveOurs) {
    traceOk = traceChannelPresent();
    if (!traceOk) ctx.skipped.push({ peer: 'parallel-wal+trace', reason: "the built package does not publish on diagnostics_channel 'parallel-wal:trace' yet" });
    const lib = path.join(ROOT, 'lib');
    const dist = path.join(ROOT, 'dist', 'index.js');
    const newest = Math.max(...fs.readdirSync(lib).map((f) => fs.statSync(path.join(lib, f)).mtimeMs));
    if (fs.existsSync(dist) && newest > fs.statSync(dist).mtimeMs) console.log('  warning: lib/ is newer than dist/ — run `npm run build:ts` to benchmark the current sources');
  }

  const plans = [
    ['floor', PAYLOADS.map((payloadSize) => ({ payloadSize, inflight: 1 }))],
    ['seqbw', [MiB, 8 * MiB].map((payloadSize) => ({ payloadSize, inflight: 1 }))],
    ['js-group-commit', allCells()],
  ];
  if (haveOurs) plans.push(['parallel-wal', allCells()]);
  if (haveOurs && traceOk) plans.push(['parallel-wal+trace', allCells()]);
  plans.push(['naive', allCells()]);
  if (runnable('lmdb')) plans.push(['lmdb', allCells()]);
  if (runnable('better-sqlite3')) {
    plans.push(['better-sqlite3', allCells([1])]);
    plans.push(['better-sqlite3 (JS-batched txn)', allCells([64, 1024])]);
  }
  if (runnable('classic-level')) plans.push(['classic-level', allCells()]);
  if (haveOurs) plans.push(['parallel-wal (sustained)', []]);

  // PWAL_BENCH_SYSTEMS=name,name,... limits the run (development aid; the default runs all).
  if (process.env.PWAL_BENCH_SYSTEMS) {
    const only = new Set(process.env.PWAL_BENCH_SYSTEMS.split(',').map((s) => s.trim()));
    for (let i = plans.length - 1; i >= 0; i--) if (!only.has(plans[i][0])) plans.splice(i, 1);
    console.log(`  PWAL_BENCH_SYSTEMS: running only ${plans.map((p) => p[0]).join(', ')}`);
  }

  // --- run -----------------------------------------------------------------------------------
  const results = new Map(); // system -> { cells: Map(row -> msg), peakRss, baseRss, sustained }
  const headToHead = []; // per round: { system: Map(inflight -> rate stat) }
  const perCellMs = cfg.warmupMs + cfg.samples * cfg.sampleMs + 6000;
  try {
    for (const [name, cells] of plans) {
      const system = name === 'parallel-wal (sustained)' ? 'parallel-wal' : name;
      const sustained = name === 'parallel-wal (sustained)' ? { seconds: cfg.sustainedSeconds, payloadSize: 128, inflight: 1024 } : undefined;
      const plan = { cells, warmupMs: cfg.warmupMs, samples: cfg.samples, sampleMs: cfg.sampleMs, tmpRoot, sustained };
      const timeoutMs = cells.length * perCellMs + (sustained ? sustained.seconds * 1000 + 20000 : 0) + 30000;
      const { msgs, exit } = await runChild(system, plan, timeoutMs);
      const r = { cells: new Map(), errors: [], exit };
      for (const m of msgs) {
        if (m.type === 'cell') r.cells.set(rowLabel(m.payloadSize, m.inflight), m);
        else if (m.type === 'error') r.errors.push(m);
        else if (m.type === 'done') Object.assign(r, { peakRss: m.peakRss, baseRss: m.baseRss });
        else if (m.type === 'sustained') r.sustained = m;
      }
      if (exit || r.errors.length) {
        const reason = exit || r.errors.map((e) => `${e.sustained ? 'sustained' : e.fatal ? 'load' : rowLabel(e.payloadSize, e.inflight)}: ${e.message.split('\n')[0]}`).join('; ');
        ctx.skipped.push({ peer: name, reason: `failed during the run — ${reason}` });
      }
      r.loadAvg = os.loadavg()[0];
      results.set(name, r);
    }
    // Head to head: the two ratio targets measured again in alternating processes (JS group
    // commit, then parallel-wal, then the other way round), so that this VM's fsync drift —
    // 1.5-2x within minutes — lands on both systems alike instead of on whichever ran in a slow
    // minute of the main table. Each round's ratio is ours / theirs from the same few seconds.
    if (plans.some((p) => p[0] === 'js-group-commit') && plans.some((p) => p[0] === OURS)) {
      const cells = HEAD_TO_HEAD.map((inflight) => ({ payloadSize: 128, inflight }));
      const plan = { cells, warmupMs: cfg.warmupMs, samples: cfg.h2hSamples, sampleMs: cfg.sampleMs, tmpRoot };
      const timeoutMs = cells.length * perCellMs + 30000;
      for (let round = 0; round < cfg.h2hRounds; round++) {
        const order = round % 2 === 0 ? ['js-group-commit', OURS] : [OURS, 'js-group-commit'];
        const got = {};
        for (const system of order) {
          const { msgs } = await runChild(system, plan, timeoutMs);
          got[system] = new Map(msgs.filter((m) => m.type === 'cell').map((m) => [m.inflight, stat(m.samples.map((x) => x.rate))]));
        }
        headToHead.push(got);
      }
    }
  } finally {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }

  // --- tables --------------------------------------------------------------------------------
  const get = (system, row) => {
    const r = results.get(system);
    return r && r.cells.get(row);
  };
  const cellStat = (system, row, key) => {
    const m = get(system, row);
    return m ? stat(m.samples.map((s) => s[key])) : undefined;
  };
  const peers = ['naive', 'js-group-commit', 'lmdb', 'better-sqlite3', 'better-sqlite3 (JS-batched txn)', 'classic-level', OURS];
  const present = peers.filter((s) => results.has(s));

  const tput = new Table({ title: 'Durable commits', metric: 'throughput', unit: 'commits/s', higherIsBetter: true });
  const p50 = new Table({ title: 'Durable commit latency p50', metric: 'p50 latency', unit: 'ms', higherIsBetter: false });
  const p99 = new Table({ title: 'Durable commit latency p99', metric: 'p99 latency', unit: 'ms', higherIsBetter: false });
  for (const size of PAYLOADS) {
    for (const n of INFLIGHT) {
      const row = rowLabel(size, n);
      for (const system of present) {
        const t = cellStat(system, row, 'rate');
        // Every present system gets a column entry so the table shape is stable; a missing
        // cell (not applicable, or failed) renders as '-'.
        tput.add(row, system, t);
        p50.add(row, system, cellStat(system, row, 'p50'));
        p99.add(row, system, cellStat(system, row, 'p99'));
      }
    }
  }
  for (const t of [tput, p50, p99]) {
    // Table.add with an undefined stat would break ratio(); drop those entries again.
    for (const cells of t.rows.values()) for (const [k, v] of cells) if (!v) cells.delete(k);
  }
  tput.note('Closed loop: N async clients, each awaits its durable commit then issues the next; "@N" = N commits in flight. Median (min-max) over the measurement windows.');
  tput.note('better-sqlite3 (journal_mode=WAL, synchronous=FULL) has a synchronous API: one autocommit INSERT per commit, inherently @1. Its @64/@1024 cells are "-"; the separate "JS-batched txn" column is the same DB with a hand-written batcher (queued INSERTs committed in one transaction per event-loop turn), measured with the same closed loop.');
  tput.note("lmdb: `await db.put(key, value)` with lmdb-js defaults (values stored as binary; overlappingSync, the Linux default, resolves a put when its transaction is committed — strace at @1 shows its fdatasync before each resolution). naive: fs.promises write + datasync per commit through one FileHandle. js-group-commit: one writev + fdatasync per batch, next batch as soon as the previous fdatasync returns. classic-level: put with { sync: true }.");
  if (!haveOurs) tput.note('parallel-wal was not measured: see "Peers skipped" below.');
  tput.note(`1-min load average after each system (${os.availableParallelism ? os.availableParallelism() : os.cpus().length} cores; fdatasync latency degrades sharply when the CPUs are saturated): ${[...results].map(([k, r]) => `${k} ${r.loadAvg.toFixed(1)}`).join(', ')}.`);
  ctx.tables.push(tput, p50, p99);

  if (headToHead.length) {
    const h2h = new Table({ title: 'Head to head with the JS group commit, interleaved rounds (128 B)', metric: 'throughput', unit: 'commits/s', higherIsBetter: true });
    headToHead.forEach((round, k) => {
      for (const n of HEAD_TO_HEAD) {
        for (const system of ['js-group-commit', OURS]) {
          const st = round[system] && round[system].get(n);
          if (st) h2h.add(`@${n}, round ${k + 1}`, system, st);
        }
      }
    });
    h2h.note(
      `The two systems alternate, one process each per round (${cfg.h2hSamples} windows x ${cfg.sampleMs} ms per cell), the order reversed every round, ` +
        'so that drift in the device\'s fsync time lands on both alike; "vs best peer" is that round\'s ratio. The targets below use the median of these ratios next to the main table\'s.',
    );
    ctx.tables.push(h2h);
  }

  // Floor.
  const floor = new Table({ title: 'Floor: append + fdatasync, one fd, synchronous syscalls, one at a time', metric: 'latency', unit: 'ms', higherIsBetter: false });
  for (const size of PAYLOADS) {
    const row = sizeLabel(size);
    const m = get('floor', rowLabel(size, 1));
    if (!m) continue;
    floor.add(row, 'ms per op (mean)', stat(m.samples.map((s) => (s.rate ? 1000 / s.rate : NaN))));
    floor.add(row, 'p50', stat(m.samples.map((s) => s.p50)));
    floor.add(row, 'p99', stat(m.samples.map((s) => s.p99)));
  }
  ctx.tables.push(floor);

  // Bandwidth.
  const bw = new Table({ title: 'Write + fdatasync bandwidth', metric: 'bandwidth', unit: 'MB/s (10^6 bytes of payload)', higherIsBetter: true });
  for (const size of [MiB, 8 * MiB]) {
    const m = get('seqbw', rowLabel(size, 1));
    if (m) bw.add(`sequential ${sizeLabel(size)} appends`, 'fs (sync, one fd)', stat(m.samples.map((s) => (s.rate * size) / 1e6)));
  }
  const bwRow = '4 KiB @1024 commits';
  for (const system of present) {
    const m = get(system, rowLabel(4 * KiB, 1024));
    if (m) bw.add(bwRow, system, stat(m.samples.map((s) => (s.rate * 4 * KiB) / 1e6)));
  }
  bw.note('Payload bytes only (framing, checksums and metadata written by each system are not counted).');
  ctx.tables.push(bw);

  // diagnostics_channel cost.
  if (results.has('parallel-wal+trace')) {
    const tr = new Table({ title: "parallel-wal with and without a 'parallel-wal:trace' subscriber", metric: 'throughput', unit: 'commits/s', higherIsBetter: true });
    let msgs = 0;
    for (const size of PAYLOADS) {
      for (const n of INFLIGHT) {
        const row = rowLabel(size, n);
        const a = cellStat(OURS, row, 'rate');
        const b = cellStat('parallel-wal+trace', row, 'rate');
        if (a) tr.add(row, OURS, a);
        if (b) tr.add(row, 'parallel-wal+trace', b);
        const m = get('parallel-wal+trace', row);
        if (m && m.stats) msgs += m.stats.traceMessages;
      }
    }
    tr.note(`"vs best peer" here = without subscriber / with subscriber. The subscriber received ${msgs} trace messages in total${msgs === 0 ? ' — the channel stayed silent, so this measures nothing yet' : ''}.`);
    ctx.tables.push(tr);
  }

  // Peak RSS.
  const rss = new Table({ title: 'Memory', metric: 'RSS', unit: 'MiB', higherIsBetter: false });
  for (const system of [...present, ...(results.has('parallel-wal+trace') ? ['parallel-wal+trace'] : [])]) {
    const r = results.get(system);
    if (!r || !r.peakRss) continue;
    rss.add('peak RSS over all cells', system, { median: r.peakRss / MiB, min: r.peakRss / MiB, max: r.peakRss / MiB });
    rss.add('RSS after loading', system, { median: r.baseRss / MiB, min: r.baseRss / MiB, max: r.baseRss / MiB });
  }
  rss.note('Each system runs in its own Node process (process.memoryUsage.rss(), sampled every ~100 ms). lmdb\'s figure includes the pages of its memory-mapped file that were touched.');
  ctx.tables.push(rss);

  // Sustained.
  const sus = results.get('parallel-wal (sustained)') && results.get('parallel-wal (sustained)').sustained;
  let verdict;
  if (sus) {
    verdict = rssVerdict(sus.rssSeries, sus.seconds);
    const st = new Table({ title: `Sustained load: parallel-wal, ${sus.seconds} s at @${sus.inflight}, ${sizeLabel(sus.payloadSize)}`, metric: 'per-second windows', unit: 'see row', higherIsBetter: true });
    st.add('commits/s', OURS, stat(sus.samples.map((s) => s.rate)));
    st.add('p99 latency (ms)', OURS, stat(sus.samples.map((s) => s.p99)));
    st.add('RSS (MiB)', OURS, stat(sus.rssSeries.map((p) => p.rss / MiB)));
    st.note(`Whole run: p50 ${fmt(sus.p50, 3)} ms, p99 ${fmt(sus.p99, 3)} ms, p99.9 ${fmt(sus.p999, 3)} ms, max ${fmt(sus.max, 3)} ms.`);
    st.note(
      sus.checkpoints === null || sus.checkpoints === undefined
        ? `Disk: ${(sus.diskBytes / 1e9).toFixed(2)} GB at the end (no checkpoints).`
        : `Disk, with a checkpoint of everything durable once a second (${sus.checkpoints} checkpoints): peak ${(sus.peakDiskBytes / 1e6).toFixed(0)} MB, ${(sus.diskBytes / 1e6).toFixed(0)} MB at the end.`,
    );
    st.note(`RSS ${verdict.text}. Series (s:MiB): ${sus.rssSeries.map((p) => `${p.t.toFixed(0)}:${(p.rss / MiB).toFixed(0)}`).join(' ')}`);
    ctx.tables.push(st);
  }

  // --- targets -------------------------------------------------------------------------------
  const tg = new TargetsTable();
  const med = (system, row, key) => {
    const s = cellStat(system, row, key);
    return s ? s.median : undefined;
  };
  const ok = (x) => x !== undefined && Number.isFinite(x);
  for (const size of PAYLOADS) {
    const f = floor.rows.get(sizeLabel(size));
    const floorMs = f && f.get('ms per op (mean)') && f.get('ms per op (mean)').median;
    const ours = med(OURS, rowLabel(size, 1), 'p50');
    tg.check(
      `${sizeLabel(size)} @1 p50 <= 1.3x floor`,
      ok(floorMs) ? `<= ${(1.3 * floorMs).toFixed(3)} ms (floor ${floorMs.toFixed(3)} ms/op)` : 'floor not measured',
      ok(ours) ? `${ours.toFixed(3)} ms (${ok(floorMs) ? (ours / floorMs).toFixed(2) + 'x floor' : '?'})` : '-',
      ok(ours) && ok(floorMs) ? ours <= 1.3 * floorMs : undefined,
    );
  }
  for (const [n, factor] of [
    [64, 2],
    [1024, 1.5],
  ]) {
    const row = rowLabel(128, n);
    const js = med('js-group-commit', row, 'rate');
    const ours = med(OURS, row, 'rate');
    tg.check(
      `128 B @${n} >= ${factor}x JS group commit (main table)`,
      ok(js) ? `>= ${human(factor * js)}/s (JS ${human(js)}/s)` : 'JS group commit not measured',
      ok(ours) ? `${human(ours)}/s (${ok(js) ? (ours / js).toFixed(2) + 'x' : '?'})` : '-',
      ok(ours) && ok(js) ? ours >= factor * js : undefined,
    );
    const ratios = headToHead
      .map((r) => r[OURS] && r['js-group-commit'] && r[OURS].get(n) && r['js-group-commit'].get(n) && r[OURS].get(n).median / r['js-group-commit'].get(n).median)
      .filter(ok);
    if (ratios.length) {
      const m = median(ratios);
      tg.check(
        `128 B @${n} >= ${factor}x JS group commit (interleaved rounds)`,
        `median of per-round ratios >= ${factor}x`,
        `${m.toFixed(2)}x (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
        m >= factor,
      );
    }
  }
  {
    const ours = med(OURS, rowLabel(128, 1024), 'p99');
    tg.check('128 B @1024 p99 <= 2 ms', '<= 2.000 ms', ok(ours) ? `${ours.toFixed(3)} ms` : '-', ok(ours) ? ours <= 2 : undefined);
  }
  {
    const seqRow = bw.rows.get(`sequential ${sizeLabel(MiB)} appends`);
    const seq = seqRow && seqRow.get('fs (sync, one fd)') && seqRow.get('fs (sync, one fd)').median;
    const r8 = bw.rows.get(`sequential ${sizeLabel(8 * MiB)} appends`);
    const seq8 = r8 && r8.get('fs (sync, one fd)') && r8.get('fs (sync, one fd)').median;
    const oursRate = med(OURS, rowLabel(4 * KiB, 1024), 'rate');
    const ours = ok(oursRate) ? (oursRate * 4 * KiB) / 1e6 : undefined;
    tg.check(
      '4 KiB @1024 >= 80% of sequential write+fdatasync bandwidth (1 MiB appends)',
      ok(seq) ? `>= ${(0.8 * seq).toFixed(1)} MB/s (sequential ${seq.toFixed(1)} MB/s)` : 'bandwidth not measured',
      ok(ours) ? `${ours.toFixed(1)} MB/s (${ok(seq) ? ((100 * ours) / seq).toFixed(0) + '%' : '?'}${ok(seq8) ? `; ${((100 * ours) / seq8).toFixed(0)}% of 8 MiB appends` : ''})` : '-',
      ok(ours) && ok(seq) ? ours >= 0.8 * seq : undefined,
    );
  }
  tg.check(
    `peak RSS bounded under sustained load (${cfg.sustainedSeconds} s @1024, 128 B)`,
    'no growth after warm-up (2nd-half peak <= 1.1x 1st-half peak + 16 MiB)',
    verdict ? `${verdict.bounded ? 'bounded' : 'growing'}, peak ${(Math.max(...sus.rssSeries.map((p) => p.rss)) / MiB).toFixed(0)} MiB, trend ${verdict.slopeMiBPerMin.toFixed(1)} MiB/min` : '-',
    verdict ? verdict.bounded : undefined,
  );
  if (!haveOurs) tg.note('parallel-wal was not measured in this run, so every target is n/a.');
  tg.note(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.availableParallelism ? os.availableParallelism() : os.cpus().length} cores) — a shared machine makes fsync latencies noisy; compare within one run.`);
  ctx.tables.push(tg);
}

module.exports = { run };
