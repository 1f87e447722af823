// Bounded concurrency over a stream (an async iterable read as it goes, as a backup file's objects), as
// forEachConcurrently does over an array: at most `limit` calls in flight, so no more than `limit` items
// are held at once. After a failure (of a call or of the stream) no new item is taken and the stream is
// closed; the first failure is thrown once the calls in flight have settled.

export async function forEachStreamed<T>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const source = items[Symbol.asyncIterator]();
  let failed = false;
  let ended = false;
  const lane = async () => {
    while (!failed && !ended) {
      try {
        // Lanes wait for the next item in turn: an async generator answers its next() calls in order.
        const next = await source.next();
        if (next.done) {
          ended = true;
          return;
        }
        if (failed) return; // another lane failed while this one waited for its item
        await fn(next.value);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  try {
    const settled = await Promise.allSettled(Array.from({ length: limit }, lane));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  } finally {
    if (!ended) await source.return?.();
  }
}
