// Typed errors with stable `code`s. Errors raised by the addon are plain Errors carrying a
// `code`; the TypeScript layer rewraps the WAL_* ones into {@link WalError} so callers can use
// `instanceof` and read `epoch`/`errno`/`cause` uniformly.

/** Stable error codes of the WAL (see docs/durability.md for what each promises). */
export type WalErrorCode =
  | 'WAL_CORRUPTION'
  | 'WAL_IO'
  | 'WAL_LOCKED'
  | 'WAL_TIMEOUT'
  | 'WAL_BACKPRESSURE'
  | 'WAL_CLOSED';

const WAL_CODES: ReadonlySet<string> = new Set([
  'WAL_CORRUPTION',
  'WAL_IO',
  'WAL_LOCKED',
  'WAL_TIMEOUT',
  'WAL_BACKPRESSURE',
  'WAL_CLOSED',
]);

/** Extra fields a {@link WalError} may carry. */
export interface WalErrorDetails {
  /** The epoch the error is about (a failed flush, a timed-out wait). */
  epoch?: number;
  /** The OS error number when an I/O call failed. */
  errno?: number;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An operational error of the WAL. `code` is stable and is the thing to branch on;
 * `message` is for humans and may change.
 */
export class WalError extends Error {
  /** The stable error code. */
  readonly code: WalErrorCode;
  /** The epoch the error is about, when there is one. */
  readonly epoch?: number;
  /** The OS error number, when an I/O call failed. */
  readonly errno?: number;

  constructor(code: WalErrorCode, message: string, details: WalErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'WalError';
    this.code = code;
    if (details.epoch !== undefined) this.epoch = details.epoch;
    if (details.errno !== undefined) this.errno = details.errno;
  }
}

/** True when `err` is an error of the WAL (any realm), optionally with the given code. */
export function isWalError(err: unknown, code?: WalErrorCode): err is WalError {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string' || !WAL_CODES.has(c)) return false;
  return code === undefined || c === code;
}

/**
 * Rewraps an error thrown by the addon: WAL_* codes become {@link WalError} (same code,
 * message and errno); argument errors (TypeError/RangeError with ERR_*) and anything else are
 * returned unchanged.
 * @internal
 */
export function fromNative(err: unknown, details: WalErrorDetails = {}): unknown {
  if (err instanceof WalError || !isWalError(err)) return err;
  const e = err as Error & { code: WalErrorCode; errno?: number; epoch?: number };
  const wrapped = new WalError(e.code, e.message, {
    epoch: details.epoch ?? (typeof e.epoch === 'number' ? e.epoch : undefined),
    errno: typeof e.errno === 'number' ? e.errno : details.errno,
    cause: details.cause,
  });
  return wrapped;
}

/** Node-style argument errors (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`). */
export type ArgErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor;
    return ctor && ctor.name ? `an instance of ${ctor.name}` : 'an object';
  }
  return `${typeof value} (${String(value)})`;
}

/**
 * A TypeError with code `ERR_INVALID_ARG_TYPE` naming the argument path and the value received.
 * @internal
 */
export function argTypeError(name: string, expected: string, received: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(received)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/**
 * A RangeError with code `ERR_OUT_OF_RANGE` naming the argument path and the value received.
 * @internal
 */
export function argRangeError(name: string, expected: string, received: unknown): RangeError {
  const err = new RangeError(
    `The value of "${name}" is out of range. It must be ${expected}. Received ${describe(received)}`,
  );
  (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return err;
}

/**
 * A TypeError with code `ERR_INVALID_ARG_VALUE` (a value of the right type that is not allowed).
 * @internal
 */
export function argValueError(name: string, expected: string, received: unknown): TypeError {
  const err = new TypeError(`The argument '${name}' must be ${expected}. Received ${describe(received)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return err;
}
