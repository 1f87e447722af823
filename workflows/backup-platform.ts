// backupPlatform: the guide's nightly backup script as a runbook. Plan (counts, read-only), then
// snapshot the PVCs where a VolumeSnapshotClass exists (names from the backup id: a re-run creates
// none twice), capture and write one directory per backup (id = the workflow ID, so a re-run reuses
// it), then retention. Secrets are age-encrypted by the activity; no value ever enters history.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { backupPlatformInputSchema, type BackupPlatformInput, type BackupReport } from '../contract/types/backup.ts';

const STEPS = ['validate', 'plan', 'snapshots', 'capture', 'retention', 'report'] as const;

/** Set by the Temporal server on every workflow a Schedule starts: the schedule's id. */
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);
/** The time a Schedule (`<scheduleId>-2026-11-28T02:00:00Z`) or the runbook CLI (`<runbook>-2026-11-28T02-00-00-000Z`) appends to a workflow ID. */
const TIME_SUFFIX = /-\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2}(?:[.-]\d+)?Z$/;

/**
 * The series this backup belongs to (with its namespace; retention acts on one series only): the
 * schedule's id for a scheduled run; for a child workflow (backupAndVerify's, upgradePlatform's pre-upgrade
 * backup) the parent's workflow ID without the time a Schedule or the CLI appended to it (so the schedule's
 * id, or the parent runbook's name), else the parent's full ID (a series of its own); else its own ID without
 * such a time, or the runbook name.
 */
export function backupSeries(): string {
  const info = workflowInfo();
  let scheduledBy: string | undefined;
  try {
    scheduledBy = info.typedSearchAttributes.get(SCHEDULED_BY);
  } catch {
    /* not a Keyword: fall back to the untyped attributes */
  }
  scheduledBy ??= (info.searchAttributes?.TemporalScheduledById as string[] | undefined)?.[0];
  if (typeof scheduledBy === 'string' && scheduledBy) return scheduledBy;
  if (info.parent) return info.parent.workflowId.replace(TIME_SUFFIX, '') || info.parent.workflowId;
  // A Schedule's run whose search attributes did not come through still carries the schedule's id in its own.
  const stem = info.workflowId.replace(TIME_SUFFIX, '');
  return stem && stem !== info.workflowId ? stem : 'backupPlatform';
}

const countsText = (counts: Record<string, number | undefined>) =>
  Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export async function backupPlatform(input: BackupPlatformInput = {}): Promise<BackupReport> {
  const progress = new ProgressTracker('backupPlatform', STEPS);
  const opts = await progress.run('validate', async () =>
    parseInput('backupPlatform', backupPlatformInputSchema, input),
  );
  const scope = {
    namespace: opts.namespace,
    include: opts.include,
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
  };
  const acts = longActs(opts.timeoutSeconds);

  const classInput = opts.volumeSnapshotClass ? { volumeSnapshotClass: opts.volumeSnapshotClass } : {};
  const plan = await progress.run(
    'plan',
    () => acts.planBackup({ ...scope, release: opts.release, ...classInput }),
    (p) =>
      `${countsText(p.counts)}; PVCs: ${p.volumeSnapshots.pvcs}${p.volumeSnapshots.skippedReason ? ` skipped (${p.volumeSnapshots.skippedReason})` : ''}`,
  );

  let volumeSnapshots = plan.volumeSnapshots;
  const snapshotClass = volumeSnapshots.volumeSnapshotClass;
  if (volumeSnapshots.skippedReason || !snapshotClass) {
    progress.skip('snapshots', volumeSnapshots.skippedReason ?? 'no VolumeSnapshotClass');
  } else {
    volumeSnapshots = await progress.run(
      'snapshots',
      () =>
        acts.snapshotVolumes({
          workflowId: workflowInfo().workflowId,
          namespace: opts.namespace,
          volumeSnapshotClass: snapshotClass,
          timeoutSeconds: opts.timeoutSeconds,
        }),
      (v) =>
        `${v.snapshotted} of ${v.pvcs} PVCs snapshotted with ${snapshotClass}${v.skippedPvcs?.length ? `; skipped: ${v.skippedPvcs.map((p) => `${p.pvc} (${p.reason})`).join(', ')}` : ''}`,
    );
  }

  const backup = await progress.run(
    'capture',
    () =>
      acts.writeBackup({
        ...scope,
        workflowId: workflowInfo().workflowId,
        series: backupSeries(),
        release: opts.release,
        recipients: opts.recipients,
        ...(opts.recipientsFrom ? { recipientsFrom: opts.recipientsFrom } : {}),
        volumeSnapshots,
      }),
    (b) => `${b.id}${b.reused ? ' (already written: reused)' : ''}: ${countsText(b.counts)}, ${b.bytes} bytes`,
  );

  const report: BackupReport = { runbook: 'backupPlatform', backupId: backup.id, plan, volumeSnapshots, backup };
  if (opts.retention && (opts.retention.keepLast !== undefined || opts.retention.maxAgeDays !== undefined)) {
    report.retention = await progress.run(
      'retention',
      () => kubeActs.applyBackupRetention({ policy: opts.retention!, protect: backup.id, namespace: opts.namespace }),
      (r) =>
        `${r.series !== undefined ? `series ${r.series} in ${opts.namespace}: ` : 'no series in the manifest, nothing deleted: '}${r.deleted.length} deleted, ${r.kept.length} kept${r.volumeSnapshotsDeleted?.length ? `, ${r.volumeSnapshotsDeleted.length} VolumeSnapshots deleted` : ''}`,
    );
  } else {
    progress.skip('retention', 'no retention policy in the input');
  }
  await progress.run(
    'report',
    async () => report,
    () => `backup ${backup.id}`,
  );
  return report;
}
