// The native thread slot as seen from JS (the lane stager's default lane provider).
import { native } from './native';

/**
 * The calling thread's slot modulo `count` (1..65535): a process-wide counter handed out on each
 * OS thread's first use (main thread and every worker get their own, stable for the thread's
 * life). The lane stager's default lane id.
 */
export function threadSlot(count: number): number {
  return native.threadSlot(count);
}

/**
 * Test only: the next thread asking for its first slot gets counter value 0 again (threads that
 * already have a slot keep it). Not part of the public API.
 * @internal
 */
export function __resetThreadSlotCounterForTesting(): void {
  native.__resetThreadSlotCounterForTesting();
}
