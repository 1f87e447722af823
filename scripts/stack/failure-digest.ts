// The part of a failed test file's output worth repeating in npm test's summary: the spec reporter's
// "failing tests" section without stack frames, or the line that says the file was killed. CI keeps
// only the tail of a long run's output; the failure must be readable there.

const FAILING_SECTION = '✖ failing tests:';
const KILLED = /still running after \d+ s: killed$/;

export function failureDigest(output: string, maxLines = 40): string[] {
  const lines = output.split('\n');
  const start = lines.lastIndexOf(FAILING_SECTION);
  const section =
    start < 0
      ? lines.filter((line) => KILLED.test(line))
      : lines.slice(start + 1).filter((line) => line.trim() !== '' && !/^\s+at /.test(line));
  if (section.length <= maxLines) return section;
  return [...section.slice(0, maxLines), `... ${section.length - maxLines} more lines (the file's output above)`];
}
