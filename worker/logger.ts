// pino JSON logs with secret redaction; the Temporal runtime's logger writes through it too.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { Context } from '@temporalio/activity';

/** Paths of values that must never reach a log line, whatever code logs them. */
export const REDACT_PATHS = [
  '*.password',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.value',
  '*.data',
  '*.stringData',
  'password',
  'token',
  'secret',
  'apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

/**
 * Inside an activity (the SDK's AsyncLocalStorage context), which run it serves: every log line an
 * activity writes, through any child logger, names its workflow id, run id and activity type.
 */
export function activityLogFields(): Record<string, string> {
  let info;
  try {
    info = Context.current().info;
  } catch {
    return {}; // not inside an activity
  }
  const fields: Record<string, string | undefined> = {
    workflowId: info.workflowExecution?.workflowId,
    runId: info.workflowExecution?.runId,
    workflowType: info.workflowType,
    activityType: info.activityType,
    activityId: info.activityId,
  };
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
}

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'platform-runbooks-worker' },
      mixin: activityLogFields,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

const TEMPORAL_TO_PINO: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the Temporal SDK's logs (worker, workflow and activity loggers) into pino. Call once per
 * process. With `sdkMetricsAddress` (host:port), the Core runtime's Prometheus exporter (the SDK's
 * temporal_* metrics) listens there; worker/http.ts serves it on /metrics with the runbook metrics.
 */
export function installTemporalRuntimeLogger(
  logger: Logger,
  level: LogLevel = 'INFO',
  sdkMetricsAddress?: string,
): void {
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      temporalLog[TEMPORAL_TO_PINO[entry.level]]({ ...entry.meta }, entry.message);
    }),
    ...(sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress } } } } : {}),
  });
}
