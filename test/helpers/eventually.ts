// The one polling helper of the tests.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `check` returns a value (not undefined or false), or fails after `timeoutMs`. An error
 * thrown by `check` (e.g. a query to a workflow that has not started yet) counts as "not yet"; the
 * timeout message names the last one.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const cause =
    lastError === undefined
      ? ''
      : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

/**
 * `eventually` polling every 100 ms, for workflow tests that wait on queries of an in-process worker
 * (a query is cheap there, and each test waits on many); a minute, as every other wait of the tests.
 */
export const untilQuery = <T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false) =>
  eventually(what, check, 60_000, 100);
