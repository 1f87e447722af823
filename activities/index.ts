// createActivities(deps) returns every activity the worker registers; workflows import the
// type only (`import type { Activities }`).
import type { ActivityDeps } from './deps.ts';
import { platformHealthActivities } from './platform-health.ts';

export type { ActivityDeps } from './deps.ts';

export function createActivities(deps: ActivityDeps) {
  return {
    ...platformHealthActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
