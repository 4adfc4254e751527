// The promise to users: `npm install parallel-wal` needs no compiler. This test builds the
// prebuild the way a release does (prebuildify + npm pack) in an isolated copy of the package,
// installs the tarball into an empty project with no compiler on PATH, and loads it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
jest.setTimeout(10 * 60 * 1000);

let work: string;
let pkg: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pwal-e2e-'));
  // An isolated copy of the tracked sources, so these tests never touch ./build or ./prebuilds.
  pkg = path.join(work, 'pkg');
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !f.startsWith('test/') && !f.startsWith('bench/'));
  for (const f of files) {
    if (!fs.existsSync(path.join(root, f))) continue;
    fs.mkdirSync(path.dirname(path.join(pkg, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(pkg, f));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** A bin dir holding only sh, node and npm: no cc, gcc, g++, make, python. */
function compilerFreeBin(): string {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
  return bin;
}

test('npm pack of a prebuildified package installs and loads with no compiler reachable', () => {
  // 1. Release steps: prebuildify, then pack (which runs `prepare`, building dist/).
  execFileSync('npm', ['run', 'prebuildify'], { cwd: pkg, stdio: 'pipe' });
  const prebuilt = path.join(pkg, 'prebuilds', 'linux-x64', 'parallel-wal.glibc.node');
  if (process.platform === 'linux' && process.arch === 'x64') expect(fs.existsSync(prebuilt)).toBe(true);
  const packed = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkg, encoding: 'utf8' });
  const [{ filename, files: packedFiles }] = JSON.parse(packed.slice(packed.indexOf('[')));
  const names: string[] = packedFiles.map((f: { path: string }) => f.path);
  expect(names.some((n) => n.startsWith('prebuilds/'))).toBe(true);
  expect(names).toContain('dist/index.js');
  expect(names).toContain('dist/index.d.ts');
  expect(names).toContain('dist/index.mjs');

  // 2. Install into an empty project, PATH without any compiler, build-from-source unset; the
  //    package's own install script (node-gyp-build, allowed via allowScripts) runs and must
  //    find the prebuild instead of compiling.
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { 'parallel-wal': true } }));
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: compilerFreeBin(), npm_config_cache: path.join(work, 'npm-cache') };
  for (const k of ['npm_config_cafile', 'NODE_EXTRA_CA_CERTS', 'npm_config_registry']) if (process.env[k]) env[k] = process.env[k];
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', path.join(work, filename)], {
    cwd: app, env, encoding: 'utf8', timeout: 5 * 60 * 1000,
  });
  if (install.status !== 0) throw new Error(`npm install failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
  expect(fs.existsSync(path.join(app, 'node_modules', 'parallel-wal', 'build'))).toBe(false);
  for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
    expect(spawnSync('sh', ['-c', `command -v ${tool}`], { env }).status).not.toBe(0);
  }

  // 3. A fresh node loads it from prebuilds/ (CommonJS and ESM).
  const cjs = spawnSync(process.execPath, ['-e', "const w = require('parallel-wal'); console.log(JSON.stringify({ crc: w.crc32c(Buffer.from('123456789')), from: w.nativeAddonPath }))"], { cwd: app, env, encoding: 'utf8' });
  expect(cjs.status).toBe(0);
  const out = JSON.parse(cjs.stdout);
  expect(out.crc).toBe(0xe3069283);
  expect(out.from).toContain(`${path.sep}prebuilds${path.sep}`);
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import { crc32c } from 'parallel-wal'; console.log(crc32c('123456789'))"], { cwd: app, env, encoding: 'utf8' });
  expect(esm.status).toBe(0);
  expect(esm.stdout.trim()).toBe(String(0xe3069283));
});

test('cmake-js builds the same addon, and it loads', () => {
  execFileSync('npm', ['run', 'build:cmake'], { cwd: pkg, stdio: 'pipe' });
  const addon = path.join(pkg, 'build-cmake', 'Release', 'parallel_wal.node');
  const child = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); console.log(a.crc32c(Buffer.from('123456789')) >>> 0)`], { encoding: 'utf8' });
  expect(child.status).toBe(0);
  expect(child.stdout.trim()).toBe(String(0xe3069283));
});
