// runbook list: the runbooks an operator can start (contract/runbooks.ts).
import { RUNBOOKS as MAP } from '../../contract/runbooks.ts';
import { EXIT, type Command } from './command.ts';

export const list: Command = {
  name: 'list',
  synopsis: 'list',
  summary: 'the runbooks you can start',
  help: '  --json   [{name, summary, internal}]',
  options: {},
  async run({ json }, io) {
    const entries = Object.entries(MAP).map(([name, e]) => ({
      name,
      summary: e.summary,
      internal: 'internal' in e && e.internal === true,
    }));
    if (json) io.out(JSON.stringify(entries, null, 2));
    else
      for (const r of entries)
        io.out(`${r.name.padEnd(24)} ${r.internal ? '(started by other runbooks) ' : ''}${r.summary}`);
    return EXIT.succeeded;
  },
};
