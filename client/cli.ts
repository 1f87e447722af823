#!/usr/bin/env node
// `runbook`: what operators script with. One file per command in client/commands/; this file
// parses, dispatches, connects on first use and maps errors to the exit codes (commands/command.ts).
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { clientSettings, connectClient, type ClientSettings } from './connection.ts';
import { COMMANDS } from './commands/index.ts';
import { EXIT, UsageError, type Command, type Io } from './commands/command.ts';
import { parseCommandLine } from './commands/parse.ts';

const ENVIRONMENT = `Environment (as the Temporal CLI): TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE
(default "default"), TEMPORAL_API_KEY, TEMPORAL_TLS (true/false), TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY
(client certificate files; or TEMPORAL_TLS_CERT_DATA / _KEY_DATA), TEMPORAL_TLS_CA (or _CA_DATA),
TEMPORAL_TLS_SERVER_NAME; RUNBOOK_TASK_QUEUE (default "runbooks"), TEMPORAL_UI (default http://127.0.0.1:8233).
Exit codes: 0 succeeded, 1 failed, 2 usage error, 3 paused for an operator, 4 still running (status).`;

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: runbook <command> [options]     (npm run runbook -- <command> ...; runbook <command> --help)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Every command takes --json (machine-readable output) and --help.
${ENVIRONMENT}`;
}

export function commandHelp(c: Command): string {
  return `Usage: runbook ${c.synopsis}\n\n${c.summary}\n${c.help ? `\n${c.help}\n` : ''}`;
}

export async function runCli(
  argv: string[],
  io: Omit<Io, 'temporal'> & { connect?: (s: ClientSettings) => Promise<Client> },
): Promise<number> {
  let client: Client | undefined;
  let settings: ClientSettings | undefined;
  const full: Io = {
    ...io,
    temporal: async () => {
      settings ??= clientSettings(io.env);
      client ??= await (io.connect ?? connectClient)(settings);
      return { client, settings };
    },
  };
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    if (!parsed.command) {
      io.out(mainHelp());
      return parsed.help ? EXIT.succeeded : EXIT.usage;
    }
    if (parsed.help) {
      io.out(commandHelp(parsed.command));
      return EXIT.succeeded;
    }
    return await parsed.command.run(parsed.args, full);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`runbook: ${err.message}`);
      return EXIT.usage;
    }
    io.err(`runbook: ${(err as Error).message}`);
    return EXIT.failed;
  } finally {
    await client?.connection.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (text) => console.log(text),
    err: (text) => console.error(text),
    env: process.env,
  });
}
