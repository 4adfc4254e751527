#!/usr/bin/env node
'use strict';
// The benchmark harness: `npm run bench [-- [--quick] [suite ...]]`.
// Each suite is bench/suites/<name>.js exporting `async run(ctx)`; it adds Tables to ctx.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execSync } = require('node:child_process');

const SUITES = ['crc32c', 'segments', 'commits'];

function machine() {
  let fsType = 'unknown';
  try {
    fsType = execSync(`stat -f -c %T ${JSON.stringify(os.tmpdir())}`, { encoding: 'utf8' }).trim();
  } catch {}
  return {
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tmpdir: os.tmpdir(),
    filesystem: fsType,
  };
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const picked = args.filter((a) => !a.startsWith('--'));
  const unknown = picked.filter((s) => !SUITES.includes(s));
  if (unknown.length) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${SUITES.join(', ')}`);
    process.exit(2);
  }
  const suites = (picked.length ? picked : SUITES).filter((s) => fs.existsSync(path.join(__dirname, 'suites', `${s}.js`)));
  const info = machine();
  console.log(`parallel-wal benchmark — ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform}, tmp on ${info.filesystem}${quick ? ' (quick)' : ''}`);
  const ctx = { quick, tables: [], skipped: [], info };
  for (const name of suites) {
    console.log(`\n## suite: ${name}`);
    const suite = require(`./suites/${name}.js`);
    const before = ctx.tables.length;
    await suite.run(ctx);
    for (const t of ctx.tables.slice(before)) console.log('\n' + t.render());
  }
  if (ctx.skipped.length) {
    console.log('\nPeers skipped:');
    for (const s of ctx.skipped) console.log(`  - ${s.peer}: ${s.reason}`);
  }
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(outDir, `${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine: info, quick, tables: ctx.tables.map((t) => t.toJSON()), skipped: ctx.skipped }, null, 2));
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
