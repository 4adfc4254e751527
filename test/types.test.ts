// Runs the type test (test/types/public-types.ts) through the TypeScript compiler: every public
// control-surface name must exist with its documented type, and the @ts-expect-error lines must
// still be errors.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

test('public types compile as documented (tsc --noEmit test/types)', () => {
  const root = path.join(__dirname, '..');
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(root, 'test', 'types', 'tsconfig.json')], {
    encoding: 'utf8',
    cwd: root,
  });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 120000);
