// createActivities(deps) returns every activity the worker registers; workflows import the
// type only (`import type { Activities }`).
import type { ActivityDeps } from './deps.ts';
import { platformHealthActivities } from './platform-health.ts';
import { deployActivities } from './deploy.ts';
import { helmActivities } from './helm/index.ts';
import { backupActivities } from './backup/index.ts';
import { verificationActivities } from './backup/verification.ts';
import { taskRunActivities } from './taskrun/index.ts';
import { drainActivities } from './drain/index.ts';
import { incidentActivities } from './incident/index.ts';
import { nodeMaintenanceActivities } from './node-maintenance/index.ts';
import { auditActivities } from './audit/index.ts';

export type { ActivityDeps } from './deps.ts';

export function createActivities(deps: ActivityDeps) {
  const helmDeps = {
    helmBin: deps.helmBin,
    kubeconfigPath: deps.kubeTarget.kubeconfigPath,
    ...(deps.kubeTarget.context ? { kubeContext: deps.kubeTarget.context } : {}),
    workdir: deps.workdir,
    ...(deps.fileRoots ? { fileRoots: deps.fileRoots } : {}),
    logger: deps.logger.child({ component: 'helm' }),
  };
  return {
    ...platformHealthActivities(deps),
    ...deployActivities(deps),
    ...helmActivities(helmDeps),
    ...backupActivities(deps, helmDeps),
    ...verificationActivities(deps),
    ...taskRunActivities(deps),
    ...drainActivities(deps),
    ...incidentActivities(deps, helmDeps),
    ...nodeMaintenanceActivities(deps),
    ...auditActivities(deps, helmDeps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
