'use strict';
// Measurement helpers shared by every suite: repeated samples, medians with min-max, tables,
// ratios against the best peer in the same run.
const { performance } = require('node:perf_hooks');

/** Median of a numeric array (does not mutate). */
function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `fn(iterations)` repeatedly: calibrates the iteration count so one sample takes about
 * `sampleMs`, then takes `samples` samples. Returns per-iteration nanoseconds {median,min,max}.
 */
function timeSync(fn, { samples = 7, sampleMs = 50 } = {}) {
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    fn(iterations);
    const dt = performance.now() - t0;
    if (dt >= sampleMs / 4 || iterations >= 1 << 30) {
      iterations = Math.max(1, Math.round((iterations * sampleMs) / Math.max(dt, 0.001)));
      break;
    }
    iterations *= 4;
  }
  const ns = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    fn(iterations);
    ns.push(((performance.now() - t0) * 1e6) / iterations);
  }
  return { median: median(ns), min: Math.min(...ns), max: Math.max(...ns), samples: ns };
}

/** Async twin of timeSync: `fn()` is one operation; returns per-operation ns stats. */
async function timeAsync(fn, { samples = 5, sampleMs = 200 } = {}) {
  const ns = [];
  for (let s = 0; s < samples; s++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      await fn();
      n++;
      dt = performance.now() - t0;
    } while (dt < sampleMs);
    ns.push((dt * 1e6) / n);
  }
  return { median: median(ns), min: Math.min(...ns), max: Math.max(...ns), samples: ns };
}

function fmt(x, digits = 2) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(1);
  return x.toFixed(digits);
}

/**
 * A results table. Rows are keyed by `row` (e.g. a size), columns by `system`; each cell holds
 * {median,min,max} of a metric. `higherIsBetter` decides what "best peer" means for ratios.
 */
class Table {
  constructor({ title, metric, unit, higherIsBetter = true, ours = 'parallel-wal' }) {
    Object.assign(this, { title, metric, unit, higherIsBetter, ours });
    this.rows = new Map();
    this.systems = [];
    this.notes = [];
  }
  add(row, system, stat) {
    if (!this.rows.has(row)) this.rows.set(row, new Map());
    this.rows.get(row).set(system, stat);
    if (!this.systems.includes(system)) this.systems.push(system);
  }
  note(text) {
    this.notes.push(text);
  }
  /** Ratio of ours to the best peer in a row (>1 means ours is better), or undefined. */
  ratio(row) {
    const cells = this.rows.get(row);
    const mine = cells && cells.get(this.ours);
    if (!mine) return undefined;
    let best;
    for (const [system, stat] of cells) {
      if (system === this.ours || !stat) continue;
      if (best === undefined || (this.higherIsBetter ? stat.median > best : stat.median < best)) best = stat.median;
    }
    if (best === undefined) return undefined;
    return this.higherIsBetter ? mine.median / best : best / mine.median;
  }
  render() {
    const header = ['', ...this.systems.map((s) => s), `vs best peer`];
    const lines = [];
    for (const [row, cells] of this.rows) {
      const line = [String(row)];
      for (const system of this.systems) {
        const st = cells.get(system);
        line.push(st ? `${fmt(st.median)} (${fmt(st.min)}-${fmt(st.max)})` : '-');
      }
      const r = this.ratio(row);
      line.push(r === undefined ? '-' : `${r.toFixed(2)}x`);
      lines.push(line);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const pad = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
    const out = [`### ${this.title} — ${this.metric} (${this.unit}, median (min-max), ${this.higherIsBetter ? 'higher' : 'lower'} is better)`, '', pad(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(pad)];
    for (const n of this.notes) out.push('', `_${n}_`);
    return out.join('\n');
  }
  toJSON() {
    const rows = {};
    for (const [row, cells] of this.rows) rows[row] = Object.fromEntries(cells);
    return { title: this.title, metric: this.metric, unit: this.unit, higherIsBetter: this.higherIsBetter, rows, notes: this.notes };
  }
}

/** Loads an optional peer module; returns undefined and records why when it fails. */
function loadPeer(name, skipped) {
  try {
    return require(name);
  } catch (e) {
    skipped.push({ peer: name, reason: String(e && e.message ? e.message.split('\n')[0] : e) });
    return undefined;
  }
}

module.exports = { median, timeSync, timeAsync, Table, loadPeer, fmt };
