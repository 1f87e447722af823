// Bounded concurrency for activities that act on many objects: at most `limit` calls in flight
// (a burst must not flood the API server), items taken in order, and after a failure no new
// item starts; the first failure is thrown once the calls in flight have settled.

export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    for (let i = next++; i < items.length && !failed; i = next++) {
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
}
