// The README's runbook table: every runbook links to its prefilled Start Workflow form in the local
// Web UI (its own type, the default task queue) and gives an example input that its schema accepts,
// so that what an operator pastes into the form starts the runbook instead of failing validation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RUNBOOKS, isRunbookName } from '../../contract/runbooks.ts';
import { DEFAULT_TASK_QUEUE } from '../../contract/task-queue.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Runbooks'), readme.indexOf('### The `runbook` CLI'));
const rows = section.split('\n').filter((line) => /^\| (\[)?`\w+`/.test(line));

test('the runbook table has the runbooks', () => {
  assert.ok(rows.length >= 10, `found ${rows.length} runbook rows under "## Runbooks"`);
});

for (const row of rows) {
  const name = /^\| \[?`(\w+)`/.exec(row)![1]!;
  test(`${name}: linked to its Start Workflow form, with an example input its schema accepts`, () => {
    assert.ok(isRunbookName(name), `${name} is not in contract/runbooks.ts`);
    const link = /^\| \[`\w+`\]\((http:\/\/127\.0\.0\.1:8233\/[^)\s]+)\) \|/.exec(row);
    assert.ok(
      link,
      `the row of ${name} must start with [\`${name}\`](http://127.0.0.1:8233/namespaces/default/workflows/start-workflow?workflowType=${name}&taskQueue=${DEFAULT_TASK_QUEUE})`,
    );
    const url = new URL(link[1]!);
    assert.equal(url.pathname, '/namespaces/default/workflows/start-workflow');
    assert.equal(url.searchParams.get('workflowType'), name);
    assert.equal(url.searchParams.get('taskQueue'), DEFAULT_TASK_QUEUE);

    const example = /; e\.g\. `(\{.*\})` \|$/.exec(row);
    assert.ok(
      example,
      `the input column of ${name} must end with "; e.g. \`{...}\`" (one JSON object to paste into the form)`,
    );
    const schema = (RUNBOOKS[name] as { input?: { safeParse(v: unknown): { success: boolean; error?: unknown } } })
      .input;
    assert.ok(schema, `${name} has no input schema`);
    const parsed = schema.safeParse(JSON.parse(example[1]!));
    assert.ok(parsed.success, `the example input of ${name} is invalid: ${String(parsed.error)}`);
  });
}
