// Mocked activities that record every call, for the workflow tests that state a runbook's activities
// once (the defaults) and change single ones per test (the overrides), then assert on the calls.

/** An activity's mocked behaviour; `attempt` counts this activity's calls from 1 (to fail only the first). */
export type MockBehaviour = (arg: never, attempt: number) => Promise<unknown>;

export interface RecordedMocks {
  /** Every call, in the order the workflow made them. */
  calls: { name: string; arg: Record<string, unknown> }[];
  /** What the worker registers: each default activity, recording, then behaving as overridden. */
  activities: Record<string, (arg: never) => Promise<unknown>>;
  /** The names of the activities called, in order. */
  names(): string[];
  /** The argument of the first call of `name`. */
  arg(name: string): Record<string, unknown> | undefined;
}

export function recordedMocks(
  defaults: Record<string, MockBehaviour>,
  overrides: Partial<Record<string, MockBehaviour>> = {},
): RecordedMocks {
  const calls: RecordedMocks['calls'] = [];
  const attempts: Record<string, number> = {};
  const activities: RecordedMocks['activities'] = {};
  for (const name of Object.keys(defaults)) {
    activities[name] = async (arg: never) => {
      calls.push({ name, arg });
      attempts[name] = (attempts[name] ?? 0) + 1;
      return (overrides[name] ?? defaults[name]!)(arg, attempts[name]);
    };
  }
  return {
    calls,
    activities,
    names: () => calls.map((c) => c.name),
    arg: (name) => calls.find((c) => c.name === name)?.arg,
  };
}
