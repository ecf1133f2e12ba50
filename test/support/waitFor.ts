// The one way tests and benchmarks wait for something that has no event to wait on: poll a probe
// until it answers, and fail with what was awaited (and the last error seen) when it never does.
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
}

/**
 * Thrown by a probe when what it waits for can no longer happen (the process died, the server
 * exited): waitFor stops at once and rethrows it as it is, instead of polling until the timeout.
 */
export class StopWaiting extends Error {}

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and returns that.
 * A probe that throws counts as "not yet" (the last such error is in the timeout message), except
 * for StopWaiting, which ends the wait at once. After `timeoutMs` it throws an Error that names
 * `what` (a function is called then, so the message can carry the state seen last).
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const described = typeof what === 'function' ? what() : what;
      const last = lastError === undefined ? '' : `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}${last}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await sleep(Math.max(0, Math.min(intervalMs, deadline - Date.now())));
  }
}
