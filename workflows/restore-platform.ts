// restorePlatform: the guide's seven manual restore steps as a runbook. Verify everything first (HMAC,
// checksums, decryption) so a bad backup is refused before any write; then restore in dependency order:
// namespace -> CRD (wait Established) -> Secrets -> ConfigMaps -> Helm release records -> TaskRuns
// (with status) -> verify counts. dryRun stops after the plan.
import { ApplicationFailure } from '@temporalio/workflow';
import { ProgressTracker } from './progress.ts';
import { parseInput } from './validate.ts';
import { kubeActs, longActs } from './activity-proxies.ts';
import { restorePlatformInputSchema, type BackupKind, type KindRestoreResult, type RestorePlatformInput, type RestoreReport } from './types/backup.ts';

const KIND_STEPS: BackupKind[] = ['crds', 'secrets', 'configMaps', 'helmReleases', 'taskRuns'];
const STEPS = ['validate', 'verify', 'plan', 'namespace', ...KIND_STEPS, 'check', 'report'] as const;
/** The restored objects do not match the backup's counts. */
export const RESTORE_INCOMPLETE = 'RestoreIncomplete';

const resultText = (r: KindRestoreResult) => `${r.created} created, ${r.updated} updated, ${r.skipped} skipped${r.statusRestored !== undefined ? `, ${r.statusRestored} statuses` : ''}`;

export async function restorePlatform(input: RestorePlatformInput): Promise<RestoreReport> {
  const progress = new ProgressTracker('restorePlatform', STEPS);
  const opts = await progress.run('validate', async () => parseInput('restorePlatform', restorePlatformInputSchema, input));
  const acts = longActs(opts.timeoutSeconds);
  const ref = { backupId: opts.backupId, hmacKey: opts.hmacKey, identity: opts.identity, include: opts.include };

  const verified = await progress.run('verify', () => acts.verifyBackup(ref), (v) => `${v.filesVerified} files verified (backup of ${v.sourceNamespace}, ${v.createdAt})`);
  const plan = await progress.run('plan', () => acts.planRestore({ ...ref, existing: opts.existing, ...(opts.targetNamespace ? { targetNamespace: opts.targetNamespace } : {}) }),
    (p) => `into ${p.targetNamespace}: ${p.kinds.map((k) => `${k.kind} ${k.total} (${k.existing} exist)`).join(', ')}`);
  const report: RestoreReport = { runbook: 'restorePlatform', backupId: opts.backupId, dryRun: opts.dryRun, verified, plan, restored: [] };
  if (opts.dryRun) {
    for (const step of STEPS.slice(3, -1)) progress.skip(step, 'dry run');
    await progress.run('report', async () => report, () => 'dry run: nothing changed');
    return report;
  }

  const target = plan.targetNamespace;
  await progress.run('namespace', () => kubeActs.ensureNamespaces([target]), () => target);
  const planned = new Set(plan.kinds.map((k) => k.kind));
  for (const kind of KIND_STEPS) {
    if (!planned.has(kind)) {
      progress.skip(kind, 'not in the backup, or excluded');
      continue;
    }
    const result = await progress.run(kind, async () => {
      const r = await acts.restoreKind({ ...ref, kind, targetNamespace: target, existing: opts.existing });
      if (kind === 'crds') await acts.waitCrdsEstablished({ names: ['taskruns.orchestrator.io'], timeoutSeconds: 60 });
      return r;
    }, resultText);
    report.restored.push(result);
  }

  report.verify = await progress.run('check', async () => {
    const counts = await acts.countRestored({ ...ref, targetNamespace: target });
    const missing = counts.filter((c) => c.found < c.expected);
    if (missing.length) {
      throw ApplicationFailure.create({ type: RESTORE_INCOMPLETE, nonRetryable: true, message: `restore incomplete: ${missing.map((m) => `${m.kind} ${m.found}/${m.expected}`).join(', ')}` });
    }
    return counts;
  }, (c) => c.map((k) => `${k.kind} ${k.found}/${k.expected}`).join(', '));
  await progress.run('report', async () => report, () => `restored ${opts.backupId} into ${target}`);
  return report;
}
