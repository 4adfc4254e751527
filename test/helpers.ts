// Shared test helpers.
//
// Errors thrown by the addon are built in Node's main realm, while jest runs tests in a vm
// context with its own TypeError/RangeError, so `toThrow(TypeError)` compares across realms.
// `catchError` lets tests assert on name, code and message instead.
export type CaughtError = Error & { code?: string; [k: string]: unknown };

export function catchError(fn: () => unknown): CaughtError {
  try {
    fn();
  } catch (e) {
    return e as CaughtError;
  }
  throw new Error('expected the call to throw, but it returned');
}

export async function catchRejection(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p;
  } catch (e) {
    return e as CaughtError;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
