// The agent Job's name, shared by the reconciler (workflows/) and the watch activity's hot path
// (activities/): both must compute the same one, so that a Job is never created twice.

/**
 * The agent Job's (and task ConfigMap's) name: derived from the TaskRun's name and uid, so every
 * retry or restarted controller computes the same one, and a recreated TaskRun gets a new one.
 * At most 62 characters (a Job's name is also its pods' job-name label value).
 */
export function jobNameFor(taskRunName: string, uid: string): string {
  const base = taskRunName.replace(/\./g, '-').slice(0, 53).replace(/-+$/, '');
  return `${base}-${uid.replace(/-/g, '').slice(0, 8)}`;
}
