// The pure-JS path for small inputs (lib/crc32c.ts) must agree with the native code bit for bit.
import { crc32c, crc32cWith } from '../lib';
import { JS_MAX_BYTES, crc32cJs } from '../lib/crc32c';
import { catchError } from './helpers';

// Deterministic pseudo-random numbers (xorshift32), so failures are reproducible.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomBytes(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

describe('crc32c small-input JS path', () => {
  test('the JS threshold is within the range compared below', () => {
    expect(JS_MAX_BYTES).toBeGreaterThanOrEqual(0);
    expect(JS_MAX_BYTES).toBeLessThan(128);
  });

  test('crc32cJs equals the native portable code for every length 0..128 and random initials', () => {
    const next = rng(0xc0ffee);
    for (let len = 0; len <= 128; len++) {
      for (let round = 0; round < 8; round++) {
        const bytes = randomBytes(next, len);
        const initial = round === 0 ? 0 : round === 1 ? 0xffffffff : next();
        const expected = crc32cWith('portable', bytes, initial);
        expect([len, initial, crc32cJs(bytes, initial)]).toEqual([len, initial, expected]);
      }
    }
  });

  test('crc32cJs equals the active native implementation on views with offsets', () => {
    const next = rng(12345);
    const backing = randomBytes(next, 256);
    for (let len = 0; len <= 128; len++) {
      const offset = next() % 64;
      const view = backing.subarray(offset, offset + len);
      const copy = Buffer.from(view);
      const initial = next();
      const expected = crc32cWith('portable', copy, initial);
      expect(crc32cJs(view, initial)).toBe(expected);
      // Public entry point, both with a same-realm Uint8Array (JS path when small) and a
      // Buffer (native path under jest, whose Buffer comes from another realm).
      expect(crc32c(view, initial)).toBe(expected);
      expect(crc32c(copy, initial)).toBe(expected);
      if (initial === 0) continue;
      expect(crc32c(view)).toBe(crc32cWith('portable', copy));
    }
  });

  test('known values through the small path', () => {
    const check = new TextEncoder().encode('123456789');
    expect(check.length).toBeLessThanOrEqual(JS_MAX_BYTES);
    expect(crc32cJs(check, 0)).toBe(0xe3069283);
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    // Continuation across the threshold: a small head, a large tail.
    const next = rng(99);
    const whole = randomBytes(next, 300);
    for (const cut of [0, 1, 7, 8, 40, JS_MAX_BYTES, JS_MAX_BYTES + 1, 300]) {
      const head = crc32c(whole.subarray(0, cut));
      expect(crc32c(whole.subarray(cut), head)).toBe(crc32cWith('portable', whole));
    }
  });

  test('other one-byte views agree (they take the native path)', () => {
    const bytes = Uint8Array.from([1, 2, 250, 255, 128, 0, 7]);
    const expected = crc32cWith('portable', bytes);
    expect(crc32c(new Int8Array(bytes.buffer))).toBe(expected);
    expect(crc32c(new Uint8ClampedArray(bytes.buffer))).toBe(expected);
    expect(crc32c(new DataView(bytes.buffer))).toBe(expected);
  });

  test('argument errors are the same for small and large inputs', () => {
    const bad: Array<[unknown, string, string]> = [
      [-1, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [2 ** 32, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [1.5, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [NaN, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [Infinity, 'RangeError', 'ERR_OUT_OF_RANGE'],
      ['1', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [null, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [1n, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const size of [0, 1, 8, JS_MAX_BYTES, JS_MAX_BYTES + 1, 4096]) {
      for (const data of [new Uint8Array(size), Buffer.alloc(size)]) {
        for (const [initial, name, code] of bad) {
          const err = catchError(() => crc32c(data, initial as number));
          expect([size, String(initial), err.name, err.code]).toEqual([size, String(initial), name, code]);
          expect(err.message).toMatch(/"initial"/);
        }
      }
    }
    // `data` is checked first, whatever its size would have been.
    const err = catchError(() => crc32c([1, 2, 3] as never, -1));
    expect(err.name).toBe('TypeError');
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(err.message).toMatch(/"data"/);
  });
});
