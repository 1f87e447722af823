// The environment the worker process is started with (npm start, npm run worker, the image, the
// benches and the crash tests' worker processes). glibc reads it once, at process start, so it cannot
// be set from inside the worker. A value the caller set is kept.
//
// glibc gives threads that allocate their own malloc arena (up to 8 per core), and keeps freed memory
// at the top of each heap until it passes a threshold that grows with use. The worker's threads
// (libuv's pool, V8's, the SDK core's runtime) allocate little, and it mostly waits: one arena and a
// fixed 128 KB trim threshold hold its idle RSS about 10 MB lower than two arenas and the default
// (README "Worker sizing").
export function workerProcessEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '1',
    MALLOC_TRIM_THRESHOLD_: env.MALLOC_TRIM_THRESHOLD_ ?? '131072',
  };
}
