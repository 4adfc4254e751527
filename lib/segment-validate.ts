// Argument checks and typed errors for the segment API (Node-style codes and messages).
import { inspect } from 'node:util';

/** An Error carrying a stable `code` (and, for WAL errors, the core's status name). */
export type CodedError = Error & { code: string; [key: string]: unknown };

function received(value: unknown): string {
  if (value === undefined || value === null) return `Received ${value}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `Received type ${typeof value} (${shown})`;
}

function coded<E extends Error>(error: E, code: string): E & CodedError {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as E & CodedError;
}

/** TypeError `ERR_INVALID_ARG_TYPE`: `The "name" argument must be <expected>. Received ...` */
export function argTypeError(name: string, expected: string, value: unknown): TypeError & CodedError {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. ${received(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** RangeError `ERR_INVALID_ARG_VALUE`: `The "name" argument <reason>. Received ...` */
export function argValueError(name: string, value: unknown, reason: string): RangeError & CodedError {
  const shown = typeof value === 'bigint' ? `${value}n` : inspect(value, { depth: 0 });
  return coded(new RangeError(`The "${name}" argument ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

/** Error `WAL_CORRUPTION` (bytes that are not a valid segment). */
export function walError(message: string, code = 'WAL_CORRUPTION', extra: Record<string, unknown> = {}): CodedError {
  const error = coded(new Error(message), code);
  Object.assign(error, { walStatus: code === 'WAL_CORRUPTION' ? 'Corruption' : code }, extra);
  return error;
}

const U64_MAX = (1n << 64n) - 1n;

/** A u64 from a bigint or safe-integer number; returns it as a bigint. */
export function checkU64(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw argValueError(name, value, 'must be >= 0n and <= 18446744073709551615n');
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw argValueError(name, value, 'must be a safe integer >= 0 (pass a bigint for larger values)');
    }
    return BigInt(value);
  }
  throw argTypeError(name, 'of type bigint or number', value);
}

/** A non-empty path string without NUL bytes (a `URL` with `file:` is converted). */
export function checkPath(value: unknown, name: string): string {
  if (value instanceof URL) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { fileURLToPath } = require('node:url') as typeof import('node:url');
    value = fileURLToPath(value);
  }
  if (typeof value !== 'string') throw argTypeError(name, 'of type string or an instance of URL', value);
  if (value.length === 0) throw argValueError(name, value, 'must be a non-empty path');
  if (value.includes('\0')) throw argValueError(name, value, 'must be a path without null bytes');
  return value;
}

/** `undefined`/`null` -> `{}`; an object -> itself; anything else -> TypeError. */
export function checkOptions<T extends object>(value: unknown, name = 'options'): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw argTypeError(name, 'of type object', value);
  return value as Partial<T>;
}

/** An optional boolean option. */
export function checkBoolOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argTypeError(name, 'of type boolean', value);
  return value;
}
