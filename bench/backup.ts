// `npm run bench -- backup [--taskruns N] [--runs R]`: backupPlatform against the operations guide's
// script (bench/baselines/backup-platform.sh) on the same cluster with N TaskRuns (default 10,000),
// alternating, R runs each (default 3). Prints one JSON line last: medians and the ratios
// (targets: time and bytes <= 0.5x the script's).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { toolPath } from '../scripts/stack/tools.ts';
import { kubeCacheDir } from '../scripts/stack/local-cluster.ts';
import type { BackupReport } from '../contract/types/backup.ts';
import { log, median, seedPlatform, startBenchStack, timed } from './backup-fixture.ts';

const { values } = parseArgs({
  options: { taskruns: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' } },
});
const taskRuns = Number(values.taskruns);
const runs = Number(values.runs);
const script = fileURLToPath(new URL('./baselines/backup-platform.sh', import.meta.url));
const namespace = 'orchestrator';

const dirBytes = (dir: string): number => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

const stack = await startBenchStack();
try {
  await seedPlatform(stack, namespace, taskRuns);
  const scriptTimes: number[] = [];
  const ourTimes: number[] = [];
  let scriptBytes = 0;
  let ourBytes = 0;
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
    const o = await timed(() =>
      stack.execute<BackupReport>('backupPlatform', { namespace, recipients: [stack.recipient] }),
    );
    ourTimes.push(o.seconds);
    ourBytes = dirBytes(o.result.backup.dir);
    log(
      `run ${r + 1}: script ${s.seconds.toFixed(2)} s ${scriptBytes} B; backupPlatform ${o.seconds.toFixed(2)} s ${ourBytes} B (${JSON.stringify(o.result.backup.counts)})`,
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
  };
  console.log(JSON.stringify(result));
} finally {
  await stack.close();
}
