// `npm run bench -- backup [--taskruns N] [--runs R]`: backupPlatform against the operations guide's
// script (bench/baselines/backup-platform.sh) on the same cluster with N TaskRuns (default 10,000),
// alternating, R runs each (default 3). Prints one JSON line last: medians and the ratios (targets:
// time <= 0.3x and bytes <= 0.5x the script's), the worker's peak RSS during a backup (VmHWM of the
// worker process, reset before each; target <= 400 MB), the largest payload in the backups' histories
// (target <= 256 KB), and the machine's load averages before and after (the machine is shared).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { toolPath } from '../scripts/stack/tools.ts';
import { kubeCacheDir } from '../scripts/stack/local-cluster.ts';
import type { BackupReport } from '../contract/types/backup.ts';
import { loadAverages, log, median, seedPlatform, startBenchStack, timed } from './backup-fixture.ts';

const { values } = parseArgs({
  options: { taskruns: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' } },
});
const taskRuns = Number(values.taskruns);
const runs = Number(values.runs);
const script = fileURLToPath(new URL('./baselines/backup-platform.sh', import.meta.url));
const namespace = 'orchestrator';

const dirBytes = (dir: string): number => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

const stack = await startBenchStack();
// Printed after the stack stopped: whatever it logs while stopping comes before the JSON line.
let resultLine: string | undefined;
try {
  await seedPlatform(stack, namespace, taskRuns);
  const loadBefore = loadAverages();
  const scriptTimes: number[] = [];
  const ourTimes: number[] = [];
  let scriptBytes = 0;
  let ourBytes = 0;
  let peakRssBytes = 0;
  let maxPayloadBytes = 0;
  for (let r = 0; r < runs; r++) {
    const out = join(stack.dir, `script-${r}`);
    const s = await timed(() =>
      execa('bash', [script], {
        env: {
          BACKUP_DIR: out,
          NAMESPACE: namespace,
          KUBECONFIG: stack.kubeconfigPath,
          KUBECACHEDIR: kubeCacheDir(stack.kubeconfigPath),
          KUBECTL: toolPath('kubectl'),
          HELM: toolPath('helm'),
        },
      }),
    );
    scriptTimes.push(s.seconds);
    scriptBytes = dirBytes(out);
    const workflowId = `backup-bench-${r + 1}-${Date.now()}`;
    stack.worker.resetPeakRss();
    const rssBefore = stack.worker.rssBytes();
    const o = await timed(() =>
      stack.execute<BackupReport>('backupPlatform', { namespace, recipients: [stack.recipient] }, workflowId),
    );
    const rss = stack.worker.peakRssBytes();
    const payload = await stack.maxPayloadBytes(workflowId);
    peakRssBytes = Math.max(peakRssBytes, rss);
    maxPayloadBytes = Math.max(maxPayloadBytes, payload);
    ourTimes.push(o.seconds);
    ourBytes = dirBytes(o.result.backup.dir);
    log(
      `run ${r + 1}: script ${s.seconds.toFixed(2)} s ${scriptBytes} B; backupPlatform ${o.seconds.toFixed(2)} s ${ourBytes} B (${JSON.stringify(o.result.backup.counts)}), worker peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB (${(rssBefore / 2 ** 20).toFixed(0)} MiB before), largest payload ${payload} B; load ${loadAverages().join(' ')}`,
    );
  }
  const result = {
    bench: 'backup',
    taskRuns,
    runs,
    scriptSeconds: +median(scriptTimes).toFixed(3),
    backupSeconds: +median(ourTimes).toFixed(3),
    scriptBytes,
    backupBytes: ourBytes,
    timeRatio: +(median(ourTimes) / median(scriptTimes)).toFixed(3),
    bytesRatio: +(ourBytes / scriptBytes).toFixed(3),
    peakRssBytes,
    maxPayloadBytes,
    loadBefore,
    loadAfter: loadAverages(),
    targets: { timeRatio: 0.3, bytesRatio: 0.5, peakRssBytes: 400 * 2 ** 20, maxPayloadBytes: 256 * 1024 },
  };
  resultLine = JSON.stringify(result);
} finally {
  await stack.close();
}
if (resultLine) console.log(resultLine);
