// Pods of the platform's namespaces: privileged containers, host namespaces, added capabilities,
// root users, hostPath volumes; and images not pinned by digest or tagged `latest`. Read-only.
// Findings are grouped by workload (a Deployment's pods are one finding) and by image.
import type { V1Container, V1Pod, V1PodSecurityContext } from '@kubernetes/client-node';
import {
  capWhere,
  type AuditFinding,
  type Severity,
  type WorkloadAuditResult,
} from '../../contract/types/security-audit.ts';
import type { KubeClients } from '../kube/client.ts';
import { kubeCall } from '../errors.ts';
import { namespaceExists } from '../kube/exists.ts';
import { heartbeat } from '../activity-context.ts';

interface Hit {
  check: string;
  severity: Severity;
  what: string;
  why: string;
  fix: string;
  at: string;
}

const DANGEROUS_CAPS = [
  'ALL',
  'SYS_ADMIN',
  'NET_ADMIN',
  'SYS_PTRACE',
  'SYS_MODULE',
  'DAC_READ_SEARCH',
  'NET_RAW',
  'BPF',
];

/** The workload a pod belongs to: Deployment (from its ReplicaSet), Job, StatefulSet, DaemonSet, or the pod itself. */
export function workloadOf(pod: V1Pod): string {
  const ns = pod.metadata?.namespace ?? '';
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return `Pod ${ns}/${pod.metadata?.name ?? ''}`;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`))
    return `Deployment ${ns}/${owner.name.slice(0, -hash.length - 1)}`;
  return `${owner.kind} ${ns}/${owner.name}`;
}

/** The security checks of one pod, one hit per problem and container. */
export function podHits(pod: V1Pod): Hit[] {
  const spec = pod.spec;
  if (!spec) return [];
  const at = workloadOf(pod);
  const hits: Hit[] = [];
  const podSc: V1PodSecurityContext = spec.securityContext ?? {};
  for (const [flag, what] of [
    ['hostNetwork', 'network'],
    ['hostPID', 'process'],
    ['hostIPC', 'IPC'],
  ] as const) {
    if (spec[flag])
      hits.push({
        check: `pod.${flag}`,
        severity: 'high',
        at,
        what: `pods share the node's ${what} namespace (${flag})`,
        why: `a compromised container sees and reaches the node's ${what}es`,
        fix: `remove ${flag}: true from the pod template`,
      });
  }
  for (const v of spec.volumes ?? []) {
    if (v.hostPath)
      hits.push({
        check: 'pod.hostPath',
        severity: 'medium',
        at: `${at} volume ${v.name} (${v.hostPath.path})`,
        what: 'pods mount a hostPath volume',
        why: "a container that writes the node's files can take the node",
        fix: 'use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim instead',
      });
  }
  const containers: V1Container[] = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...((spec.ephemeralContainers ?? []) as V1Container[]),
  ];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `${at} container ${c.name}`;
    if (sc.privileged)
      hits.push({
        check: 'pod.privileged',
        severity: 'critical',
        at: where,
        what: 'privileged containers',
        why: 'a privileged container has every device and capability of the node: escaping to the node is one command',
        fix: 'remove securityContext.privileged (add only the capabilities it needs)',
      });
    const caps = (sc.capabilities?.add ?? [])
      .map((x) => x.toUpperCase().replace(/^CAP_/, ''))
      .filter((x) => DANGEROUS_CAPS.includes(x));
    if (caps.length)
      hits.push({
        check: 'pod.capabilities',
        severity: 'high',
        at: `${where} (${caps.join(',')})`,
        what: 'containers add dangerous capabilities',
        why: 'these capabilities let a container act on the node (mounts, network, other processes)',
        fix: 'drop them (capabilities.drop: [ALL]) and add only what is needed',
      });
    const user = sc.runAsUser ?? podSc.runAsUser;
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (user === 0) {
      hits.push({
        check: 'pod.root',
        severity: 'high',
        at: where,
        what: 'containers run as root (runAsUser: 0)',
        why: "root in a container is root on the node's files it can reach, and one kernel bug from the node",
        fix: 'set runAsUser to a non-zero UID and runAsNonRoot: true (the chart uses 65532)',
      });
    } else if (user === undefined && nonRoot !== true) {
      hits.push({
        check: 'pod.may-run-as-root',
        severity: 'medium',
        at: where,
        what: "containers may run as root (no runAsUser, no runAsNonRoot: the image's USER decides)",
        why: 'most images default to root',
        fix: 'set runAsNonRoot: true and a non-zero runAsUser in the securityContext',
      });
    }
  }
  return hits;
}

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/** `registry/repo:tag@sha256:...` split; a registry port is not a tag. */
export function parseImage(image: string): ImageRef {
  const [nameTag, digest] = image.split('@') as [string, string | undefined];
  const slash = nameTag.lastIndexOf('/');
  const colon = nameTag.lastIndexOf(':');
  const tag = colon > slash ? nameTag.slice(colon + 1) : undefined;
  return {
    repository: colon > slash ? nameTag.slice(0, colon) : nameTag,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

export function imageHit(image: string, at: string, runningDigest?: string): Hit | undefined {
  const ref = parseImage(image);
  if (ref.digest) return undefined;
  const pin = runningDigest ? `${ref.repository}@${runningDigest}` : `${ref.repository}@sha256:<digest>`;
  if (!ref.tag || ref.tag === 'latest') {
    return {
      check: 'image.latest',
      severity: 'medium',
      at,
      what: `image ${image} is ${ref.tag ? 'tagged latest' : 'untagged (latest)'}`,
      why: 'latest changes under the same name: what runs cannot be known, reviewed or rolled back',
      fix: `pin a version and its digest: ${pin}`,
    };
  }
  return {
    check: 'image.unpinned',
    severity: 'low',
    at,
    what: `image ${image} is not pinned by digest`,
    why: 'a tag can be moved to other content (by a registry compromise or by mistake)',
    fix: `pin its digest: ${pin}`,
  };
}

async function listPods(kube: KubeClients, namespace: string): Promise<V1Pod[]> {
  const out: V1Pod[] = [];
  let cont: string | undefined;
  do {
    const page = await kubeCall(`list pods in ${namespace}`, () =>
      kube.core.listNamespacedPod({ namespace, limit: 500, ...(cont ? { _continue: cont } : {}) }),
    );
    out.push(...page.items);
    cont = page.metadata?._continue || undefined;
  } while (cont);
  return out;
}

/** Hits grouped into findings: one per (check, what), naming every place. */
function toFindings(hits: Hit[]): AuditFinding[] {
  const groups = new Map<string, Hit[]>();
  for (const h of hits)
    groups.set(`${h.check}\u0000${h.what}`, [...(groups.get(`${h.check}\u0000${h.what}`) ?? []), h]);
  return [...groups.values()].map((g) => ({
    severity: g[0]!.severity,
    check: g[0]!.check,
    what: g[0]!.what,
    ...capWhere(g.map((h) => h.at)),
    why: g[0]!.why,
    fix: g[0]!.fix,
  }));
}

export async function auditWorkloads(kube: KubeClients, req: { namespaces: string[] }): Promise<WorkloadAuditResult> {
  const present: string[] = [];
  const missing: string[] = [];
  const hits: Hit[] = [];
  const images = new Set<string>();
  let pods = 0;
  let containers = 0;
  for (const ns of [...new Set(req.namespaces)]) {
    if (!(await namespaceExists(kube, ns))) {
      missing.push(ns);
      continue;
    }
    present.push(ns);
    for (const pod of await listPods(kube, ns)) {
      pods++;
      hits.push(...podHits(pod));
      const running = new Map(
        [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [
          s.name,
          s.imageID,
        ]),
      );
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
        containers++;
        if (!c.image) continue;
        images.add(c.image);
        const digest = /@(sha256:[0-9a-f]{64})$/.exec(running.get(c.name) ?? '')?.[1];
        const hit = imageHit(c.image, `${workloadOf(pod)} container ${c.name}`, digest);
        if (hit) hits.push(hit);
      }
    }
    heartbeat({ namespace: ns, pods });
  }
  return {
    namespaces: present,
    missingNamespaces: missing,
    pods,
    containers,
    images: images.size,
    findings: toFindings(hits),
  };
}
