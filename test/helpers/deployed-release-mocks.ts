// Mocked activities of a platform release that is deployed and not stuck, for the tests that run the
// upgrade runbooks without helm (the CLI and Web UI tests, the upgrade workflow tests).
import type { Activities } from '../../activities/index.ts';

/** helmStatus: the orchestrator release, deployed, at `revision()`; recoverStuckRelease: nothing stuck. */
export function deployedReleaseMocks(
  revision: () => number = () => 1,
): Pick<Activities, 'helmStatus' | 'recoverStuckRelease'> {
  return {
    helmStatus: async () => ({
      name: 'orchestrator',
      namespace: 'orchestrator',
      revision: revision(),
      status: 'deployed',
      chart: 'orchestrator-0.1.0',
      chartVersion: '0.1.0',
      appVersion: '1.0.0',
      updated: '',
    }),
    recoverStuckRelease: async () => ({
      recovered: false,
      previousStatus: 'deployed',
      action: 'none',
      detail: 'not stuck',
    }),
  };
}
