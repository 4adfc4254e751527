// Control surface, names, sampling and environment resolution (ported from the reference).
import {
  MAX_PARALLEL_WAL_LANE_COUNT,
  PARALLEL_WAL_FALLBACK_REASONS,
  defaultParallelWalControlSurface,
  defaultParallelWalLaneCount,
  parallelWalFallbackReasonName,
  parallelWalModeName,
  parallelWalShadowVerdictName,
  parallelWalShouldShadowCompare,
  resolveParallelWalControlSurfaceFromEnv,
  type ParallelWalControlSurface,
} from '../lib/control';
import * as os from 'node:os';

test('testAutoShadowCompareSamplingIsDeterministicByBatchWindow', () => {
  const control: ParallelWalControlSurface = { mode: 'auto', shadowCompareSamplingPerMille: 2 };
  expect(parallelWalShouldShadowCompare(control, 1)).toBe(true);
  expect(parallelWalShouldShadowCompare(control, 2)).toBe(true);
  expect(parallelWalShouldShadowCompare(control, 3)).toBe(false);
  expect(parallelWalShouldShadowCompare(control, 1001)).toBe(true);
  expect(parallelWalShouldShadowCompare(control, 1002)).toBe(true);
  expect(parallelWalShouldShadowCompare(control, 1003)).toBe(false);
  expect(parallelWalShouldShadowCompare(control, 2n ** 64n - 1n)).toBe(false);
});

test('testShadowCompareModeIgnoresSamplingGate', () => {
  const control: ParallelWalControlSurface = { mode: 'shadow_compare', shadowCompareSamplingPerMille: 0 };
  expect(parallelWalShouldShadowCompare(control, 1)).toBe(true);
  expect(parallelWalShouldShadowCompare(control, 7)).toBe(true);
});

test('testConservativeModeNeverRunsShadowCompareSampling', () => {
  const control: ParallelWalControlSurface = { mode: 'conservative', shadowCompareSamplingPerMille: 1000 };
  expect(parallelWalShouldShadowCompare(control, 1)).toBe(false);
  expect(parallelWalShouldShadowCompare(control, 1000)).toBe(false);
});

test('auto mode without a sampling rate never samples', () => {
  expect(parallelWalShouldShadowCompare({ mode: 'auto' }, 1)).toBe(false);
  expect(parallelWalShouldShadowCompare({ mode: 'auto', shadowCompareSamplingPerMille: 5000 }, 999)).toBe(true);
});

test('names match the reference', () => {
  expect(parallelWalModeName('auto')).toBe('auto');
  expect(parallelWalModeName('conservative')).toBe('conservative');
  expect(parallelWalModeName('shadow_compare')).toBe('shadow_compare');
  expect(parallelWalFallbackReasonName(undefined)).toBe('none');
  expect(parallelWalFallbackReasonName(null)).toBe('none');
  expect(PARALLEL_WAL_FALLBACK_REASONS).toHaveLength(8);
  for (const r of PARALLEL_WAL_FALLBACK_REASONS) expect(parallelWalFallbackReasonName(r)).toBe(r);
  expect(parallelWalShadowVerdictName('not_run')).toBe('not_run');
  expect(parallelWalShadowVerdictName('clean')).toBe('clean');
  expect(parallelWalShadowVerdictName('diverged')).toBe('diverged');
  expect(MAX_PARALLEL_WAL_LANE_COUNT).toBe(65535);
});

test('defaults', () => {
  expect(defaultParallelWalControlSurface()).toEqual({ mode: 'auto' });
  expect(defaultParallelWalLaneCount()).toBe(Math.max(1, os.availableParallelism()));
});

describe('resolveParallelWalControlSurfaceFromEnv', () => {
  test('conservative when the environment says nothing', () => {
    expect(resolveParallelWalControlSurfaceFromEnv({})).toEqual({ mode: 'conservative' });
  });

  test('reads every variable', () => {
    expect(
      resolveParallelWalControlSurfaceFromEnv({
        PARALLEL_WAL_MODE: ' AUTO ',
        PARALLEL_WAL_LANES: '8',
        PARALLEL_WAL_MAX_BATCH_BYTES: '65536',
        PARALLEL_WAL_MAX_FLUSH_DELAY_MS: '3',
        PARALLEL_WAL_SHADOW_COMPARE_PER_MILLE: '25',
      }),
    ).toEqual({ mode: 'auto', laneCountOverride: 8, maxParallelCommitBytes: 65536, maxFlushDelayMs: 3, shadowCompareSamplingPerMille: 25 });
  });

  test.each([
    ['auto', 'auto'],
    ['conservative', 'conservative'],
    ['serialized', 'conservative'],
    ['single_lane', 'conservative'],
    ['shadow', 'shadow_compare'],
    ['Shadow_Compare', 'shadow_compare'],
    ['bogus', 'conservative'],
  ])('mode alias %s -> %s', (raw, mode) => {
    expect(resolveParallelWalControlSurfaceFromEnv({ PARALLEL_WAL_MODE: raw }).mode).toBe(mode);
  });

  test('the seed FSQLITE_PARALLEL_WAL_* names are aliases; PARALLEL_WAL_* wins', () => {
    expect(resolveParallelWalControlSurfaceFromEnv({ FSQLITE_PARALLEL_WAL_MODE: 'shadow', FSQLITE_PARALLEL_WAL_LANES: '3' })).toEqual({
      mode: 'shadow_compare',
      laneCountOverride: 3,
    });
    expect(resolveParallelWalControlSurfaceFromEnv({ FSQLITE_PARALLEL_WAL_MODE: 'shadow', PARALLEL_WAL_MODE: 'auto' }).mode).toBe('auto');
  });

  test('values that do not parse are ignored; zero lanes and bytes become 1', () => {
    expect(
      resolveParallelWalControlSurfaceFromEnv({
        PARALLEL_WAL_LANES: 'many',
        PARALLEL_WAL_MAX_BATCH_BYTES: '-5',
        PARALLEL_WAL_MAX_FLUSH_DELAY_MS: '1.5',
        PARALLEL_WAL_SHADOW_COMPARE_PER_MILLE: '70000',
      }),
    ).toEqual({ mode: 'conservative' });
    expect(resolveParallelWalControlSurfaceFromEnv({ PARALLEL_WAL_LANES: '0', PARALLEL_WAL_MAX_BATCH_BYTES: '0' })).toEqual({
      mode: 'conservative',
      laneCountOverride: 1,
      maxParallelCommitBytes: 1,
    });
  });
});

test('bad env arguments are typed errors; non-string values are ignored', () => {
  const err = (() => { try { resolveParallelWalControlSurfaceFromEnv(null as never); } catch (e) { return e as { code?: string; name: string }; } })();
  expect(err?.name).toBe('TypeError');
  expect(err?.code).toBe('ERR_INVALID_ARG_TYPE');
  expect(resolveParallelWalControlSurfaceFromEnv({ PARALLEL_WAL_MODE: 5 as never, PARALLEL_WAL_LANES: {} as never })).toEqual({ mode: 'conservative' });
  const err2 = (() => { try { parallelWalShouldShadowCompare(undefined as never, 1); } catch (e) { return e as { code?: string }; } })();
  expect(err2?.code).toBe('ERR_INVALID_ARG_TYPE');
});
