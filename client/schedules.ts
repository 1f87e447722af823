#!/usr/bin/env node
// The nightly backup as a Temporal Schedule: created, or updated in place, idempotently (by
// `npm run schedules` and at `npm start`). Visible, pausable and triggerable in the Web UI; an
// operator's pause survives an update. Its action is backupPlatform, or, with verification enabled
// (RUNBOOK_BACKUP_VERIFY=1 or --verify), backupAndVerify: the same backup, then a test restore into
// a scratch namespace that is compared with the backup and deleted. The monthly security audit
// (securityAudit, read-only) is a Schedule too, made the same way.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction, type ScheduleSpec } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule.ts';
import { backupPlatformInputSchema, type BackupPlatformInput } from '../contract/types/backup.ts';
import { backupAndVerifyInputSchema, type BackupAndVerifyInput } from '../contract/types/backup-verify.ts';
import { securityAuditInputSchema, type SecurityAuditInput } from '../contract/types/security-audit.ts';
import { formatIssues } from '../contract/format-issues.ts';
import { clientSettings, connectClient } from './connection.ts';

export const NIGHTLY_BACKUP_SCHEDULE = 'nightly-backup';

export interface NightlyBackupOptions {
  scheduleId?: string;
  taskQueue: string;
  /** Default 0 2 * * * (02:00). */
  cron?: string;
  /** IANA time zone of the cron expression; default UTC. */
  timeZone?: string;
  /** Missed runs within this window (e.g. the server was down at 02:00) still run; default 6 hours. */
  catchupWindow?: string;
  input: BackupPlatformInput;
  /**
   * Verify each backup by a test restore (workflow backupAndVerify instead of backupPlatform); `verify`
   * options of backupAndVerify (scratchNamespace, helmRelease, timeoutSeconds) may be given. Default: the
   * environment's RUNBOOK_BACKUP_VERIFY=1, else off.
   */
  verify?: boolean | Omit<NonNullable<BackupAndVerifyInput['verify']>, 'enabled'>;
}

export type ScheduleOutcome = 'created' | 'updated';

/** The schedule's workflow and its input: backupPlatform, or backupAndVerify when verification is on. */
export function nightlyAction(
  opts: Pick<NightlyBackupOptions, 'input' | 'verify'>,
  env: NodeJS.ProcessEnv = process.env,
): { workflowType: 'backupPlatform' | 'backupAndVerify'; input: BackupPlatformInput | BackupAndVerifyInput } {
  // Validated here so that a bad input fails now, not at 02:00.
  const parsed = backupPlatformInputSchema.safeParse(opts.input);
  if (!parsed.success) throw new Error(`invalid nightly backup input: ${formatIssues(parsed.error.issues).join('; ')}`);
  const verify = opts.verify ?? env.RUNBOOK_BACKUP_VERIFY === '1';
  if (verify === false) return { workflowType: 'backupPlatform', input: opts.input };
  const input: BackupAndVerifyInput = {
    backup: opts.input,
    verify: { ...(verify === true ? {} : verify), enabled: true },
  };
  const checked = backupAndVerifyInputSchema.safeParse(input);
  if (!checked.success)
    throw new Error(`invalid nightly backup input: ${formatIssues(checked.error.issues).join('; ')}`);
  return { workflowType: 'backupAndVerify', input };
}

function scheduleParts(opts: NightlyBackupOptions): {
  spec: ScheduleSpec;
  action: ScheduleOptionsAction;
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: string };
} {
  const { workflowType, input } = nightlyAction(opts);
  const id = opts.scheduleId ?? NIGHTLY_BACKUP_SCHEDULE;
  return {
    spec: { cronExpressions: [opts.cron ?? '0 2 * * *'], timezone: opts.timeZone ?? 'UTC' },
    // Each run's workflow ID is <id>-<scheduled time>: its backup id (backupAndVerify: <that>-backup).
    action: { type: 'startWorkflow', workflowType, workflowId: id, taskQueue: opts.taskQueue, args: [input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: opts.catchupWindow ?? '6 hours' },
  };
}

/** Creates the schedule, or updates its spec, action and policies (keeping its paused state and note). */
export async function ensureNightlyBackupSchedule(
  client: Client,
  opts: NightlyBackupOptions,
): Promise<ScheduleOutcome> {
  const scheduleId = opts.scheduleId ?? NIGHTLY_BACKUP_SCHEDULE;
  return upsertSchedule(client, scheduleId, scheduleParts(opts), 'nightly backup (platform-runbooks)');
}

export const SECURITY_AUDIT_SCHEDULE = 'security-audit';

/** Creates the monthly securityAudit Schedule (default 04:00 UTC on the 1st), or updates its spec and action. */
export async function ensureSecurityAuditSchedule(
  client: Client,
  opts: { taskQueue: string; input?: SecurityAuditInput; cron?: string; timeZone?: string; scheduleId?: string },
): Promise<ScheduleOutcome> {
  const input = opts.input ?? {};
  const parsed = securityAuditInputSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid securityAudit input: ${formatIssues(parsed.error.issues).join('; ')}`);
  const scheduleId = opts.scheduleId ?? SECURITY_AUDIT_SCHEDULE;
  return upsertSchedule(
    client,
    scheduleId,
    {
      spec: { cronExpressions: [opts.cron ?? '0 4 1 * *'], timezone: opts.timeZone ?? 'UTC' },
      // Each run's workflow ID is <id>-<scheduled time>; its result is the report.
      action: {
        type: 'startWorkflow',
        workflowType: 'securityAudit',
        workflowId: scheduleId,
        taskQueue: opts.taskQueue,
        args: [input],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    },
    'monthly security audit (platform-runbooks)',
  );
}

/** The scheduled input from the environment: recipients, retention. */
export function nightlyInputFromEnv(env: NodeJS.ProcessEnv = process.env): BackupPlatformInput {
  const recipients = (env.RUNBOOK_BACKUP_RECIPIENTS ?? '').split(/[\s,]+/).filter(Boolean);
  const keepLast = Number(env.RUNBOOK_BACKUP_KEEP_LAST ?? 14);
  const maxAgeDays = env.RUNBOOK_BACKUP_MAX_AGE_DAYS ? Number(env.RUNBOOK_BACKUP_MAX_AGE_DAYS) : undefined;
  return {
    ...(env.RUNBOOK_BACKUP_NAMESPACE ? { namespace: env.RUNBOOK_BACKUP_NAMESPACE } : {}),
    // Without recipients in the environment they come from a ConfigMap (public keys only).
    ...(recipients.length
      ? { recipients }
      : { recipientsFrom: { configMap: { name: 'backup-recipients', key: 'recipients' } } }),
    retention: { keepLast, ...(maxAgeDays !== undefined ? { maxAgeDays } : {}) },
  };
}

const HELP = `Usage: npm run schedules [-- options]

Creates or updates the Temporal Schedules "nightly-backup" (backupPlatform at 02:00, overlap SKIP) and
"security-audit" (securityAudit, read-only, at 04:00 on the 1st of each month, UTC).
  --verify              run backupAndVerify instead: the backup, then a test restore into a scratch
                        namespace, compared with the backup, then deleted [RUNBOOK_BACKUP_VERIFY=1]
  --time-zone TZ        IANA time zone of the cron expression [RUNBOOK_BACKUP_TIME_ZONE] (default UTC)
  --cron EXPR           cron expression (default "0 2 * * *")
  --catchup-window DUR  run a missed backup if the server comes back within DUR (default "6 hours")
Backup input: RUNBOOK_BACKUP_RECIPIENTS (age public keys; default: ConfigMap backup-recipients, key
recipients), RUNBOOK_BACKUP_KEEP_LAST (default 14), RUNBOOK_BACKUP_MAX_AGE_DAYS, RUNBOOK_BACKUP_NAMESPACE.
Verification decrypts with the worker's age identity (its --backup-identity, default RUNBOOK_BACKUP_AGE_IDENTITY).
Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, RUNBOOK_TASK_QUEUE.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'time-zone': { type: 'string' },
      cron: { type: 'string' },
      'catchup-window': { type: 'string' },
      verify: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  const settings = clientSettings();
  const client = await connectClient(settings);
  const timeZone = values['time-zone'] ?? process.env.RUNBOOK_BACKUP_TIME_ZONE;
  const outcome = await ensureNightlyBackupSchedule(client, {
    taskQueue: settings.taskQueue,
    input: nightlyInputFromEnv(),
    ...(values.verify ? { verify: true } : {}),
    ...(timeZone ? { timeZone } : {}),
    ...(values.cron ? { cron: values.cron } : {}),
    ...(values['catchup-window'] ? { catchupWindow: values['catchup-window'] } : {}),
  });
  console.log(
    `schedules: ${NIGHTLY_BACKUP_SCHEDULE} ${outcome} (${nightlyAction({ input: nightlyInputFromEnv(), ...(values.verify ? { verify: true } : {}) }).workflowType})`,
  );
  console.log(
    `schedules: ${SECURITY_AUDIT_SCHEDULE} ${await ensureSecurityAuditSchedule(client, { taskQueue: settings.taskQueue })} (securityAudit monthly)`,
  );
  await client.connection.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`schedules: ${err.message}`);
    process.exitCode = 1;
  });
}
