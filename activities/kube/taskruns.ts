// Typed access to the platform's TaskRun custom resources (taskruns.orchestrator.io).
import type { TaskRunsReport } from '../../contract/types/platform-health.ts';
import type { KubeClients } from './client.ts';
import { crdExists } from './exists.ts';
import { isStatus, toKubeFailure } from '../errors.ts';
import { customObjectPage, PAGE_SIZE } from './paginate.ts';

export const TASKRUN = {
  group: 'orchestrator.io',
  version: 'v1',
  plural: 'taskruns',
  crdName: 'taskruns.orchestrator.io',
} as const;

/** The REST path of a namespace's TaskRuns, or of one of them (for kube.json calls). */
export const taskRunPath = (namespace: string, name?: string) =>
  `/apis/${TASKRUN.group}/${TASKRUN.version}/namespaces/${namespace}/${TASKRUN.plural}${name === undefined ? '' : `/${name}`}`;

export interface TaskRunObject {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: { phase?: string; [key: string]: unknown };
}

export const taskRunCrdInstalled = (kube: KubeClients) => crdExists(kube, TASKRUN.crdName);

export interface ListTaskRunsOptions<T> {
  labelSelector?: string;
  /** TaskRuns per request (default PAGE_SIZE); tests use a small one. */
  pageSize?: number;
  /** Stop after this many pages (e.g. one page of one item to count with remainingItemCount). */
  maxPages?: number;
  /**
   * Called with each page as it arrives (heartbeats, or streaming: with `keep: false` the items are
   * not collected, so a caller that summarises never holds the whole list).
   */
  onPage?: (items: T[]) => void | Promise<void>;
  /** Collect the items into the result (default true). */
  keep?: boolean;
  /**
   * With onPage: the continue token expired and the list starts again from the first page; the
   * caller forgets the pages it was given. Without it, an expired token fails a list given onPage.
   */
  onRestart?: () => void;
  /** A missing CRD (404): 'throw' (default) a classified failure, or answer an empty list with crdInstalled false. */
  crdMissing?: 'throw' | 'empty';
}

export interface TaskRunList<T> {
  items: T[];
  /** The list's resourceVersion (all pages are one consistent snapshot at it): where a watch starts. */
  resourceVersion: string;
  /** Items read (also when not kept). */
  count: number;
  /** False when the listing stopped at maxPages with items left. */
  complete: boolean;
  /** The server's count of items after the last page read, when it gives one (never with a label selector). */
  remainingItemCount?: number;
  crdInstalled: boolean;
}

/** A list whose continue token expired (410) is started again this many times (only when no page was handed out). */
const EXPIRED_RESTARTS = 2;

/**
 * THE way to list TaskRuns (every caller goes through it): page by page, following the raw
 * CustomObjectsApi list's `metadata.continue` (customObjectPage), returning the list's
 * resourceVersion. Failures are classified (kubeCall).
 */
export async function listTaskRuns<T = TaskRunObject>(
  kube: KubeClients,
  namespace: string,
  options: ListTaskRunsOptions<T> = {},
): Promise<TaskRunList<T>> {
  const what = `list TaskRuns in ${namespace}${options.labelSelector ? ` (${options.labelSelector})` : ''}`;
  const keep = options.keep ?? true;
  for (let restarts = 0; ; restarts++) {
    const out: TaskRunList<T> = { items: [], resourceVersion: '', count: 0, complete: true, crdInstalled: true };
    let cont: string | undefined;
    let pages = 0;
    try {
      do {
        const raw = await kube.custom.listNamespacedCustomObject({
          group: TASKRUN.group,
          version: TASKRUN.version,
          plural: TASKRUN.plural,
          namespace,
          limit: options.pageSize ?? PAGE_SIZE,
          ...(cont ? { _continue: cont } : {}),
          ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
        });
        const page = customObjectPage<T>(raw);
        pages++;
        out.resourceVersion =
          (raw as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion || out.resourceVersion;
        out.count += page.items.length;
        if (keep) for (const item of page.items) out.items.push(item);
        cont = page.metadata?._continue;
        if (page.metadata?.remainingItemCount !== undefined) out.remainingItemCount = page.metadata.remainingItemCount;
        else delete out.remainingItemCount;
        await options.onPage?.(page.items);
      } while (cont && (options.maxPages === undefined || pages < options.maxPages));
      out.complete = !cont;
      return out;
    } catch (err) {
      if (isStatus(err, 404) && !cont && options.crdMissing === 'empty') return { ...out, crdInstalled: false };
      // The continue token expired (etcd compacted past the list's revision): list again from the start.
      if (isStatus(err, 410) && cont && (!options.onPage || options.onRestart) && restarts < EXPIRED_RESTARTS) {
        options.onRestart?.();
        continue;
      }
      throw toKubeFailure(err, what);
    }
  }
}

export async function countTaskRunsByPhase(kube: KubeClients, namespace: string): Promise<TaskRunsReport> {
  const byPhase: Record<string, number> = {};
  const list = await listTaskRuns(kube, namespace, {
    crdMissing: 'empty',
    keep: false,
    onPage: (runs) => {
      for (const run of runs) {
        const phase = run.status?.phase ?? 'Pending';
        byPhase[phase] = (byPhase[phase] ?? 0) + 1;
      }
    },
  });
  if (!list.crdInstalled) return { crdInstalled: false, total: 0, byPhase: {} };
  return { crdInstalled: true, total: list.count, byPhase };
}
