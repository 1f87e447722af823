// rollingNodeMaintenance's activities: which nodes (by name or label selector), waiting for a node to
// report a kubelet version or Ready (a watch on the node, not a poll), and TaskRuns stuck in Pending
// (the platform check after each node, with platformHealth's checkPods).
import { Watch, type V1Node } from '@kubernetes/client-node';
import type { ActivityDeps } from '../deps.ts';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { readIfExists } from '../kube/exists.ts';
import { listAllPages, PAGE_SIZE } from '../kube/paginate.ts';
import { listTaskRuns } from '../kube/taskruns.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import {
  kubeletVersionMatches,
  type NodeReading,
  type SelectNodesRequest,
  type SelectNodesResult,
  type StuckTaskRunsResult,
  type WaitNodeRequest,
  type WaitNodeResult,
} from '../../contract/types/rolling-maintenance.ts';

/** Without an event, the node is read again this often (a watch that broke silently cannot stall the wait). */
const RECHECK_MS = 10_000;

export function nodeReading(node: V1Node | undefined): NodeReading {
  if (!node) return { exists: false, ready: false, unschedulable: false, reason: 'the node does not exist' };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const version = node.status?.nodeInfo?.kubeletVersion;
  return {
    exists: true,
    ready: ready?.status === 'True',
    unschedulable: node.spec?.unschedulable === true,
    ...(version ? { kubeletVersion: version } : {}),
    ...(ready?.status === 'True' ? {} : { reason: ready?.reason ?? ready?.message ?? 'no Ready condition' }),
  };
}

const matches = (r: NodeReading, req: WaitNodeRequest) =>
  r.exists &&
  (req.ready !== true || r.ready) &&
  (req.kubeletVersion === undefined || kubeletVersionMatches(r.kubeletVersion, req.kubeletVersion));

export async function selectNodes(kube: KubeClients, req: SelectNodesRequest): Promise<SelectNodesResult> {
  if (req.nodes) {
    const missing: string[] = [];
    for (const name of req.nodes)
      if (!(await readIfExists(`node ${name}`, () => kube.core.readNode({ name })))) missing.push(name);
    return { nodes: req.nodes.filter((n) => !missing.includes(n)), missing };
  }
  const nodes = await kubeCall(`list nodes (${req.selector})`, () =>
    listAllPages((cont) => kube.core.listNode({ labelSelector: req.selector, limit: PAGE_SIZE, _continue: cont })),
  );
  return {
    nodes: nodes
      .map((n) => n.metadata?.name ?? '')
      .filter(Boolean)
      .sort(),
    missing: [],
  };
}

/**
 * Waits until the node matches the request (Ready, kubelet version) or timeoutSeconds pass; answers
 * with the last reading either way (matched: false is not an error: the workflow decides). A node
 * that is absent for a while (replaced under the same name) is waited for too. Heartbeats; honours
 * cancellation.
 */
export async function waitNodeState(kube: KubeClients, req: WaitNodeRequest): Promise<WaitNodeResult> {
  const signal = cancellationSignal();
  const endAt = Date.now() + req.timeoutSeconds * 1000;
  const read = async () =>
    nodeReading(await readIfExists(`node ${req.node}`, () => kube.core.readNode({ name: req.node })));
  let reading = await read();
  if (matches(reading, req) || Date.now() >= endAt) return { matched: matches(reading, req), node: reading };

  const watcher = new Watch(kube.config);
  let stopWatch: AbortController | undefined;
  let wake: (() => void) | undefined;
  const startWatch = () => {
    watcher
      .watch(
        '/api/v1/nodes',
        { fieldSelector: `metadata.name=${req.node}`, timeoutSeconds: Math.max(1, Math.ceil(req.timeoutSeconds)) },
        (type: string, obj: V1Node) => {
          if (type === 'ADDED' || type === 'MODIFIED') reading = nodeReading(obj);
          else if (type === 'DELETED') reading = nodeReading(undefined);
          wake?.();
        },
        () => {
          stopWatch = undefined;
        },
      )
      .then(
        (a) => {
          stopWatch = a;
        },
        () => undefined,
      );
  };
  const beat = setInterval(() => heartbeat({ node: req.node, reading }), 5000);
  try {
    startWatch();
    for (;;) {
      signal?.throwIfAborted();
      if (matches(reading, req)) return { matched: true, node: reading };
      const left = endAt - Date.now();
      if (left <= 0) return { matched: false, node: reading };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, RECHECK_MS));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        wake = done;
        signal?.addEventListener('abort', done);
      });
      wake = undefined;
      if (!matches(reading, req)) {
        reading = await read();
        if (!stopWatch) startWatch();
      }
    }
  } finally {
    clearInterval(beat);
    stopWatch?.abort();
  }
}

/** TaskRuns in phase Pending (or without one) for longer than olderThanSeconds: the guide's "TaskRun Stuck in Pending". */
export async function findStuckTaskRuns(
  kube: KubeClients,
  req: { namespace: string; olderThanSeconds: number },
): Promise<StuckTaskRunsResult> {
  const now = Date.now();
  const examples: StuckTaskRunsResult['examples'] = [];
  let stuck = 0;
  const list = await listTaskRuns(kube, req.namespace, {
    crdMissing: 'empty',
    keep: false,
    onPage: (runs) => {
      for (const run of runs) {
        const phase = run.status?.phase ?? 'Pending';
        const created = Date.parse(run.metadata.creationTimestamp ?? '');
        if (phase !== 'Pending' || Number.isNaN(created)) continue;
        const pendingSeconds = Math.round((now - created) / 1000);
        if (pendingSeconds <= req.olderThanSeconds) continue;
        stuck++;
        if (examples.length < 5) examples.push({ name: run.metadata.name, pendingSeconds });
      }
    },
  });
  return { crdInstalled: list.crdInstalled, stuck, examples };
}

export function nodeMaintenanceActivities({ kube }: ActivityDeps) {
  return {
    selectNodes: (req: SelectNodesRequest) => selectNodes(kube, req),
    waitNodeState: (req: WaitNodeRequest) => waitNodeState(kube, req),
    findStuckTaskRuns: (req: { namespace: string; olderThanSeconds: number }) => findStuckTaskRuns(kube, req),
  };
}
