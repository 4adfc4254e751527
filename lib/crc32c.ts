// CRC32C (Castagnoli) over bytes or strings, with the fastest implementation this CPU allows.
//
// Large inputs go to the native code (AVX-512 / SSE4.2 / ARMv8 / portable, chosen once at load).
// A call into N-API costs a few tens of nanoseconds however much work it does, so byte arrays
// of up to JS_MAX_BYTES are checksummed right here with a slicing-by-8 table loop, which is
// faster than the round trip at those sizes (measured in bench/suites/crc32c.js; see
// docs/crc32c.md). Both paths give the same value; test/crc32c-js.test.ts compares them.
import { native } from './native';

/** Data accepted by {@link crc32c}: bytes in any view, or a string (hashed as UTF-8). */
export type Crc32cInput = ArrayBufferView | ArrayBuffer | string;

/** Names of the native implementations. */
export type Crc32cImplementation = 'portable' | 'sse42' | 'avx512' | 'arm';

/** Byte arrays up to this length are checksummed in JavaScript (see the file comment). */
export const JS_MAX_BYTES = 48;

// Slicing-by-8 tables for the reflected polynomial 0x82F63B78: T[0] is the classic byte table,
// T[k][b] is the CRC of byte b followed by k zero bytes.
function makeTables(): Int32Array[] {
  const tables: Int32Array[] = [];
  const t0 = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t0[i] = c;
  }
  tables.push(t0);
  for (let s = 1; s < 8; s++) {
    const prev = tables[s - 1];
    const next = new Int32Array(256);
    for (let i = 0; i < 256; i++) next[i] = (prev[i] >>> 8) ^ t0[prev[i] & 0xff];
    tables.push(next);
  }
  return tables;
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables();

/**
 * CRC32C of `bytes` continuing `initial`, in JavaScript. Internal (exported for tests): no
 * argument checks; `bytes` must hold byte values 0..255 (a Uint8Array or Buffer) and `initial`
 * must be a uint32.
 * @internal
 */
export function crc32cJs(bytes: Uint8Array, initial: number): number {
  let c = ~initial;
  let i = 0;
  const n = bytes.length;
  // Eight bytes per step: the CRC's four bytes are XORed into the first four data bytes and
  // each of the eight bytes is looked up in the table for its distance from the end of the step.
  for (; i + 8 <= n; i += 8) {
    c =
      T7[bytes[i] ^ (c & 0xff)] ^
      T6[bytes[i + 1] ^ ((c >>> 8) & 0xff)] ^
      T5[bytes[i + 2] ^ ((c >>> 16) & 0xff)] ^
      T4[bytes[i + 3] ^ (c >>> 24)] ^
      T3[bytes[i + 4]] ^
      T2[bytes[i + 5]] ^
      T1[bytes[i + 6]] ^
      T0[bytes[i + 7]];
  }
  for (; i < n; i++) c = T0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// The native entry for Uint8Arrays (and Buffers): the same checks and result as native.crc32c,
// with a cheaper lookup of the bytes (see crc32c_binding.cc). Returns a signed int32.
const crc32cU8 = native.crc32cU8 as (bytes: Uint8Array, initial?: number) => number;

/**
 * CRC32C of `data`, continuing from `initial` (the CRC of the bytes before it), so that
 * `crc32c(b, crc32c(a)) === crc32c(Buffer.concat([a, b]))`.
 * @param data bytes (Buffer, any TypedArray or DataView, honouring its offset and length, or an
 *   ArrayBuffer) or a string, hashed as UTF-8.
 * @param initial a previous CRC32C value; `0` starts a new checksum. @default 0
 * @returns the unsigned 32-bit checksum.
 * @throws TypeError (`ERR_INVALID_ARG_TYPE`) or RangeError (`ERR_OUT_OF_RANGE`) naming the argument.
 */
export function crc32c(data: Crc32cInput, initial?: number): number {
  // `instanceof` is what V8 optimises best. Uint8Arrays from another realm (vm contexts) fail it
  // and take the generic native path, which is equally correct.
  if (data instanceof Uint8Array) {
    if (initial === undefined) {
      return data.length <= JS_MAX_BYTES ? crc32cJs(data, 0) : crc32cU8(data) >>> 0;
    }
    // For a number, `(initial >>> 0) === initial` holds exactly for integers in [0, 2^32)
    // (`typeof` first: `>>>` throws on a bigint). Anything else goes to the native call, which
    // throws the argument error, so errors are the same whatever the size of `data`.
    if (data.length <= JS_MAX_BYTES && typeof initial === 'number' && initial >>> 0 === initial) {
      return crc32cJs(data, initial);
    }
    return crc32cU8(data, initial) >>> 0;
  }
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return (initial === undefined ? native.crc32c(bytes) : native.crc32c(bytes, initial)) >>> 0;
}

/** Like {@link crc32c} but with a specific native implementation (tests and benchmarks). */
export function crc32cWith(impl: Crc32cImplementation, data: Crc32cInput, initial?: number): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return native.crc32cWith(impl, bytes, initial);
}

/** The implementation {@link crc32c} uses on this machine. */
export function crc32cImplementation(): Crc32cImplementation {
  return native.crc32cImplementation() as Crc32cImplementation;
}

/** Every implementation this CPU can run. */
export function crc32cImplementations(): Crc32cImplementation[] {
  return native.crc32cImplementations() as Crc32cImplementation[];
}
