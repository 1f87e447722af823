// The environment the worker process is started with (npm start, npm run worker, the image, the
// benches and the crash tests' worker processes). glibc reads it once, at process start, so it cannot
// be set from inside the worker.
//
// MALLOC_ARENA_MAX: glibc gives threads that allocate their own malloc arena (up to 8 per core); the
// worker's threads (libuv's pool, V8's, the SDK core's runtime) keep memory in theirs while idle. Two
// arenas: ~14 MB less idle RSS (README "Worker sizing"). A value the caller set is kept.
export function workerProcessEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2' };
}
