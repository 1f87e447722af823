// backupAndVerify: the nightly backup with an optional verification restore. backupPlatform runs as a
// child workflow; then restorePlatform restores the backup (without the cluster-scoped CRD) into a scratch
// namespace, an activity compares every object with the backup (a sha256 per object; Secret values never
// leave the activity), and the scratch namespace is deleted at the end, also on failure or cancellation.
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  executeChild,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { failureCause } from '../contract/failure-cause.ts';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { backupPlatform } from './backup-platform.ts';
import { restorePlatform } from './restore-platform.ts';
import {
  backupAndVerifyInputSchema,
  type BackupAndVerifyInput,
  type BackupVerifyReport,
  type KindComparison,
  type RestoreComparison,
} from '../contract/types/backup-verify.ts';
import { BACKUP_VERIFY_FAILED, BACKUP_VERIFY_MISMATCH } from '../contract/failures.ts';

const STEPS = ['validate', 'backup', 'scratch namespace', 'restore', 'compare', 'cleanup', 'report'] as const;

const kindText = (k: KindComparison) =>
  `${k.kind} ${k.matching}/${k.backup}${k.missing.length ? `, missing ${k.missing.join(' ')}` : ''}${k.differing.length ? `, differing ${k.differing.join(' ')}` : ''}${k.extra.length ? `, extra ${k.extra.join(' ')}` : ''}`;
const comparisonText = (c: RestoreComparison) => c.kinds.map(kindText).join('; ') || 'nothing to compare';

/** FNV-1a, 8 hex digits: a deterministic short token of the workflow ID. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** `<namespace>-verify-<token>`, within the 63 characters of a namespace name. */
function scratchNamespaceFor(namespace: string, token: string): string {
  return `${namespace.slice(0, 63 - 16).replace(/-+$/, '')}-verify-${token}`;
}

export async function backupAndVerify(input: BackupAndVerifyInput = {}): Promise<BackupVerifyReport> {
  const progress = new ProgressTracker('backupAndVerify', STEPS);
  const opts = await progress.run('validate', async () =>
    parseInput('backupAndVerify', backupAndVerifyInputSchema, input),
  );
  const id = workflowInfo().workflowId;

  const backupWorkflowId = `${id}-backup`;
  const backup = await progress.run(
    'backup',
    () =>
      executeChild(backupPlatform, {
        workflowId: backupWorkflowId,
        args: [opts.backup],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
      }),
    (b) =>
      `${b.backupId}${b.backup.reused ? ' (reused)' : ''}: ${Object.entries(b.backup.counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
  );
  const report: BackupVerifyReport = {
    runbook: 'backupAndVerify',
    outcome: 'backed-up',
    backupId: backup.backupId,
    backup: {
      workflowId: backupWorkflowId,
      counts: backup.backup.counts,
      reused: backup.backup.reused,
      createdAt: backup.backup.createdAt,
      ...(backup.retention ? { retention: backup.retention } : {}),
    },
  };
  if (!opts.verify.enabled) {
    for (const step of ['scratch namespace', 'restore', 'compare', 'cleanup'] as const)
      progress.skip(step, 'verification disabled (verify.enabled false)');
    await progress.run(
      'report',
      async () => report,
      () => `backup ${backup.backupId}, not verified`,
    );
    return report;
  }

  const token = shortHash(id);
  const scratch = opts.verify.scratchNamespace ?? scratchNamespaceFor(opts.backup.namespace, token);
  const owner = `backup-verify-${token}`;
  const acts = longActs(opts.verify.timeoutSeconds);
  const restoreWorkflowId = `${id}-restore`;
  // The TaskRun CRD is cluster-scoped and in use: never restored here. The Helm release only on request
  // (restoring it starts the release's workloads in the scratch namespace).
  const include = {
    ...opts.backup.include,
    crds: false,
    helmReleases: opts.backup.include.helmReleases && opts.verify.helmRelease,
  };
  let comparison: RestoreComparison | undefined;
  let failed = false;
  try {
    await progress.run(
      'scratch namespace',
      () => kubeActs.prepareScratchNamespace({ name: scratch, owner }),
      (r) => `${r.name}${r.created ? ' created' : ' (exists, reused)'}`,
    );
    await progress.run(
      'restore',
      () =>
        executeChild(restorePlatform, {
          workflowId: restoreWorkflowId,
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          args: [
            {
              backupId: backup.backupId,
              targetNamespace: scratch,
              existing: 'skip',
              include,
              timeoutSeconds: opts.verify.timeoutSeconds,
            },
          ],
        }),
      (r) => r.restored.map((k) => `${k.kind} ${k.created + k.skipped + k.updated}`).join(', '),
    );
    comparison = await progress.run(
      'compare',
      async () => {
        const c = await acts.compareRestoredBackup({
          backupId: backup.backupId,
          include,
          targetNamespace: scratch,
          sourceNamespace: opts.backup.namespace,
          ...(opts.backup.labelSelector ? { labelSelector: opts.backup.labelSelector } : {}),
        });
        // An authenticated record next to the backup: retention never deletes the newest verified backup of a series.
        if (c.equal)
          await kubeActs.recordBackupVerified({
            backupId: backup.backupId,
            namespace: opts.backup.namespace,
            workflowId: id,
          });
        return c;
      },
      (c) => `${c.equal ? 'equal (verification recorded)' : 'DIFFERENT'}: ${comparisonText(c)}`,
    );
  } catch (err) {
    failed = true;
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: BACKUP_VERIFY_FAILED,
      nonRetryable: true,
      cause: err as Error,
      message: `backup ${backup.backupId} was written, but its test restore into ${scratch} failed: ${failureCause(err).message}`,
    });
  } finally {
    // Also when the workflow is cancelled; a cleanup error never hides the error that came first.
    await CancellationScope.nonCancellable(async () => {
      try {
        const cleanup = await progress.run(
          'cleanup',
          () => acts.deleteScratchNamespace({ name: scratch, owner, timeoutSeconds: opts.verify.timeoutSeconds }),
          (r) => (r.deleted ? `${r.name} deleted` : `${r.name} was not there`),
        );
        if (comparison)
          report.verification = {
            restoreWorkflowId,
            scratchNamespace: scratch,
            comparison,
            cleanup: { deleted: cleanup.deleted },
          };
      } catch (err) {
        if (!failed) throw err;
      }
    });
  }

  report.outcome = comparison.equal ? 'verified' : 'mismatch';
  return progress.run(
    'report',
    async () => {
      if (!comparison.equal) {
        throw ApplicationFailure.create({
          type: BACKUP_VERIFY_MISMATCH,
          nonRetryable: true,
          details: [report],
          message: `backup ${backup.backupId} was written, but its test restore into ${scratch} differs: ${comparisonText(comparison)}`,
        });
      }
      return report;
    },
    () => `backup ${backup.backupId} verified: ${comparisonText(comparison)}`,
  );
}
