// Every `runbook` subcommand, in the order of the help.
import type { Command } from './command.ts';
import { list } from './list.ts';
import { ps } from './ps.ts';
import { start } from './start.ts';
import { status, progress, result } from './status.ts';
import { watch } from './watch.ts';
import { decide, nodeDone, approve, recover } from './updates.ts';
import { lease } from './lease.ts';
import { schedules } from './schedules.ts';
import { history } from './history.ts';

export const COMMANDS: readonly Command[] = [
  list,
  ps,
  start,
  status,
  watch,
  result,
  progress,
  decide,
  nodeDone,
  approve,
  recover,
  lease,
  schedules,
  history,
];
