'use strict';
// Progress of a benchmark run, on stderr: a cli-progress bar when stderr is a terminal (suite
// output printed above it), plain time-stamped lines otherwise (CI logs, pipes).
//
// Suites know nothing about it: progress is estimated from each suite's expected duration
// (taken from the newest earlier results file of the same mode, else a default) and advanced
// when a suite adds a table; a suite may also call `ctx.progress(fraction)` (0..1) itself.

const DEFAULT_SECONDS = {
  quick: { crc32c: 15, segments: 30, commits: 75 },
  full: { crc32c: 60, segments: 120, commits: 420 },
};

function clock(ms) {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

class RunProgress {
  /**
   * @param {string[]} suites names in run order
   * @param {Record<string, number>} expectedSeconds per suite
   * @param {{ tty?: boolean, stream?: NodeJS.WriteStream }} opts
   */
  constructor(suites, expectedSeconds, opts = {}) {
    this.suites = suites;
    this.expected = suites.map((s) => Math.max(1, expectedSeconds[s] || 60));
    this.total = this.expected.reduce((a, b) => a + b, 0);
    this.stream = opts.stream || process.stderr;
    this.tty = opts.tty !== undefined ? opts.tty : Boolean(this.stream.isTTY);
    this.t0 = Date.now();
    this.index = -1;
    this.suiteStart = 0;
    this.fraction = 0;
    this.bar = undefined;
    this.timer = undefined;
    this.restoreConsole = undefined;
  }

  start() {
    if (!this.tty) return;
    const cliProgress = require('cli-progress');
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: 'bench [{bar}] {percentage}% | {suite} | {elapsed} elapsed, ~{left} left',
        hideCursor: true,
        clearOnComplete: true,
        linewrap: false,
        fps: 4,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(1000, 0, { suite: 'starting', elapsed: '0:00', left: clock(this.total * 1000) });
    // Suite output keeps going to stdout; when stdout shares the terminal with the bar, the bar
    // line is cleared first and redrawn below the text.
    const util = require('node:util');
    const original = { log: console.log, warn: console.warn, error: console.error };
    const to = (stream) => (...args) => this.write(stream, util.format(...args) + '\n');
    console.log = to(process.stdout);
    console.warn = to(process.stderr);
    console.error = to(process.stderr);
    this.restoreConsole = () => Object.assign(console, original);
    this.timer = setInterval(() => this.redraw(), 500);
    this.timer.unref();
  }

  /** Writes text to `stream` above the bar. */
  write(stream, text) {
    const shared = this.bar && (stream === this.stream || stream.isTTY);
    if (shared) this.stream.write('\r\x1b[2K');
    stream.write(text);
    if (shared) this.bar.render();
  }

  /** Expected seconds done so far (completed suites + the running one's share). */
  doneSeconds() {
    let done = 0;
    for (let i = 0; i < this.index; i++) done += this.expected[i];
    if (this.index >= 0 && this.index < this.suites.length) {
      const exp = this.expected[this.index];
      const byTime = (Date.now() - this.suiteStart) / 1000;
      // Never claim a running suite is finished: cap its share at 95 %.
      done += Math.min(exp * 0.95, Math.max(byTime, this.fraction * exp));
    }
    return done;
  }

  redraw() {
    if (!this.bar) return;
    const done = this.doneSeconds();
    const name = this.index >= 0 && this.index < this.suites.length ? `${this.suites[this.index]} (${this.index + 1}/${this.suites.length})` : 'done';
    this.bar.update(Math.round((1000 * done) / this.total), {
      suite: name,
      elapsed: clock(Date.now() - this.t0),
      left: clock(Math.max(0, this.total - done) * 1000),
    });
  }

  line(text) {
    this.write(this.stream, `[bench ${clock(Date.now() - this.t0)}] ${text}\n`);
  }

  suiteStarted(name) {
    this.index = this.suites.indexOf(name);
    this.suiteStart = Date.now();
    this.fraction = 0;
    if (!this.tty) this.line(`suite ${name} (${this.index + 1}/${this.suites.length}) started, expected ~${Math.round(this.expected[this.index])} s`);
    this.redraw();
  }

  /** A suite reports its own progress (0..1). */
  suiteFraction(f) {
    if (Number.isFinite(f)) this.fraction = Math.max(this.fraction, Math.min(1, f));
    this.redraw();
  }

  tableAdded(name, title) {
    if (!this.tty) this.line(`${name}: table ready: ${title}`);
  }

  suiteDone(name, seconds) {
    this.line(`suite ${name} done in ${seconds.toFixed(1)} s`);
    this.index = this.suites.indexOf(name) + 1;
    this.fraction = 0;
    this.suiteStart = Date.now();
    this.redraw();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.bar) {
      this.bar.update(1000);
      this.bar.stop();
    }
    if (this.restoreConsole) this.restoreConsole();
    this.bar = undefined;
  }
}

module.exports = { RunProgress, DEFAULT_SECONDS, clock };
