// `npm run bench -- restore [--taskruns N]`: restorePlatform of a backup with N TaskRuns (default
// 10,000, the issue's size; about 4 minutes, mostly kubectl) plus the platform objects into an empty
// namespace, against `kubectl apply -f` of the same objects into another empty namespace (and
// `kubectl apply --server-side`, for orientation), in the same run. Prints one JSON line last
// (target: restore <= 0.5x kubectl apply). Measured here: 10,000 -> 0.32x (31 s vs 97 s); 2,000 ->
// 0.50-0.56x. Ours writes twice per TaskRun (object, then status) at about 3 ms a TaskRun; kubectl
// applies one object at a time, 7.5 ms each at 2,000 and 9.7 ms at 10,000.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ageDecrypt } from '../activities/backup/age.ts';
import { decodeJsonLines } from '../activities/backup/codec.ts';
import type { Manifest } from '../activities/backup/manifest.ts';
import type { BackupReport, RestoreReport } from '../contract/types/backup.ts';
import { progressQuery, type Step } from '../contract/messages.ts';
import { log, seedPlatform, startBenchStack, timed } from './backup-fixture.ts';

const { values } = parseArgs({ options: { taskruns: { type: 'string', default: '10000' } } });
const taskRuns = Number(values.taskruns);
const source = 'orchestrator';

const stack = await startBenchStack();
try {
  await seedPlatform(stack, source, taskRuns);
  const backup = await stack.execute<BackupReport>('backupPlatform', {
    namespace: source,
    recipients: [stack.recipient],
  });

  // The same objects as the backup holds (decrypted), as one YAML file per target namespace.
  const manifest = JSON.parse(readFileSync(join(backup.backup.dir, 'manifest.json'), 'utf8')) as Manifest;
  const objects: { metadata: Record<string, unknown> }[] = [];
  for (const f of manifest.files.filter((x) => x.kind !== 'crds')) {
    let data: Uint8Array = readFileSync(join(backup.backup.dir, f.file));
    if (f.encrypted) data = await ageDecrypt(data, process.env.RUNBOOK_BACKUP_AGE_IDENTITY!, f.file);
    objects.push(...decodeJsonLines<{ metadata: Record<string, unknown> }>(data));
  }
  const applyFile = (ns: string) => {
    const file = join(stack.dir, `${ns}.yaml`);
    writeFileSync(
      file,
      objects.map((o) => stringify({ ...o, metadata: { ...o.metadata, namespace: ns } })).join('---\n'),
      { mode: 0o600 },
    );
    return file;
  };
  const kubectlApply = async (ns: string, extra: string[]) => {
    const file = applyFile(ns);
    await stack.kubectl(['create', 'namespace', ns]);
    const t = await timed(() => stack.kubectl(['apply', ...extra, '-f', file]));
    rmSync(file);
    return t.seconds;
  };

  const kubectlSeconds = await kubectlApply('kubectl-target', []);
  log(`kubectl apply -f: ${objects.length} objects in ${kubectlSeconds.toFixed(2)} s`);
  const ssaSeconds = await kubectlApply('kubectl-ssa-target', ['--server-side']);
  log(`kubectl apply --server-side -f: ${ssaSeconds.toFixed(2)} s`);
  const workflowId = `restore-bench-${Date.now()}`;
  const cpuBefore = process.cpuUsage();
  const ours = await timed(
    async () =>
      (await stack.client.workflow.execute('restorePlatform', {
        taskQueue: stack.taskQueue,
        workflowId,
        args: [{ backupId: backup.backupId, targetNamespace: 'restore-target' }],
      })) as RestoreReport,
  );
  // Retried activities distort the time: say so.
  for (const e of (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const started = e.activityTaskStartedEventAttributes;
    if (started?.attempt && started.attempt > 1)
      log(`an activity ran ${started.attempt} attempts; last failure: ${started.lastFailure?.message ?? '?'}`);
  }
  const cpu = process.cpuUsage(cpuBefore);
  log(`restorePlatform: CPU of this process (worker + activities) ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
  log(
    `restorePlatform: ${ours.seconds.toFixed(2)} s (${ours.result.restored.map((r) => `${r.kind} ${r.created}+${r.skipped}`).join(', ')})`,
  );
  const steps = (await stack.client.workflow.getHandle(workflowId).query(progressQuery)).steps;
  const ms = (s: Step) => (s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : 0);
  log(
    `restorePlatform steps (ms): ${steps
      .filter((s) => s.status === 'succeeded')
      .map((s) => `${s.name} ${ms(s)}`)
      .join(', ')}`,
  );
  const restoredTaskRuns = ours.result.verify?.find((v) => v.kind === 'taskRuns')?.found ?? 0;

  console.log(
    JSON.stringify({
      bench: 'restore',
      taskRuns,
      objects: objects.length,
      restoredTaskRuns,
      restoreSeconds: +ours.seconds.toFixed(3),
      kubectlApplySeconds: +kubectlSeconds.toFixed(3),
      kubectlServerSideSeconds: +ssaSeconds.toFixed(3),
      ratio: +(ours.seconds / kubectlSeconds).toFixed(3),
      ratioServerSide: +(ours.seconds / ssaSeconds).toFixed(3),
    }),
  );
} finally {
  await stack.close();
}
