// Cleanups registered by a test file, run after it last first. Every one runs even when one before it
// fails (a server left open keeps the file's process alive); the failures are reported together.
export async function runCleanups(cleanups: (() => Promise<unknown>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, `${errors.length} cleanups failed`);
}
