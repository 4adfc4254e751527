// Loading the addon must work in worker_threads and leave nothing that keeps a process alive.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

const root = path.join(__dirname, '..');
const distIndex = path.join(root, 'dist', 'index.js');

test('a process that only loads the addon and computes a CRC exits by itself', () => {
  const child = spawnSync(
    process.execPath,
    ['-e', `const w = require(${JSON.stringify(distIndex)}); console.log(w.crc32c('123456789'))`],
    { encoding: 'utf8', timeout: 20000 },
  );
  expect(child.error).toBeUndefined();
  expect(child.signal).toBeNull();
  expect(child.status).toBe(0);
  expect(child.stdout.trim()).toBe(String(0xe3069283));
});

test('the addon loads and works in worker_threads, repeatedly, including after workers exit', async () => {
  const run = () =>
    new Promise<number>((resolve, reject) => {
      const worker = new Worker(
        `const { parentPort } = require('node:worker_threads');
         const w = require(${JSON.stringify(distIndex)});
         parentPort.postMessage(w.crc32c(Buffer.from('123456789')));`,
        { eval: true },
      );
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all([run(), run(), run()]);
    expect(results).toEqual([0xe3069283, 0xe3069283, 0xe3069283]);
  }
});

test('ESM import works', () => {
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { crc32c } from ${JSON.stringify(path.join(root, 'dist', 'index.mjs'))}; console.log(crc32c('123456789'))`],
    { encoding: 'utf8', timeout: 20000 },
  );
  expect(child.status).toBe(0);
  expect(child.stdout.trim()).toBe(String(0xe3069283));
});
