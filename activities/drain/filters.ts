// kubectl drain's pod filters (k8s.io/kubectl/pkg/drain, filters.go), as small pure functions run in
// order. Each one says whether the pod may be deleted, and may add a warning or an error. Like
// kubectl, the first filter that keeps a pod ends its run, and a later filter's verdict replaces an
// earlier one's (so, as in kubectl, a ReplicaSet pod's emptyDir warning is dropped by the
// controller filter that follows: kubectl prints no warning for it either).
import type { DrainPlan, KeptReason, PodRef } from '../../contract/types/drain.ts';

/** The fields of a pod the filters read (a subset of V1Pod: workflow code does not import client-node). */
export interface DrainPod {
  metadata: {
    namespace: string;
    name: string;
    uid: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
    /** ISO time or Date (client-node parses it to a Date). */
    deletionTimestamp?: string | Date;
  };
  spec: { volumes?: { emptyDir?: unknown }[] };
  status: { phase?: string };
}

export interface FilterOptions {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
  skipWaitForDeleteTimeoutSeconds: number;
}

export interface FilterContext {
  options: FilterOptions;
  /** Now, in ms (for skipWaitForDeleteTimeoutSeconds). */
  now: number;
  /**
   * For a DaemonSet's pod: undefined when its DaemonSet exists, else the error kubectl would get
   * reading it (e.g. `daemonsets.apps "x" not found`, with notFound true).
   */
  daemonSetError: (namespace: string, name: string) => { message: string; notFound: boolean } | undefined;
}

/** A filter's verdict (kubectl's PodDeleteStatus). */
export type PodDeleteStatus =
  | { delete: true; reason: 'okay' }
  | { delete: boolean; reason: 'warning'; message: string }
  | { delete: false; reason: 'skip'; kept: KeptReason }
  | { delete: false; reason: 'error'; message: string; kept: KeptReason | 'refused' };

export type PodFilter = (pod: DrainPod, ctx: FilterContext) => PodDeleteStatus;

export const DAEMONSET_FATAL = 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
export const DAEMONSET_WARNING = 'ignoring DaemonSet-managed Pods';
export const LOCAL_STORAGE_FATAL = 'Pods with local storage (use --delete-emptydir-data to override)';
export const LOCAL_STORAGE_WARNING = 'deleting Pods with local storage';
export const UNMANAGED_FATAL = 'Pods that declare no controller (use --force to override)';
export const UNMANAGED_WARNING = 'deleting Pods that declare no controller';

const okay: PodDeleteStatus = { delete: true, reason: 'okay' };
const controllerOf = (pod: DrainPod) => pod.metadata.ownerReferences?.find((o) => o.controller === true);
/** Succeeded or Failed: kubectl deletes a finished pod whatever else it is. */
export const isFinished = (pod: DrainPod) => pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/** Pods deleted longer ago than skipWaitForDeleteTimeoutSeconds are skipped (0: never). */
export const skipDeletedFilter: PodFilter = (pod, { options, now }) => {
  const deleted = pod.metadata.deletionTimestamp;
  if (options.skipWaitForDeleteTimeoutSeconds > 0 && deleted !== undefined) {
    const seconds = Math.floor((now - new Date(deleted).getTime()) / 1000);
    if (seconds > options.skipWaitForDeleteTimeoutSeconds)
      return { delete: false, reason: 'skip', kept: 'being deleted' };
  }
  return okay;
};

/** DaemonSet pods stay (a warning with ignoreDaemonSets, else an error); an orphan is deleted only with force. */
export const daemonSetFilter: PodFilter = (pod, { options, daemonSetError }) => {
  const controller = controllerOf(pod);
  if (!controller || controller.kind !== 'DaemonSet') return okay;
  if (isFinished(pod)) return okay;
  const missing = daemonSetError(pod.metadata.namespace, controller.name);
  if (missing) {
    if (missing.notFound && options.force) return { delete: true, reason: 'warning', message: missing.message };
    return { delete: false, reason: 'error', message: missing.message, kept: 'DaemonSet pod' };
  }
  if (!options.ignoreDaemonSets)
    return { delete: false, reason: 'error', message: DAEMONSET_FATAL, kept: 'DaemonSet pod' };
  return { delete: false, reason: 'warning', message: DAEMONSET_WARNING };
};

/** Mirror pods (static pods of the kubelet) cannot be deleted through the API: skipped silently. */
export const mirrorPodFilter: PodFilter = (pod) =>
  pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined
    ? { delete: false, reason: 'skip', kept: 'mirror pod' }
    : okay;

/** Pods with emptyDir volumes lose their data: only with deleteEmptyDirData. */
export const localStorageFilter: PodFilter = (pod, { options }) => {
  if (!pod.spec.volumes?.some((v) => v.emptyDir !== undefined && v.emptyDir !== null)) return okay;
  if (isFinished(pod)) return okay;
  if (!options.deleteEmptyDirData)
    return { delete: false, reason: 'error', message: LOCAL_STORAGE_FATAL, kept: 'refused' };
  return { delete: true, reason: 'warning', message: LOCAL_STORAGE_WARNING };
};

/** Pods that declare no controller are not recreated anywhere: only with force. */
export const unreplicatedFilter: PodFilter = (pod, { options }) => {
  if (isFinished(pod)) return okay;
  if (controllerOf(pod)) return okay;
  if (options.force) return { delete: true, reason: 'warning', message: UNMANAGED_WARNING };
  return { delete: false, reason: 'error', message: UNMANAGED_FATAL, kept: 'refused' };
};

/** kubectl's order (makeFilters). */
export const FILTERS: readonly PodFilter[] = [
  skipDeletedFilter,
  daemonSetFilter,
  mirrorPodFilter,
  localStorageFilter,
  unreplicatedFilter,
];

/** Runs the filters on one pod; the first one that keeps it ends the run (kubectl's short-circuit). */
export function filterPod(pod: DrainPod, ctx: FilterContext, filters: readonly PodFilter[] = FILTERS): PodDeleteStatus {
  let status: PodDeleteStatus = okay;
  for (const filter of filters) {
    status = filter(pod, ctx);
    if (!status.delete) break;
  }
  return status;
}

const ref = (pod: DrainPod): PodRef => ({
  namespace: pod.metadata.namespace,
  name: pod.metadata.name,
  uid: pod.metadata.uid,
});
const key = (p: PodRef) => `${p.namespace}/${p.name}`;

/** Groups pods by message as kubectl does ("<message>: ns/a, ns/b"), in the order the messages first appear. */
function grouped(items: { message: string; pod: PodRef }[], prefix = ''): string[] {
  const by = new Map<string, string[]>();
  for (const { message, pod } of items) by.set(message, [...(by.get(message) ?? []), key(pod)]);
  return [...by].map(([message, pods]) => `${prefix}${message}: ${pods.join(', ')}`);
}

/**
 * kubectl drain's GetPodsForDeletion over the node's pods (those matching podSelector; `unselected`
 * are the node's other pods, kept with their reason). The plan's warnings and errors are kubectl's
 * (errors: "cannot delete <message>: <pods>").
 */
export function planPods(
  node: string,
  unschedulable: boolean,
  pods: DrainPod[],
  ctx: FilterContext,
  unselected: DrainPod[] = [],
): DrainPlan {
  const plan: DrainPlan = { node, unschedulable, evict: [], kept: [], warnings: [], errors: [] };
  const warnings: { message: string; pod: PodRef }[] = [];
  const errors: { message: string; pod: PodRef }[] = [];
  for (const pod of pods) {
    const status = filterPod(pod, ctx);
    const r = ref(pod);
    if (status.reason === 'warning') warnings.push({ message: status.message, pod: r });
    if (status.reason === 'error') errors.push({ message: status.message, pod: r });
    if (status.delete) {
      plan.evict.push(status.reason === 'warning' ? { ...r, warning: status.message } : r);
    } else if (status.reason === 'skip') {
      plan.kept.push({ ...r, reason: status.kept });
    } else if (status.reason === 'warning') {
      plan.kept.push({ ...r, reason: 'DaemonSet pod', warning: status.message });
    } else if (status.reason === 'error') {
      plan.kept.push({ ...r, reason: status.kept === 'refused' ? 'cannot delete (see errors)' : status.kept });
    }
  }
  for (const pod of unselected) plan.kept.push({ ...ref(pod), reason: 'not matching podSelector' });
  plan.warnings = grouped(warnings);
  plan.errors = grouped(errors, 'cannot delete ');
  return plan;
}
