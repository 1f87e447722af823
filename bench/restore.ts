// `npm run bench -- restore [--taskruns N] [--runs R]`: restorePlatform of a backup with N TaskRuns (default
// 10,000, the issue's size) plus the platform objects into an empty namespace, against `kubectl apply -f` of
// the same objects into another empty namespace and `kubectl apply --server-side`, alternating, R runs each
// (default 3; every run into fresh namespaces). Prints one JSON line last: medians and ratios (targets:
// restore <= 0.4x kubectl apply and <= 0.6x kubectl apply --server-side), the worker's peak RSS during a
// restore (VmHWM of the worker process, reset before each; target <= 400 MB), the largest payload in the
// restores' histories (target <= 256 KB), and the machine's load averages (the machine is shared).
// Ours writes twice per TaskRun (the object, marked restored-from, then its status);
// kubectl applies one object at a time. `npm run bench -- restore-steps` times those writes one by one.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ageDecrypt } from '../activities/backup/age.ts';
import { decodeJsonLines } from '../activities/backup/codec.ts';
import type { Manifest } from '../activities/backup/manifest.ts';
import type { BackupReport, RestoreReport } from '../contract/types/backup.ts';
import { progressQuery, type Step } from '../contract/messages.ts';
import { loadAverages, log, median, seedPlatform, startBenchStack, timed } from './backup-fixture.ts';

const { values } = parseArgs({
  options: {
    taskruns: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    // none: restorePlatform alone (no ratios), for sizes where kubectl apply takes too long to wait for.
    baselines: { type: 'string', default: 'kubectl' },
  },
});
const taskRuns = Number(values.taskruns);
const runs = Number(values.runs);
const source = 'orchestrator';

const stack = await startBenchStack();
// Printed after the stack stopped: whatever it logs while stopping comes before the JSON line.
let resultLine: string | undefined;
try {
  await seedPlatform(stack, source, taskRuns);
  // The backup restored, measured as the backup bench measures it (its time, the worker's peak RSS, the largest payload).
  const backupId = `backup-for-restore-${Date.now()}`;
  stack.worker.resetPeakRss();
  const taken = await timed(() =>
    stack.execute<BackupReport>('backupPlatform', { namespace: source, recipients: [stack.recipient] }, backupId),
  );
  const backup = taken.result;
  const backupRun = {
    seconds: +taken.seconds.toFixed(3),
    peakRssBytes: stack.worker.peakRssBytes(),
    maxPayloadBytes: await stack.maxPayloadBytes(backupId),
  };
  log(`backupPlatform: ${JSON.stringify(backupRun)}; load ${loadAverages().join(' ')}`);

  // The same objects as the backup holds (decrypted), as one YAML file per target namespace.
  const manifest = JSON.parse(readFileSync(join(backup.backup.dir, 'manifest.json'), 'utf8')) as Manifest;
  const objects: { metadata: Record<string, unknown> }[] = [];
  for (const f of manifest.files.filter((x) => x.kind !== 'crds')) {
    let data: Uint8Array = readFileSync(join(backup.backup.dir, f.file));
    if (f.encrypted) data = await ageDecrypt(data, process.env.RUNBOOK_BACKUP_AGE_IDENTITY!, f.file);
    objects.push(...decodeJsonLines<{ metadata: Record<string, unknown> }>(data));
  }
  const kubectlApply = async (ns: string, extra: string[]) => {
    const file = join(stack.dir, `${ns}.yaml`);
    writeFileSync(
      file,
      objects.map((o) => stringify({ ...o, metadata: { ...o.metadata, namespace: ns } })).join('---\n'),
      { mode: 0o600 },
    );
    await stack.kubectl(['create', 'namespace', ns]);
    const t = await timed(() => stack.kubectl(['apply', ...extra, '-f', file]));
    rmSync(file);
    return t.seconds;
  };

  const kubectlTimes: number[] = [];
  const ssaTimes: number[] = [];
  const ourTimes: number[] = [];
  let peakRssBytes = 0;
  let maxPayloadBytes = 0;
  let restoredTaskRuns = 0;
  const loadBefore = loadAverages();
  for (let r = 1; r <= runs; r++) {
    if (values.baselines !== 'none') {
      kubectlTimes.push(await kubectlApply(`kubectl-target-${r}`, []));
      log(`run ${r}: kubectl apply -f: ${objects.length} objects in ${kubectlTimes.at(-1)!.toFixed(2)} s`);
      ssaTimes.push(await kubectlApply(`kubectl-ssa-target-${r}`, ['--server-side']));
      log(`run ${r}: kubectl apply --server-side -f: ${ssaTimes.at(-1)!.toFixed(2)} s`);
    }

    const workflowId = `restore-bench-${r}-${Date.now()}`;
    const cpuBefore = stack.worker.cpuSeconds();
    stack.worker.resetPeakRss();
    const rssBefore = stack.worker.rssBytes();
    const ours = await timed(() =>
      stack.execute<RestoreReport>(
        'restorePlatform',
        { backupId: backup.backupId, targetNamespace: `restore-target-${r}` },
        workflowId,
      ),
    );
    const rss = stack.worker.peakRssBytes();
    const cpu = stack.worker.cpuSeconds() - cpuBefore;
    ourTimes.push(ours.seconds);
    // Retried activities distort the time: say so.
    for (const e of (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
      const started = e.activityTaskStartedEventAttributes;
      if (started?.attempt && started.attempt > 1)
        log(`an activity ran ${started.attempt} attempts; last failure: ${started.lastFailure?.message ?? '?'}`);
    }
    const payload = await stack.maxPayloadBytes(workflowId);
    peakRssBytes = Math.max(peakRssBytes, rss);
    maxPayloadBytes = Math.max(maxPayloadBytes, payload);
    restoredTaskRuns = ours.result.verify?.find((v) => v.kind === 'taskRuns')?.found ?? 0;
    const steps = (await stack.client.workflow.getHandle(workflowId).query(progressQuery)).steps;
    const ms = (s: Step) => (s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : 0);
    log(
      `run ${r}: restorePlatform ${ours.seconds.toFixed(2)} s (${ours.result.restored.map((x) => `${x.kind} ${x.created}+${x.skipped}`).join(', ')}); worker CPU ${cpu.toFixed(2)} s, peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB (${(rssBefore / 2 ** 20).toFixed(0)} MiB before), largest payload ${payload} B; load ${loadAverages().join(' ')}`,
    );
    log(
      `run ${r}: restorePlatform steps (ms): ${steps
        .filter((s) => s.status === 'succeeded')
        .map((s) => `${s.name} ${ms(s)}`)
        .join(', ')}`,
    );
  }

  const ourMedian = median(ourTimes);
  const [kubectlMedian, ssaMedian] =
    values.baselines === 'none' ? [NaN, NaN] : [median(kubectlTimes), median(ssaTimes)];
  resultLine = JSON.stringify({
    bench: 'restore',
    taskRuns,
    runs,
    objects: objects.length,
    restoredTaskRuns,
    restoreSeconds: +ourMedian.toFixed(3),
    kubectlApplySeconds: +kubectlMedian.toFixed(3),
    kubectlServerSideSeconds: +ssaMedian.toFixed(3),
    ratio: +(ourMedian / kubectlMedian).toFixed(3),
    ratioServerSide: +(ourMedian / ssaMedian).toFixed(3),
    restoreTimes: ourTimes.map((t) => +t.toFixed(2)),
    kubectlApplyTimes: kubectlTimes.map((t) => +t.toFixed(2)),
    kubectlServerSideTimes: ssaTimes.map((t) => +t.toFixed(2)),
    peakRssBytes,
    maxPayloadBytes,
    backup: backupRun,
    loadBefore,
    loadAfter: loadAverages(),
    targets: { ratio: 0.4, ratioServerSide: 0.6, peakRssBytes: 400 * 2 ** 20, maxPayloadBytes: 256 * 1024 },
  });
} finally {
  await stack.close();
}
if (resultLine) console.log(resultLine);
