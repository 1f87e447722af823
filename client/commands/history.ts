// runbook history export <id>: a run's event history as JSON (the Temporal CLI's and Web UI's
// format), which Worker.runReplayHistory reads: a replay test for a recorded production run.
import { writeFileSync } from 'node:fs';
import { historyToJson } from '../history-json.ts';
import { EXIT, UsageError, need, str, type Command } from './command.ts';

export const history: Command = {
  name: 'history',
  synopsis: 'history export <workflowId> [--run-id ID] [--out FILE]',
  summary: "export a run's event history as JSON (for replay tests)",
  help: `  --run-id ID   one run (default: the latest)
  --out FILE    write to FILE instead of stdout`,
  options: { 'run-id': { type: 'string' }, out: { type: 'string' } },
  async run({ values, positionals }, io) {
    const action = need(positionals, 0, 'export', 'history');
    if (action !== 'export') throw new UsageError(`history: unknown action ${action} (export)`);
    const id = need(positionals, 1, '<workflowId>', 'history export');
    const { client } = await io.temporal();
    const json = historyToJson(await client.workflow.getHandle(id, str(values, 'run-id')).fetchHistory());
    const out = str(values, 'out');
    if (out) {
      writeFileSync(out, `${json}\n`);
      io.err(`history of ${id} written to ${out}`);
    } else {
      io.out(json);
    }
    return EXIT.succeeded;
  },
};
