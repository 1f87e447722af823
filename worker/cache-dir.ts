import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the project caches what it builds outside the repo (tools, bundles, compile cache, test durations). */
export const cacheRoot = (env: NodeJS.ProcessEnv = process.env): string =>
  env.PLATFORM_RUNBOOKS_CACHE ?? join(homedir(), '.cache', 'platform-runbooks');
