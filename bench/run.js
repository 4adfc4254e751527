#!/usr/bin/env node
'use strict';
// The benchmark harness: `npm run bench [-- [--quick] [suite ...]]` (or `pwal bench`).
// Each suite is bench/suites/<name>.js exporting `async run(ctx)`; it adds Tables to ctx.tables.
// Writes bench/results/<timestamp>.json and bench/results/<timestamp>.svg (the chart).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { RunProgress, DEFAULT_SECONDS } = require('./progress');

// Run order of the known suites; any other bench/suites/*.js runs after them, by name.
const PREFERRED = ['crc32c', 'segments', 'commits'];
const SUITES_DIR = path.join(__dirname, 'suites');
const RESULTS_DIR = path.join(__dirname, 'results');

function availableSuites() {
  const found = fs.existsSync(SUITES_DIR) ? fs.readdirSync(SUITES_DIR).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)) : [];
  return [...PREFERRED.filter((s) => found.includes(s)), ...found.filter((s) => !PREFERRED.includes(s)).sort()];
}

const USAGE = `usage: npm run bench [-- [--quick] [--no-chart] [suite ...]]
       node --expose-gc bench/run.js [--quick] [--no-chart] [--list] [suite ...]

Runs the named suites (default: all) in one process, prints tables of medians (min-max) with the
ratio to the best peer, and writes bench/results/<timestamp>.json and .svg.
  --quick     short run (about two minutes for all suites)
  --list      list the suites and exit
  --no-chart  skip the SVG chart
Exit codes: 0 done, 1 a suite failed, 2 usage error.`;

function machine() {
  let fsType = 'unknown';
  try {
    fsType = execSync(`stat -f -c %T ${JSON.stringify(os.tmpdir())}`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {}
  return {
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    tmpdir: os.tmpdir(),
    filesystem: fsType,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

/** Expected seconds per suite: from the newest earlier results of the same mode, else defaults. */
function expectedSeconds(quick) {
  const est = { ...DEFAULT_SECONDS[quick ? 'quick' : 'full'] };
  try {
    const files = fs.readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort().reverse();
    const seen = new Set();
    for (const f of files.slice(0, 20)) {
      const r = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, f), 'utf8'));
      if (Boolean(r.quick) !== quick || !r.durations) continue;
      for (const [s, sec] of Object.entries(r.durations)) {
        if (!seen.has(s) && Number.isFinite(sec)) {
          est[s] = sec;
          seen.add(s);
        }
      }
    }
  } catch {}
  return est;
}

function parseArgs(argv) {
  const opts = { quick: false, list: false, chart: true, help: false, suites: [] };
  for (const a of argv) {
    if (a === '--quick') opts.quick = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--no-chart') opts.chart = false;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('-')) throw Object.assign(new Error(`unknown option: ${a}`), { usage: true });
    else opts.suites.push(a);
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  const known = availableSuites();
  if (opts.help) {
    console.log(`${USAGE}\n\nsuites: ${known.join(', ')}`);
    return 0;
  }
  if (opts.list) {
    for (const s of known) console.log(s);
    return 0;
  }
  const unknown = opts.suites.filter((s) => !known.includes(s));
  if (unknown.length) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
    return 2;
  }
  const suites = opts.suites.length ? known.filter((s) => opts.suites.includes(s)) : known;
  const info = machine();
  const quick = opts.quick;
  console.log(
    `parallel-wal benchmark — ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform} ` +
      `(kernel ${info.kernel}), tmp on ${info.filesystem}, load average ${info.loadAverageAtStart.join(' ')}${quick ? ' (quick)' : ''}`,
  );
  console.log(`suites: ${suites.join(', ')}`);

  const startedAt = new Date();
  const progress = new RunProgress(suites, expectedSeconds(quick));
  const ctx = { quick, tables: [], skipped: [], info, progress: (f) => progress.suiteFraction(f) };
  const durations = {};
  const failures = [];
  progress.start();
  try {
    for (const name of suites) {
      console.log(`\n## suite: ${name}`);
      progress.suiteStarted(name);
      const before = ctx.tables.length;
      // Tell the progress display about each table as the suite adds it.
      const tables = ctx.tables;
      const push = Array.prototype.push;
      tables.push = function (...items) {
        for (const t of items) progress.tableAdded(name, t && t.title ? t.title : 'table');
        return push.apply(this, items);
      };
      const t0 = performance.now();
      try {
        const suite = require(path.join(SUITES_DIR, `${name}.js`));
        await suite.run(ctx);
      } catch (e) {
        failures.push({ suite: name, error: String((e && e.stack) || e) });
        console.log(`suite ${name} FAILED: ${(e && e.message) || e}`);
      } finally {
        delete tables.push;
      }
      durations[name] = Number(((performance.now() - t0) / 1000).toFixed(1));
      progress.suiteDone(name, durations[name]);
      for (const t of ctx.tables.slice(before)) console.log('\n' + t.render());
    }
  } finally {
    progress.stop();
  }

  if (ctx.skipped.length) {
    console.log('\nPeers skipped:');
    for (const s of ctx.skipped) console.log(`  - ${s.peer}: ${s.reason}`);
  }
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `${stamp}.json`);
  const svgFile = path.join(RESULTS_DIR, `${stamp}.svg`);
  const tablesJson = ctx.tables.map((t) => (typeof t.toJSON === 'function' ? t.toJSON() : t));
  let chart = null;
  if (opts.chart) {
    try {
      const { renderChartSvg } = require('./chart');
      const svg = await renderChartSvg(tablesJson, {
        title: `parallel-wal benchmark${quick ? ' (quick)' : ''} — ${startedAt.toISOString()}`,
        subtitle: `${info.cpu}, ${info.cores} cores, Node ${info.node}, ${info.platform}, tmp on ${info.filesystem}, load ${info.loadAverageAtStart.join(' ')}`,
      });
      if (svg) {
        fs.writeFileSync(svgFile, svg);
        chart = path.basename(svgFile);
      } else {
        console.log('\nchart: no table with per-system rows to draw');
      }
    } catch (e) {
      console.log(`\nchart: not drawn — ${(e && e.message) || e}`);
    }
  }
  const totalSeconds = Number(((Date.now() - startedAt.getTime()) / 1000).toFixed(1));
  const out = { machine: info, quick, startedAt: startedAt.toISOString(), totalSeconds, suites, durations, tables: tablesJson, skipped: ctx.skipped, failures, chart };
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  if (chart) console.log(`chart:   ${path.relative(process.cwd(), svgFile)}`);
  console.log(`total: ${totalSeconds} s (${Object.entries(durations).map(([s, d]) => `${s} ${d} s`).join(', ')})`);
  if (failures.length) {
    console.error(`\n${failures.length} suite(s) failed: ${failures.map((f) => f.suite).join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
