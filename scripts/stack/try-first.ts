// What `npm start` prints after the Web UI's URL: the first three runbooks to try, as commands that
// work exactly as printed (the README's `npm run runbook -- start ...` form). The CLI reads the same
// TEMPORAL_ADDRESS and RUNBOOK_TASK_QUEUE as the worker, so a stack on other ports or another task
// queue prints them in front of each command.

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';
import { DEFAULT_TASK_QUEUE } from '../../contract/task-queue.ts';

export interface TryFirstOptions {
  /** The dev server's frontend, host:port. */
  temporalAddress: string;
  uiUrl: string;
  taskQueue: string;
}

export interface TryFirstCommand {
  /** What it shows. */
  what: string;
  /** The runbook started. */
  runbook: 'deployPlatform' | 'platformHealth' | 'upgradePlatform';
  /** Its input, as the command passes it (undefined: the CLI's default {}). */
  input?: Record<string, unknown>;
  /** The shell command, exactly as printed. */
  command: string;
}

/** The environment the CLI needs to reach this stack, e.g. `TEMPORAL_ADDRESS=127.0.0.1:7300 ` ('' on the defaults). */
export function cliEnvPrefix(opts: TryFirstOptions): string {
  const env: string[] = [];
  if (opts.temporalAddress !== DEFAULT_TEMPORAL_ADDRESS) env.push(`TEMPORAL_ADDRESS=${opts.temporalAddress}`);
  if (opts.uiUrl !== DEFAULT_TEMPORAL_UI) env.push(`TEMPORAL_UI=${opts.uiUrl}`);
  if (opts.taskQueue !== DEFAULT_TASK_QUEUE) env.push(`RUNBOOK_TASK_QUEUE=${shellWord(opts.taskQueue)}`);
  return env.map((e) => `${e} `).join('');
}

/** Deploy the platform, check its health, upgrade it to a new image tag: in that order. */
export function tryFirstCommands(opts: TryFirstOptions): TryFirstCommand[] {
  const prefix = cliEnvPrefix(opts);
  const cmd = (runbook: TryFirstCommand['runbook'], input?: Record<string, unknown>) =>
    `${prefix}npm run runbook -- start ${runbook}${input ? ` --input '${JSON.stringify(input)}'` : ''}`;
  const upgrade = { imageTag: '1.1.0' };
  return [
    {
      what: 'deploy the platform (namespace orchestrator, chart charts/orchestrator)',
      runbook: 'deployPlatform',
      command: cmd('deployPlatform'),
    },
    {
      what: 'check its health (nodes, pods, TaskRuns, /health)',
      runbook: 'platformHealth',
      command: cmd('platformHealth'),
    },
    {
      what: 'upgrade it to a new image tag (backup, helm upgrade, rollout, smoke test)',
      runbook: 'upgradePlatform',
      input: upgrade,
      command: cmd('upgradePlatform', upgrade),
    },
  ];
}

function shellWord(word: string): string {
  return /^[\w.:/@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
