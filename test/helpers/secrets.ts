// Secret values that tests put into the worker's environment. Each is registered in
// TEST_SECRETS_FILE (set by `npm test`), whose scan after the run (scripts/stack/secret-scan.ts)
// fails the run if any value appears in a workflow history, a worker log, the test output or a backup.
import { appendFileSync } from 'node:fs';

/** Sets env var `name` to `value` for this test process and registers the value for the leak scan. */
export function setTestSecret(name: string, value: string): string {
  process.env[name] = value;
  const file = process.env.TEST_SECRETS_FILE;
  if (file && value) appendFileSync(file, `${JSON.stringify({ name, value })}\n`, { mode: 0o600 });
  return value;
}
