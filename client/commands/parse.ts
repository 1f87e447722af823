// Splits `runbook <command> [args] [options]` and parses the command's options strictly: an unknown
// option or a missing value is a usage error (exit 2), never silently ignored.
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, UsageError, type Command, type CommandArgs } from './command.ts';

export interface Parsed {
  command: Command | undefined;
  args: CommandArgs;
  help: boolean;
}

export function parseCommandLine(argv: string[], commands: readonly Command[]): Parsed {
  const first = argv.findIndex((a) => !a.startsWith('-'));
  const name = first >= 0 ? argv[first] : undefined;
  const rest = first >= 0 ? [...argv.slice(0, first), ...argv.slice(first + 1)] : argv;
  const command = name === undefined ? undefined : commands.find((c) => c.name === name);
  if (name !== undefined && !command)
    throw new UsageError(`unknown command ${name} (commands: ${commands.map((c) => c.name).join(', ')})`);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON_OPTIONS, ...command?.options },
    });
  } catch (err) {
    throw new UsageError(
      `${command ? `${command.name}: ` : ''}${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`,
    );
  }
  const values = parsed.values as CommandArgs['values'];
  return {
    command,
    args: { values, positionals: parsed.positionals, json: values.json === true },
    help: values.help === true,
  };
}

export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${what} must be one JSON object`);
  return value as Record<string, unknown>;
}
