// What every `runbook` subcommand is: its options (node:util parseArgs), its help, its run; and
// the CLI's exit codes.
import type { ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import type { ClientSettings } from '../connection.ts';

/**
 * 0 succeeded (or done), 1 failed (the runbook, an update refused, Temporal unreachable), 2 usage
 * error (unknown command or option, missing argument, invalid input), 3 paused for an operator
 * (status, or start/watch with --exit-on-pause), 4 still running (status).
 */
export const EXIT = { succeeded: 0, failed: 1, usage: 2, paused: 3, running: 4 } as const;

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Connects on first use (list and --help need no server). */
  temporal(): Promise<{ client: Client; settings: ClientSettings }>;
}

export interface CommandArgs {
  values: Values;
  positionals: string[];
  json: boolean;
}

export interface Command {
  name: string;
  /** `name <args>` as in the help. */
  synopsis: string;
  summary: string;
  /** Lines under the synopsis in `runbook <name> --help`. */
  help: string;
  options: Options;
  run(args: CommandArgs, io: Io): Promise<number>;
}

export const COMMON_OPTIONS: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function need(positionals: string[], index: number, what: string, command: string): string {
  const v = positionals[index];
  if (!v) throw new UsageError(`${command}: missing ${what} (see runbook ${command} --help)`);
  return v;
}
