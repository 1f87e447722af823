// runbook schedules list | pause | unpause | trigger: the Temporal Schedules (nightly backup, weekly
// TaskRun cleanup, monthly audit...). Creating them stays with `npm run schedules` and `npm start`.
import { EXIT, UsageError, need, str, type Command } from './command.ts';
import { table } from './run-state.ts';

export const schedules: Command = {
  name: 'schedules',
  synopsis: 'schedules list | pause <id> | unpause <id> | trigger <id> [--note TEXT]',
  summary: 'list the schedules; pause, unpause or trigger one now',
  help: `  --note TEXT   why (pause, unpause; shown in the Web UI)
  --json        list: [{scheduleId, workflowType, paused, note, nextActionTimes, recentActions}]`,
  options: { note: { type: 'string' } },
  async run({ values, positionals, json }, io) {
    const action = need(positionals, 0, 'list | pause | unpause | trigger', 'schedules');
    if (!['list', 'pause', 'unpause', 'trigger'].includes(action))
      throw new UsageError(`schedules: unknown action ${action} (list | pause | unpause | trigger)`);
    const { client } = await io.temporal();
    if (action === 'list') {
      const rows = [];
      for await (const s of client.schedule.list()) {
        rows.push({
          scheduleId: s.scheduleId,
          workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : '',
          paused: s.state.paused,
          note: s.state.note ?? null,
          nextActionTimes: s.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
          recentActions: s.info.recentActions
            .slice(-3)
            .map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
        });
      }
      if (json) io.out(JSON.stringify(rows, null, 2));
      else if (!rows.length) io.out('no schedules');
      else
        io.out(
          table(
            ['SCHEDULE', 'WORKFLOW', 'PAUSED', 'NEXT RUN', 'LAST RUN', 'NOTE'],
            rows.map((r) => [
              r.scheduleId,
              r.workflowType,
              r.paused ? 'yes' : 'no',
              r.nextActionTimes[0] ?? '',
              r.recentActions.at(-1)?.workflowId ?? '',
              r.note ?? '',
            ]),
          ),
        );
      return EXIT.succeeded;
    }
    const id = need(positionals, 1, '<scheduleId>', `schedules ${action}`);
    const handle = client.schedule.getHandle(id);
    const note = str(values, 'note') ?? `${action}d from the runbook CLI${io.env.USER ? ` by ${io.env.USER}` : ''}`;
    if (action === 'pause') await handle.pause(note);
    else if (action === 'unpause') await handle.unpause(note);
    else await handle.trigger();
    const out = { scheduleId: id, action, ...(action !== 'trigger' ? { note } : {}) };
    io.out(
      json
        ? JSON.stringify(out)
        : `schedule ${id}: ${action === 'trigger' ? 'triggered (a run starts now)' : `${action}d (${note})`}`,
    );
    return EXIT.succeeded;
  },
};
