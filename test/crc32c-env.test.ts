// PARALLEL_WAL_CRC32C_IMPL picks the implementation at load time (checked in a fresh process,
// since the choice is made once per process).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { crc32cImplementations } from '../lib';

const root = path.join(__dirname, '..');

function probe(env: Record<string, string | undefined>): { impl: string; check: number; big: number } {
  const script = `
    const addon = require('node-gyp-build')(${JSON.stringify(root)});
    const big = Buffer.alloc(200000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    process.stdout.write(JSON.stringify({
      impl: addon.crc32cImplementation(),
      check: addon.crc32c(Buffer.from('123456789')) >>> 0,
      big: addon.crc32c(big) >>> 0,
    }));`;
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const out = execFileSync(process.execPath, ['-e', script], { env: merged, encoding: 'utf8' });
  return JSON.parse(out);
}

describe('PARALLEL_WAL_CRC32C_IMPL', () => {
  // The best implementation is the last of the supported list (portable < sse42 < avx512, or arm).
  const supported = crc32cImplementations();
  const best = supported[supported.length - 1];
  const reference = probe({ PARALLEL_WAL_CRC32C_IMPL: 'portable' });

  test('forces each supported implementation, which then gives the same values', () => {
    expect(reference.impl).toBe('portable');
    expect(reference.check).toBe(0xe3069283);
    for (const impl of supported) {
      const got = probe({ PARALLEL_WAL_CRC32C_IMPL: impl });
      expect(got).toEqual({ impl, check: 0xe3069283, big: reference.big });
    }
  });

  test('unset, empty, unknown or unsupported names keep the best implementation', () => {
    const unsupported = process.arch === 'arm64' ? 'avx512' : 'arm';
    for (const value of [undefined, '', 'nope', 'AVX512', unsupported]) {
      expect(probe({ PARALLEL_WAL_CRC32C_IMPL: value }).impl).toBe(best);
    }
  });
});
