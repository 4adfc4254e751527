// CRC32C (Castagnoli) over bytes or strings, with the fastest implementation this CPU allows.
import { native } from './native';

/** Data accepted by {@link crc32c}: bytes in any view, or a string (hashed as UTF-8). */
export type Crc32cInput = ArrayBufferView | ArrayBuffer | string;

/** Names of the native implementations. */
export type Crc32cImplementation = 'portable' | 'sse42' | 'avx512' | 'arm';

function toBytes(data: Crc32cInput): ArrayBufferView | ArrayBuffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

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
  return native.crc32c(toBytes(data), initial);
}

/** Like {@link crc32c} but with a specific implementation (tests and benchmarks). */
export function crc32cWith(impl: Crc32cImplementation, data: Crc32cInput, initial?: number): number {
  return native.crc32cWith(impl, toBytes(data), initial);
}

/** The implementation {@link crc32c} uses on this machine. */
export function crc32cImplementation(): Crc32cImplementation {
  return native.crc32cImplementation() as Crc32cImplementation;
}

/** Every implementation this CPU can run. */
export function crc32cImplementations(): Crc32cImplementation[] {
  return native.crc32cImplementations() as Crc32cImplementation[];
}
