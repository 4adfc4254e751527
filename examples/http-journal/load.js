#!/usr/bin/env node
'use strict';
// Load test of the HTTP journal: starts the server in each mode on 127.0.0.1 (a fresh temp dir
// each), drives it with autocannon for N seconds, and prints requests/s and latency.
//
//   node examples/http-journal/load.js [--seconds 10] [--connections 64] [--body 128] [--modes wal,fsync]
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const autocannon = require('autocannon');

function parseArgs(argv) {
  const o = { seconds: 10, connections: 64, body: 128, modes: ['wal', 'fsync'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--connections') o.connections = Number(v);
    else if (a === '--body') o.body = Number(v);
    else if (a === '--modes') o.modes = v.split(',');
    else throw new Error(`unknown argument: ${a}`);
  }
  for (const k of ['seconds', 'connections', 'body']) {
    if (!Number.isInteger(o[k]) || o[k] <= 0) throw new Error(`--${k} must be a positive integer`);
  }
  return o;
}

/** Starts server.js; resolves with { port, child } once it printed its listening line. */
function startServer(mode, db) {
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--mode', mode, '--db', db, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      try {
        resolve({ port: JSON.parse(line).listening.port, child });
      } catch (e) {
        reject(new Error(`unexpected server output: ${line}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`server (${mode}) exited with ${code} before listening`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function measure(mode, o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pwal-journal-${mode}-`));
  const { port, child } = await startServer(mode, path.join(dir, 'journal.db'));
  try {
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/`,
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(o.body, 0x61),
      connections: o.connections,
      duration: o.seconds,
    });
    return result;
  } finally {
    await stopServer(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  console.log(
    `http-journal load: ${o.seconds} s per mode, ${o.connections} connections, ${o.body} B bodies, 127.0.0.1; ` +
      `${cpu}, ${os.availableParallelism()} cores, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const rows = [];
  for (const mode of o.modes) {
    const r = await measure(mode, o);
    const errors = r.errors + r.timeouts + (r.non2xx || 0);
    rows.push({
      mode,
      'req/s (avg)': r.requests.average.toFixed(0),
      'latency p50 ms': r.latency.p50.toFixed(2),
      'latency p99 ms': r.latency.p99.toFixed(2),
      'latency max ms': r.latency.max.toFixed(2),
      requests: r.requests.total,
      errors,
    });
  }
  const keys = Object.keys(rows[0]);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(keys));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(keys.map((k) => r[k])));
  if (rows.some((r) => r.errors > 0)) {
    console.error('some requests failed (errors column)');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
