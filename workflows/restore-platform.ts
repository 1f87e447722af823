// restorePlatform: the guide's seven manual restore steps as a runbook. Verify everything first (HMAC,
// checksums, decryption) so a bad backup is refused before any write; then restore in dependency order:
// namespace -> CRD (wait Established) -> Secrets -> ConfigMaps -> PVCs from VolumeSnapshots -> Helm
// release records -> the release's objects (its deployed manifest, applied as Helm would) -> TaskRuns
// (with status) -> verify counts. dryRun stops after the plan.
import { ApplicationFailure } from '@temporalio/workflow';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { RESTORE_INCOMPLETE } from '../contract/failures.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { withMaintenanceLease } from './maintenance-lease/acquire.ts';
import { leaseText } from './maintenance-lease/inherit.ts';
import {
  restorePlatformInputSchema,
  type HelmObjectsResult,
  type KindRestoreResult,
  type RestorePlan,
  type RestorePlatformInput,
  type RestorePlatformOptions,
  type RestoreReport,
  type VolumesResult,
} from '../contract/types/backup.ts';

/** The restore steps after the namespace, in dependency order: the kinds, PVCs (volumes) and the Helm release's objects. */
const RESTORE_STEPS = ['crds', 'secrets', 'configMaps', 'volumes', 'helmReleases', 'helmObjects', 'taskRuns'] as const;
const STEPS = ['validate', 'verify', 'plan', 'lease', 'namespace', ...RESTORE_STEPS, 'check', 'report'] as const;
const helmObjectsText = (r: HelmObjectsResult) =>
  `${r.releases.map((x) => `${x.name} revision ${x.revision}`).join(', ')}: ${r.created} created, ${r.updated} updated, ${r.skipped} skipped${r.adopted ? ` (${r.adopted} restored with their kind, handed to Helm)` : ''}`;
const volumesText = (r: VolumesResult) =>
  `${r.created.length} PVCs created from snapshots, ${r.skipped.length} exist${r.unavailable.length ? `; not restorable: ${r.unavailable.map((u) => `${u.pvc} (${u.reason})`).join(', ')}` : ''}`;
const planText = (p: RestorePlan) =>
  [
    ...p.kinds.map((k) => `${k.kind} ${k.total} (${k.existing} exist)`),
    ...(p.helmObjects ? [`helm objects ${p.helmObjects.total} (${p.helmObjects.existing} exist)`] : []),
    ...(p.volumes
      ? [
          `PVCs from snapshots ${p.volumes.total - p.volumes.existing - p.volumes.unavailable.length} (${p.volumes.existing} exist, ${p.volumes.unavailable.length} snapshots gone)`,
        ]
      : []),
  ].join(', ');

const resultText = (r: KindRestoreResult) =>
  `${r.created} created, ${r.updated} updated, ${r.skipped} skipped${r.statusRestored !== undefined ? `, ${r.statusRestored} statuses` : ''}${
    r.notUpdated?.length ? `; not updated: ${r.notUpdated.map((n) => `${n.name} (${n.reason})`).join(', ')}` : ''
  }`;

export async function restorePlatform(input: RestorePlatformInput): Promise<RestoreReport> {
  const progress = new ProgressTracker('restorePlatform', STEPS);
  const opts = await progress.run('validate', async () =>
    parseInput('restorePlatform', restorePlatformInputSchema, input),
  );
  const acts = longActs(opts.timeoutSeconds);
  const ref = { backupId: opts.backupId, include: opts.include };

  const verified = await progress.run(
    'verify',
    () => acts.verifyBackup(ref),
    (v) => `${v.filesVerified} files verified (backup of ${v.sourceNamespace}, ${v.createdAt})`,
  );
  const plan = await progress.run(
    'plan',
    () =>
      acts.planRestore({
        ...ref,
        existing: opts.existing,
        ...(opts.targetNamespace ? { targetNamespace: opts.targetNamespace } : {}),
      }),
    (p) => `into ${p.targetNamespace}: ${planText(p)}`,
  );
  const report: RestoreReport = {
    runbook: 'restorePlatform',
    backupId: opts.backupId,
    dryRun: opts.dryRun,
    verified,
    plan,
    restored: [],
  };
  if (opts.dryRun) {
    for (const step of STEPS.slice(3, -1)) progress.skip(step, 'dry run');
    await progress.run(
      'report',
      async () => report,
      () => 'dry run: nothing changed',
    );
    return report;
  }

  // A restore into the live (backed-up) namespace changes the platform: it holds the maintenance lease.
  const restore = () => restoreInto(opts, acts, ref, plan, report, progress);
  if (plan.targetNamespace !== verified.sourceNamespace) {
    progress.skip('lease', `${plan.targetNamespace} is not the backed-up (live) namespace ${verified.sourceNamespace}`);
    return restore();
  }
  return withMaintenanceLease(
    'restorePlatform',
    opts.lease,
    { onWait: (text) => progress.note(text) },
    async (lease) => {
      await progress.run('lease', async () => lease, leaseText);
      return restore();
    },
  );
}

async function restoreInto(
  opts: RestorePlatformOptions,
  acts: ReturnType<typeof longActs>,
  ref: { backupId: string; include: RestorePlatformOptions['include'] },
  plan: RestorePlan,
  report: RestoreReport,
  progress: ProgressTracker,
): Promise<RestoreReport> {
  const target = plan.targetNamespace;
  await progress.run(
    'namespace',
    () => kubeActs.ensureNamespaces([target]),
    () => target,
  );
  const planned = new Set(plan.kinds.map((k) => k.kind));
  for (const kind of RESTORE_STEPS) {
    if (kind === 'volumes') {
      if (!plan.volumes) progress.skip(kind, 'no VolumeSnapshots in the backup');
      else
        report.volumes = await progress.run(
          kind,
          () => acts.restoreVolumes({ ...ref, targetNamespace: target }),
          volumesText,
        );
      continue;
    }
    if (kind === 'helmObjects') {
      if (!planned.has('helmReleases') || !plan.helmObjects?.total)
        progress.skip(
          kind,
          planned.has('helmReleases')
            ? 'no deployed revision with objects'
            : 'no Helm release in the backup, or excluded',
        );
      else
        report.helmObjects = await progress.run(
          kind,
          () => acts.restoreHelmObjects({ ...ref, targetNamespace: target, existing: opts.existing }),
          helmObjectsText,
        );
      continue;
    }
    if (!planned.has(kind)) {
      progress.skip(kind, 'not in the backup, or excluded');
      continue;
    }
    const result = await progress.run(
      kind,
      async () => {
        const r = await acts.restoreKind({ ...ref, kind, targetNamespace: target, existing: opts.existing });
        if (kind === 'crds')
          await acts.waitCrdsEstablished({ names: ['taskruns.orchestrator.io'], timeoutSeconds: 60 });
        return r;
      },
      resultText,
    );
    report.restored.push(result);
  }

  report.verify = await progress.run(
    'check',
    async () => {
      const counts = await acts.countRestored({ ...ref, targetNamespace: target });
      const missing = counts.filter((c) => c.found < c.expected);
      if (missing.length) {
        throw ApplicationFailure.create({
          type: RESTORE_INCOMPLETE,
          nonRetryable: true,
          message: `restore incomplete: ${missing.map((m) => `${m.kind} ${m.found}/${m.expected}`).join(', ')}`,
        });
      }
      return counts;
    },
    (c) => c.map((k) => `${k.kind} ${k.found}/${k.expected}`).join(', '),
  );
  await progress.run(
    'report',
    async () => report,
    () => `restored ${opts.backupId} into ${target}`,
  );
  return report;
}
