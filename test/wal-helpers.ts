// Helpers of the WAL tests: temp dirs, batches, recovery, and child processes / workers that
// load the package (test/fixtures/load-lib.js: dist/ when fresh, else ts-node).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { recoverSegmentsSync } from '../lib';
import type { ParallelWalBatch } from '../lib';

export const ROOT = path.join(__dirname, '..');
export const FIXTURES = path.join(__dirname, 'fixtures');

const dirs: string[] = [];

/** A fresh temp directory, removed by {@link removeTmpDirs}. */
export function tmpDir(prefix = 'pwal-wal-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTmpDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A fresh db path in a fresh temp dir. */
export function tmpDbPath(name = 'test.db'): string {
  return path.join(tmpDir(), name);
}

/** A single-frame batch whose page content encodes (txnId). */
export function oneFrame(txnId: number | bigint, commitSeq: number | bigint = txnId, pageNumber = 7, size = 16): ParallelWalBatch {
  const data = Buffer.alloc(size, Number(BigInt(txnId) % 251n));
  if (size >= 8) data.writeBigUInt64LE(BigInt(txnId), 0);
  return { txnToken: { id: txnId, epoch: 0 }, commitSeq, frames: [{ pageNumber, pageData: data, dbSizeIfCommit: 0 }] };
}

/** The seed's sample batch: pages 7 (16 x 0xAA) and 9 (24 x 0xBB, dbSize 12). */
export function sampleBatch(txnId: number | bigint, commitSeq: number | bigint): ParallelWalBatch {
  return {
    txnToken: { id: txnId, epoch: 0 },
    commitSeq,
    frames: [
      { pageNumber: 7, pageData: Buffer.alloc(16, 0xaa), dbSizeIfCommit: 0 },
      { pageNumber: 9, pageData: Buffer.alloc(24, 0xbb), dbSizeIfCommit: 12 },
    ],
  };
}

/** Recovered records as plain tuples, in replay order. */
export function recovered(dbPath: string): Array<{ epoch: bigint; txnId: bigint; seq: bigint; page: number; data: Buffer }> {
  const { records } = recoverSegmentsSync(dbPath);
  return records.map((r) => ({ epoch: r.epoch, txnId: r.txnToken.id, seq: r.beginSeq, page: r.pageId, data: r.afterImage }));
}

let distChecked = false;
/**
 * Makes dist/ current (children and workers load it: 0.1 s instead of ~1 s with ts-node).
 * Serialized across jest workers with a lock directory.
 */
export function ensureFreshDist(): void {
  if (distChecked) return;
  distChecked = true;
  const lock = path.join(ROOT, 'build', '.pwal-dist-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // another worker builds
    }
  }
  try {
    let newest = 0;
    for (const f of fs.readdirSync(path.join(ROOT, 'lib'))) {
      if (f.endsWith('.ts')) newest = Math.max(newest, fs.statSync(path.join(ROOT, 'lib', f)).mtimeMs);
    }
    let dist = 0;
    try {
      dist = fs.statSync(path.join(ROOT, 'dist', 'index.js')).mtimeMs;
    } catch {
      dist = 0;
    }
    if (dist < newest) {
      execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node test/fixtures/<fixture> ...args` to completion (killed after timeoutMs). */
export function runChild(fixture: string, args: string[], timeoutMs = 20_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(FIXTURES, fixture), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
