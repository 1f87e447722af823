// runbook watch <id>: follow a runbook that runs already, live, until it ends.
import { need, type Command } from './command.ts';
import { followRun } from './follow-run.ts';

export const watch: Command = {
  name: 'watch',
  synopsis: 'watch <workflowId> [--exit-on-pause]',
  summary: "follow a running runbook's steps until it ends, then print its report",
  help: `  --exit-on-pause   stop when the runbook pauses for an operator (exit 3)
  --json            only the final JSON object
Exit: 0 succeeded, 1 failed, 3 paused (--exit-on-pause).`,
  options: { 'exit-on-pause': { type: 'boolean' } },
  async run({ values, positionals, json }, io) {
    const id = need(positionals, 0, '<workflowId>', 'watch');
    const { client } = await io.temporal();
    return followRun(client.workflow.getHandle(id), { json, untilPaused: values['exit-on-pause'] === true }, io);
  },
};
