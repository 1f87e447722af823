// drainNode's activities: the read-only plan (kubectl drain's GetPodsForDeletion), cordon/uncordon
// that remember who cordoned, and eviction rounds that wait for pods to go with a watch.
import {
  ApiException,
  PatchStrategy,
  PolicyV1Api,
  Watch,
  setHeaderOptions,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps.ts';
import type { KubeClients } from '../kube/client.ts';
import { classifyStatus, kubeCall, statusMessage, toKubeFailure } from '../errors.ts';
import { listAllPages, PAGE_SIZE } from '../kube/paginate.ts';
import { readIfExists } from '../kube/exists.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { forEachConcurrently } from '../concurrency.ts';
import { INVALID_INPUT, KUBE_NOT_FOUND } from '../../contract/failures.ts';
import { planPods, type DrainPod } from './filters.ts';
import type {
  DrainPlan,
  DrainPlanRequest,
  DrainRoundRequest,
  DrainRoundResult,
  PodRef,
  RemainingPod,
} from '../../contract/types/drain.ts';

/** The workflow id that cordoned a node (so only that drain uncordons it). */
export const CORDONED_BY_ANNOTATION = 'platform-runbooks.io/cordoned-by';

const podKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

function asDrainPod(pod: V1Pod): DrainPod {
  const m = pod.metadata ?? {};
  return {
    metadata: {
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      uid: m.uid ?? '',
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.ownerReferences
        ? {
            ownerReferences: m.ownerReferences.map((o) => ({
              kind: o.kind,
              name: o.name,
              ...(o.controller !== undefined ? { controller: o.controller } : {}),
            })),
          }
        : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: { volumes: (pod.spec?.volumes ?? []).map((v) => (v.emptyDir ? { emptyDir: v.emptyDir } : {})) },
    status: { ...(pod.status?.phase ? { phase: pod.status.phase } : {}) },
  };
}

async function listNodePods(kube: KubeClients, node: string, labelSelector?: string): Promise<V1Pod[]> {
  return listAllPages((cont) =>
    kube.core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${node}`,
      ...(labelSelector ? { labelSelector } : {}),
      limit: PAGE_SIZE,
      _continue: cont,
    }),
  );
}

export async function planDrain(kube: KubeClients, req: DrainPlanRequest): Promise<DrainPlan> {
  const node = await readNode(kube, req.node);
  const all = await kubeCall(`list pods on node ${req.node}`, () => listNodePods(kube, req.node));
  let selected = all;
  if (req.podSelector) {
    try {
      selected = await listNodePods(kube, req.node, req.podSelector);
    } catch (err) {
      if (err instanceof ApiException && err.code === 400) {
        throw ApplicationFailure.create({
          type: INVALID_INPUT,
          nonRetryable: true,
          message: `invalid drainNode input: podSelector: ${statusMessage(err.body) ?? 'not a label selector'}`,
          details: [['podSelector']],
        });
      }
      throw toKubeFailure(err, `list pods on node ${req.node}`);
    }
  }
  const chosen = new Set(selected.map((p) => p.metadata?.uid));
  // What kubectl's daemonSetFilter reads: does each DaemonSet-controlled pod's DaemonSet exist?
  const daemonSets = new Map<string, { message: string; notFound: boolean } | undefined>();
  for (const pod of selected) {
    const ref = pod.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'DaemonSet');
    const namespace = pod.metadata?.namespace ?? '';
    if (!ref || daemonSets.has(`${namespace}/${ref.name}`)) continue;
    const daemonSet = await readIfExists(`DaemonSet ${namespace}/${ref.name}`, () =>
      kube.apps.readNamespacedDaemonSet({ namespace, name: ref.name }),
    );
    daemonSets.set(
      `${namespace}/${ref.name}`,
      daemonSet ? undefined : { message: `daemonsets.apps "${ref.name}" not found`, notFound: true },
    );
  }
  return planPods(
    req.node,
    node.spec?.unschedulable === true,
    selected.map(asDrainPod),
    {
      options: req,
      now: Date.now(),
      daemonSetError: (namespace, name) => daemonSets.get(`${namespace}/${name}`),
    },
    all.filter((p) => !chosen.has(p.metadata?.uid)).map(asDrainPod),
  );
}

async function readNode(kube: KubeClients, name: string) {
  const node = await readIfExists(`node ${name}`, () => kube.core.readNode({ name }));
  if (!node)
    throw ApplicationFailure.create({
      type: KUBE_NOT_FOUND,
      nonRetryable: true,
      message: `node ${name} not found`,
      details: [{ node: name }],
    });
  return node;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Cordons the node and marks it with this workflow's id (one patch, guarded by resourceVersion). A node
 * already unschedulable is left alone: cordonedByUs is true only when the mark is this workflow's,
 * so a retried attempt (after a crash between the patch and its answer) still knows it cordoned it.
 */
export async function cordonNode(
  kube: KubeClients,
  req: { node: string; workflowId: string },
): Promise<{ cordonedByUs: boolean }> {
  const node = await readNode(kube, req.node);
  if (node.spec?.unschedulable)
    return { cordonedByUs: node.metadata?.annotations?.[CORDONED_BY_ANNOTATION] === req.workflowId };
  await kubeCall(`cordon node ${req.node}`, () =>
    kube.core.patchNode(
      {
        name: req.node,
        body: {
          metadata: {
            resourceVersion: node.metadata?.resourceVersion,
            annotations: { [CORDONED_BY_ANNOTATION]: req.workflowId },
          },
          spec: { unschedulable: true },
        },
      },
      mergePatch,
    ),
  );
  return { cordonedByUs: true };
}

/** Uncordons the node only when this workflow cordoned it (its mark); a node cordoned by someone else stays cordoned. */
export async function uncordonNode(
  kube: KubeClients,
  req: { node: string; workflowId: string },
): Promise<{ uncordoned: boolean }> {
  const node = await readNode(kube, req.node);
  if (node.metadata?.annotations?.[CORDONED_BY_ANNOTATION] !== req.workflowId) return { uncordoned: false };
  await kubeCall(`uncordon node ${req.node}`, () =>
    kube.core.patchNode(
      {
        name: req.node,
        body: {
          metadata: {
            resourceVersion: node.metadata?.resourceVersion,
            annotations: { [CORDONED_BY_ANNOTATION]: null },
          },
          spec: { unschedulable: null },
        },
      },
      mergePatch,
    ),
  );
  return { uncordoned: true };
}

/** Does the PDB's selector select these labels (matchLabels and matchExpressions)? An empty selector selects all. */
export function selects(pdb: V1PodDisruptionBudget, labels: Record<string, string>): boolean {
  const sel = pdb.spec?.selector;
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value!)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

const TOO_MANY_PDBS = /more than one PodDisruptionBudget/i;

type Outcome =
  | { kind: 'evicted' }
  | { kind: 'gone' }
  | { kind: 'blocked'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'retry'; message: string };

/** One eviction (or deletion with disableEviction), classified as kubectl's evictPods does. */
async function evictOnce(kube: KubeClients, pod: PodRef, req: DrainRoundRequest): Promise<Outcome> {
  const deleteOptions = {
    ...(req.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: req.gracePeriodSeconds } : {}),
    preconditions: { uid: pod.uid },
  };
  try {
    if (req.disableEviction) {
      await kube.core.deleteNamespacedPod({ namespace: pod.namespace, name: pod.name, body: deleteOptions });
    } else {
      await kube.core.createNamespacedPodEviction({
        namespace: pod.namespace,
        name: pod.name,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: pod.name, namespace: pod.namespace },
          deleteOptions,
        },
      });
    }
    return { kind: 'evicted' };
  } catch (err) {
    if (!(err instanceof ApiException))
      return { kind: 'retry', message: err instanceof Error ? err.message : String(err) };
    const message = statusMessage(err.body) ?? `HTTP ${err.code}`;
    // 404: already gone. 409 on the UID precondition: the name now belongs to a new pod, so ours is gone.
    if (err.code === 404 || err.code === 409) return { kind: 'gone' };
    if (err.code === 429) return { kind: 'blocked', message };
    if (err.code === 500 && TOO_MANY_PDBS.test(message)) return { kind: 'failed', message: `${message} (HTTP 500)` };
    const { retryable } = classifyStatus(err.code);
    return retryable
      ? { kind: 'retry', message: `HTTP ${err.code} ${message}` }
      : { kind: 'failed', message: `HTTP ${err.code} ${message}` };
  }
}

/**
 * One round of a drain: evicts the planned pods not yet evicted (a PDB's 429 is tried again after
 * retryBlockedSeconds; 404 and a new UID mean gone), and waits for them to go with a watch on the
 * node's pods (DELETED of the UID, or the name with another UID). Ends when every pod is gone or
 * after roundSeconds, with each remaining pod's state (for a blocked one, the PDBs that select it).
 * Heartbeats; honours cancellation. A retried round repeats evictions harmlessly (an evicted pod is
 * terminating: evicting it again changes nothing).
 */
export async function drainRound(kube: KubeClients, req: DrainRoundRequest): Promise<DrainRoundResult> {
  const signal = cancellationSignal();
  const started = Date.now();
  const endAt = started + req.roundSeconds * 1000;
  const pods = new Map<string, RemainingPod>(req.pods.map((p) => [podKey(p), { ...p }]));
  const gone: PodRef[] = [];
  const nextTry = new Map<string, number>();
  const markGone = (key: string) => {
    const p = pods.get(key);
    if (!p) return;
    pods.delete(key);
    nextTry.delete(key);
    gone.push({ namespace: p.namespace, name: p.name, uid: p.uid });
  };
  const seen = (type: string, obj: V1Pod) => {
    const key = podKey({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
    const p = pods.get(key);
    if (!p) return;
    if (obj.metadata?.uid !== p.uid || type === 'DELETED') markGone(key);
  };

  // The truth first (pods may have gone while no round ran), then a watch from that list.
  const relist = async () => {
    const list = await kubeCall(`list pods on node ${req.node}`, () =>
      kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${req.node}` }),
    );
    const present = new Map(
      list.items.map((p) => [
        podKey({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '' }),
        p.metadata?.uid,
      ]),
    );
    for (const [key, p] of [...pods]) if (present.get(key) !== p.uid) markGone(key);
    return list.metadata?.resourceVersion;
  };
  let resourceVersion = await relist();

  const watcher = new Watch(kube.config);
  let abortWatch: AbortController | undefined;
  let watching = false;
  let watchFailed = false;
  const startWatch = () => {
    if (watching || Date.now() >= endAt) return;
    watching = true;
    const done = (err?: unknown) => {
      watching = false;
      if (err && (err as { statusCode?: number }).statusCode === 410) resourceVersion = undefined;
      watchFailed = true;
    };
    watcher
      .watch(
        '/api/v1/pods',
        {
          fieldSelector: `spec.nodeName=${req.node}`,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.ceil(req.roundSeconds) + 5,
          ...(resourceVersion ? { resourceVersion } : {}),
        },
        (type: string, obj: V1Pod) => {
          if (obj?.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
          if (type !== 'BOOKMARK' && type !== 'ERROR') seen(type, obj);
        },
        done,
      )
      .then((a) => {
        abortWatch = a;
      }, done);
  };
  startWatch();

  const pdbCache = new Map<string, V1PodDisruptionBudget[]>();
  const policy = kube.config.makeApiClient(PolicyV1Api);
  const blockers = async (pod: RemainingPod): Promise<RemainingPod['blockedBy']> => {
    try {
      if (!pdbCache.has(pod.namespace))
        pdbCache.set(
          pod.namespace,
          (await policy.listNamespacedPodDisruptionBudget({ namespace: pod.namespace })).items,
        );
      const live = await kube.core.readNamespacedPod({ namespace: pod.namespace, name: pod.name });
      const labels = live.metadata?.labels ?? {};
      return pdbCache
        .get(pod.namespace)!
        .filter((pdb) => selects(pdb, labels))
        .map((pdb) => ({ name: pdb.metadata?.name ?? '', disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0 }));
    } catch {
      return undefined;
    }
  };

  const evict = async (key: string) => {
    const pod = pods.get(key);
    if (!pod) return;
    const outcome = await evictOnce(kube, pod, req);
    if (!pods.has(key)) return;
    switch (outcome.kind) {
      case 'evicted':
        pod.state = 'evicted';
        delete pod.error;
        delete pod.blockedBy;
        break;
      case 'gone':
        markGone(key);
        break;
      case 'blocked': {
        pod.state = 'blocked';
        pod.error = outcome.message;
        const by = await blockers(pod);
        if (by) pod.blockedBy = by;
        nextTry.set(key, Date.now() + req.retryBlockedSeconds * 1000);
        break;
      }
      case 'retry':
        pod.error = outcome.message;
        nextTry.set(key, Date.now() + req.retryBlockedSeconds * 1000);
        break;
      case 'failed':
        pod.state = 'failed';
        pod.error = outcome.message;
        break;
    }
  };

  const beat = setInterval(() => heartbeat({ remaining: pods.size, gone: gone.length }), 2000);
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (!pods.size || Date.now() >= endAt) break;
      if ([...pods.values()].every((p) => p.state === 'failed')) break;
      if (!watching && watchFailed) {
        // The watch ended (server timeout, 410, connection): list again, then watch from there.
        watchFailed = false;
        pdbCache.clear();
        resourceVersion = await relist();
        startWatch();
      }
      const now = Date.now();
      const due = [...pods.entries()]
        .filter(([key, p]) => (p.state === 'pending' || p.state === 'blocked') && (nextTry.get(key) ?? 0) <= now)
        .map(([key]) => key);
      if (due.length) {
        pdbCache.clear();
        await forEachConcurrently(due, req.concurrency, evict);
        continue;
      }
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clearInterval(beat);
    abortWatch?.abort();
  }
  signal?.throwIfAborted();
  return { gone, remaining: [...pods.values()] };
}

export function drainActivities({ kube }: ActivityDeps) {
  return {
    /** Read-only: what drainNode would evict, keep, warn about and refuse (kubectl drain's GetPodsForDeletion). */
    planDrain: (req: DrainPlanRequest) => planDrain(kube, req),
    cordonNode: (req: { node: string; workflowId: string }) => cordonNode(kube, req),
    uncordonNode: (req: { node: string; workflowId: string }) => uncordonNode(kube, req),
    drainRound: (req: DrainRoundRequest) => drainRound(kube, req),
  };
}
