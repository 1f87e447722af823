// Pages a fake watch result as the worker's view pages the real one (activities/taskrun/view.ts,
// diffView): at most a byte budget of JSON per result, a TaskRun and its Job in the same page, every
// page but the last marked `more` (the next watch returns the rest at once). A snapshot that does not
// fit goes as the view sends itself afresh: the first page is a view snapshot (a TaskRun it lacks is
// not gone), the rest follow as upserts. (diffView itself cannot page a fake's list: the view never
// sends finished TaskRuns in a snapshot.)
import type { ObservedJob, ObservedTaskRun, WatchChange, WatchResult } from '../../contract/types/taskrun.ts';

/** A fake's watch result before it gets its cursor and config. */
export type FakeWatchResult = Omit<Partial<WatchResult>, 'changes'> & { changes: WatchChange[] };

/** JSON bytes of an item of a result's array (with its comma), as diffView counts them. */
const bytesOf = (item: unknown) => JSON.stringify(item).length + 1;
const sum = (items: unknown[]) => items.reduce<number>((n, item) => n + bytesOf(item), 0);

/** Each TaskRun of a list with its Jobs (as upserts), then the Jobs of no TaskRun in it. */
function listedGroups(snapshot: { taskRuns: ObservedTaskRun[]; jobs: ObservedJob[] }): WatchChange[][] {
  const owner = (name: string, uid: string) => `${name}/${uid}`;
  const jobs = new Map<string, ObservedJob[]>();
  for (const job of snapshot.jobs)
    jobs.set(owner(job.ownerName, job.ownerUid), [...(jobs.get(owner(job.ownerName, job.ownerUid)) ?? []), job]);
  const groups = snapshot.taskRuns.map((taskRun): WatchChange[] => {
    const own = jobs.get(owner(taskRun.name, taskRun.uid)) ?? [];
    jobs.delete(owner(taskRun.name, taskRun.uid));
    return [
      { kind: 'taskRun', type: 'upsert', taskRun },
      ...own.map((job) => ({ kind: 'job' as const, type: 'upsert' as const, job })),
    ];
  });
  return [...groups, ...[...jobs.values()].flat().map((job): WatchChange[] => [{ kind: 'job', type: 'upsert', job }])];
}

/** As the item of a snapshot's taskRuns or jobs: what an upsert carries. */
const listed = (change: WatchChange) =>
  change.kind === 'taskRun' && change.type === 'upsert'
    ? change.taskRun
    : change.kind === 'job' && change.type === 'upsert'
      ? change.job
      : change;

/** `result` as pages of at most `budgetBytes` of JSON each: itself, unchanged, when it fits. */
export function pageWatchResult(result: FakeWatchResult, budgetBytes: number): FakeWatchResult[] {
  if (JSON.stringify(result).length <= budgetBytes) return [result];
  const { snapshot, changes, relisted, more: _more, ...envelope } = result;
  const groups = [...(snapshot ? listedGroups(snapshot) : []), ...changes.map((c) => [c])];
  const first: FakeWatchResult = {
    ...envelope,
    ...(snapshot ? { snapshot: { taskRuns: [], jobs: [], view: true as const } } : {}),
    ...(relisted ? { relisted } : {}),
    changes: [],
    more: true,
  };
  const pages = [first];
  let bytes = JSON.stringify(first).length;
  for (const group of groups) {
    let page = pages.at(-1)!;
    const inSnapshot = page.snapshot !== undefined;
    let size = sum(inSnapshot ? group.map(listed) : group);
    if (bytes + size > budgetBytes) {
      page = { ...envelope, changes: [], more: true };
      pages.push(page);
      bytes = JSON.stringify(page).length;
      size = sum(group);
      if (bytes + size > budgetBytes)
        throw new Error(`a TaskRun of ${size} bytes exceeds the budget of ${budgetBytes}`);
    }
    bytes += size;
    if (page.snapshot) {
      for (const change of group)
        if (change.kind === 'taskRun' && change.type === 'upsert') page.snapshot.taskRuns.push(change.taskRun);
        else if (change.kind === 'job' && change.type === 'upsert') page.snapshot.jobs.push(change.job);
    } else page.changes.push(...group);
  }
  delete pages.at(-1)!.more;
  return pages;
}
