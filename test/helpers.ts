// Shared test helpers.
//
// Errors thrown by the addon are built in Node's main realm, while jest runs tests in a vm
// context with its own TypeError/RangeError, so `toThrow(TypeError)` compares across realms.
// `catchError` lets tests assert on name, code and message instead.
export function catchError(fn: () => unknown): Error & { code?: string; [k: string]: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the call to throw, but it returned');
}

export async function catchRejection(p: Promise<unknown>): Promise<Error & { code?: string; [k: string]: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, but it resolved');
}
