// The worker chart's RBAC on the local cluster: installed with helm, then asked with
// SubjectAccessReview, as the worker's ServiceAccount, whether every right in
// charts/runbook-worker/permissions.yaml is allowed (cluster rules cluster-wide, managed rules in
// the managed namespaces only) and unrelated rights are not. Then helm, impersonating the
// ServiceAccount, installs, upgrades and uninstalls the platform chart in a managed namespace:
// the rights suffice for what helm creates (Roles included: Kubernetes refuses a Role that grants
// more than its creator holds). The image need not run: nothing here waits for the pods.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuthorizationV1Api, KubeConfig, type V1ResourceAttributes } from '@kubernetes/client-node';
import { execa } from 'execa';
import { parse } from 'yaml';
import { makeKubeClients, type KubeClients } from '../../activities/kube/client.ts';
import { cordonNode, planDrain, uncordonNode } from '../../activities/drain/index.ts';
import { addNodes, kwokNode } from '../helpers/kwok-nodes.ts';
import { platformHealthActivities } from '../../activities/platform-health.ts';
import { createLogger } from '../../worker/logger.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { uniqueNamespace, useTestCluster, type TestCluster } from '../helpers/cluster.ts';

const chart = fileURLToPath(new URL('../../charts/runbook-worker', import.meta.url));
const platformChart = fileURLToPath(new URL('../../charts/orchestrator', import.meta.url));
const helmBin = toolPath('helm');
const helmHome = mkdtempSync(join(tmpdir(), 'runbooks-rbac-helm-'));
after(() => rmSync(helmHome, { recursive: true, force: true }));
const testCluster = useTestCluster();
// HOME too: without it, client-go in helm keeps its discovery cache in ./.kube of the working directory.
const helmProcessEnv = {
  HOME: helmHome,
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
  PATH: process.env.PATH ?? '',
};

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const permissions = parse(readFileSync(join(chart, 'permissions.yaml'), 'utf8')) as {
  cluster: Rule[];
  managed: Rule[];
  secretSources: Rule[];
};

// Cluster-scoped resources (checked without a namespace); every other resource is namespaced.
const CLUSTER_SCOPED = new Set(['namespaces', 'customresourcedefinitions', 'nodes', 'volumesnapshotclasses']);

interface Installed {
  cluster: TestCluster;
  release: string;
  namespace: string;
  managed: string[];
  unmanaged: string;
  secretSource: string;
  user: string;
  groups: string[];
}

let installed: Promise<Installed> | undefined;

async function helm(cluster: TestCluster, args: string[]) {
  const r = await execa(helmBin, [...args, '--kubeconfig', cluster.kubeconfigPath], {
    env: helmProcessEnv,
    extendEnv: false,
    reject: false,
    timeout: 120_000,
  });
  assert.equal(r.exitCode, 0, `helm ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
}

/** The chart installed once for the file, with namespaces of its own. */
function install(): Promise<Installed> {
  return (installed ??= (async () => {
    const cluster = await testCluster();
    const namespace = uniqueNamespace('rbw');
    const release = `rbw-${namespace.slice(-6)}`;
    const managed = [`${namespace}-platform`, `${namespace}-scratch`];
    const unmanaged = `${namespace}-other`;
    const secretSource = `${namespace}-vault`;
    for (const ns of [unmanaged, secretSource]) await cluster.kubectl(['create', 'namespace', ns]);
    cluster.defer(() =>
      cluster.kubectl([
        'delete',
        'namespace',
        '--wait=false',
        '--ignore-not-found',
        namespace,
        unmanaged,
        secretSource,
        ...managed,
      ]),
    );
    cluster.defer(() => helm(cluster, ['uninstall', release, '-n', namespace, '--ignore-not-found']));
    await helm(cluster, [
      'install',
      release,
      chart,
      '-n',
      namespace,
      '--create-namespace',
      '--set',
      'temporal.address=temporal-frontend.temporal:7233',
      '--set',
      'replicaCount=1',
      '--set',
      `rbac.managedNamespaces={${managed.join(',')}}`,
      '--set',
      'rbac.createNamespaces=true',
      '--set',
      `secretSources.namespaces={${secretSource}}`,
      '--set',
      'backup.persistence.accessModes={ReadWriteOnce}',
    ]);
    const sa = `${release}-runbook-worker`;
    return {
      cluster,
      release,
      namespace,
      managed,
      unmanaged,
      secretSource,
      user: `system:serviceaccount:${namespace}:${sa}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    };
  })());
}

/** SubjectAccessReview: may the worker's ServiceAccount do this? */
async function allowed(s: Installed, attrs: V1ResourceAttributes): Promise<boolean> {
  const api = s.cluster.kube.config.makeApiClient(AuthorizationV1Api);
  const review = await api.createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: s.user, groups: s.groups, resourceAttributes: attrs },
    },
  });
  return review.status?.allowed === true;
}

const attrs = (group: string, resourceWithSub: string, verb: string, namespace?: string): V1ResourceAttributes => {
  const [resource, subresource] = resourceWithSub.split('/');
  return {
    group,
    resource: resource!,
    verb,
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
  };
};

/** The same resource with each of these verbs. */
const verbs = (group: string, resource: string, verbList: string[], namespace?: string) =>
  verbList.map((verb) => attrs(group, resource, verb, namespace));
const describe = (a: V1ResourceAttributes) =>
  `${a.verb} ${a.group || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ' cluster-wide'}`;

/** Every (group, resource, verb) of some rules. */
const expand = (rules: Rule[]) =>
  rules.flatMap((r) =>
    r.apiGroups.flatMap((g) =>
      r.resources.flatMap((res) => r.verbs.map((v) => ({ group: g, resource: res, verb: v }))),
    ),
  );

async function check(s: Installed, cases: V1ResourceAttributes[], expected: boolean): Promise<string[]> {
  const results = await Promise.all(
    cases.map(async (a) => ((await allowed(s, a)) === expected ? undefined : describe(a))),
  );
  return results.filter((r): r is string => r !== undefined);
}

void test('every right of permissions.yaml is allowed: cluster rules everywhere, managed rules in managed namespaces, Secrets read in secret sources', async () => {
  const s = await install();
  const cases: V1ResourceAttributes[] = [
    ...expand(permissions.cluster).flatMap(({ group, resource, verb }) =>
      CLUSTER_SCOPED.has(resource.split('/')[0]!)
        ? [attrs(group, resource, verb)]
        : [attrs(group, resource, verb), attrs(group, resource, verb, s.unmanaged)],
    ),
    ...s.managed.flatMap((ns) =>
      expand(permissions.managed).map(({ group, resource, verb }) => attrs(group, resource, verb, ns)),
    ),
    ...expand(permissions.secretSources).map(({ group, resource, verb }) =>
      attrs(group, resource, verb, s.secretSource),
    ),
  ];
  assert.ok(cases.length > 150, `only ${cases.length} checks`);
  assert.deepEqual(
    await check(s, cases, true),
    [],
    'rights in permissions.yaml that the installed chart does not grant',
  );
});

void test('managed rights stop at the managed namespaces; unrelated rights are forbidden', async () => {
  const s = await install();
  const clusterWide = new Set(expand(permissions.cluster).map((p) => `${p.group}|${p.resource}|${p.verb}`));
  const outside = expand(permissions.managed).filter((p) => !clusterWide.has(`${p.group}|${p.resource}|${p.verb}`));
  const forbidden: V1ResourceAttributes[] = [
    // Everything the managed Role grants, in a namespace the runbooks do not manage, and in kube-system.
    ...outside.flatMap(({ group, resource, verb }) => [
      attrs(group, resource, verb, s.unmanaged),
      attrs(group, resource, verb, 'kube-system'),
    ]),
    // Secrets: never cluster-wide; in a secret-source namespace only `get`.
    attrs('', 'secrets', 'list'),
    attrs('', 'secrets', 'get', s.unmanaged),
    ...verbs('', 'secrets', ['list', 'create'], s.secretSource),
    // Wildcards.
    ...['pods', 'secrets', 'deployments', 'nodes'].map((r) =>
      attrs(r === 'deployments' ? 'apps' : '', r, '*', s.managed[0]),
    ),
    attrs('*', '*', '*'),
    attrs('*', '*', '*', s.managed[0]),
    // Privilege escalation.
    ...verbs('rbac.authorization.k8s.io', 'roles', ['escalate', 'bind'], s.managed[0]),
    ...verbs('rbac.authorization.k8s.io', 'clusterroles', ['escalate', 'bind', 'create']),
    attrs('rbac.authorization.k8s.io', 'clusterrolebindings', 'create'),
    ...['users', 'groups'].map((r) => attrs('', r, 'impersonate')),
    attrs('', 'serviceaccounts', 'impersonate', s.managed[0]),
    attrs('', 'serviceaccounts/token', 'create', s.managed[0]),
    // Nodes and pods beyond drains.
    ...verbs('', 'nodes/proxy', ['get', 'create']),
    ...verbs('', 'nodes', ['delete', 'update']),
    attrs('', 'pods', 'create', s.managed[0]),
    attrs('', 'pods/exec', 'create', s.managed[0]),
    attrs('', 'pods', 'update', s.unmanaged),
    // Cluster-wide mutations the runbooks never make.
    attrs('apiextensions.k8s.io', 'customresourcedefinitions', 'delete'),
    attrs('', 'namespaces', 'update'),
    attrs('admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'create'),
    attrs('', 'persistentvolumes', 'create'),
  ];
  assert.deepEqual(await check(s, forbidden, false), [], 'rights the worker must not have');
});

void test("as the worker's ServiceAccount, helm installs, upgrades and uninstalls the platform chart in a managed namespace", async () => {
  const s = await install();
  const ns = s.managed[0]!;
  const as = ['--kube-as-user', s.user, ...s.groups.flatMap((g) => ['--kube-as-group', g])];
  // --skip-crds, as deployPlatform installs (activities/helm/upgrade.ts): the runbook applies the CRD
  // itself as its one field manager, and helm's own apply of it conflicts with that owner's fields.
  await helm(s.cluster, ['install', 'orchestrator', platformChart, '-n', ns, '--skip-crds', ...as]);
  await helm(s.cluster, [
    'upgrade',
    'orchestrator',
    platformChart,
    '-n',
    ns,
    '--set',
    'image.tag=1.0.1',
    '--set',
    'leaderElection.enabled=true',
    ...as,
  ]);
  assert.match(await helm(s.cluster, ['status', 'orchestrator', '-n', ns, '-o', 'json', ...as]), /"status":"deployed"/);
  await helm(s.cluster, ['uninstall', 'orchestrator', '-n', ns, ...as]);
  // And not in a namespace it does not manage.
  const refused = await execa(
    helmBin,
    [
      'install',
      'orchestrator',
      platformChart,
      '-n',
      s.unmanaged,
      '--skip-crds',
      ...as,
      '--kubeconfig',
      s.cluster.kubeconfigPath,
    ],
    { env: helmProcessEnv, extendEnv: false, reject: false, timeout: 120_000 },
  );
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /forbidden/i);
});

/** API clients that act as the worker's ServiceAccount (the admin kubeconfig impersonates it). */
function asWorker(s: Installed): KubeClients {
  const admin = s.cluster.kube.config;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: admin.getClusters(),
    users: admin.getUsers().map((u) => ({ ...u, impersonateUser: s.user })),
    contexts: admin.getContexts(),
    currentContext: admin.getCurrentContext(),
  });
  return makeKubeClients(config);
}

void test("as the worker's ServiceAccount, the health and drain activities run (and reading Secrets outside the managed namespaces fails)", async () => {
  const s = await install();
  const kube = asWorker(s);
  const health = platformHealthActivities({
    kube,
    kubeTarget: { kubeconfigPath: s.cluster.kubeconfigPath },
    helmBin: helmBin,
    workdir: process.cwd(),
    logger: createLogger('warn'),
  });
  assert.match((await health.describeCluster()).version, /^v1\./);
  // A node of this test's own to cordon: other files' pods and drains run on theirs meanwhile.
  const node = `rbac-${s.namespace}`;
  await addNodes(s.cluster, [kwokNode(node, { key: 'rbac-test', value: s.namespace })]);
  const nodes = await health.checkNodes();
  await health.checkPods(s.managed[0]!);
  await health.countTaskRuns(s.managed[0]!);
  assert.ok(JSON.stringify(nodes).includes(node));
  const plan = await planDrain(kube, {
    node,
    ignoreDaemonSets: true,
    deleteEmptyDirData: true,
    force: true,
    skipWaitForDeleteTimeoutSeconds: 0,
  });
  assert.equal(plan.node, node);
  const workflowId = `rbac-${s.namespace}`;
  const cordoned = await cordonNode(kube, { node, workflowId });
  if (cordoned.cordonedByUs) {
    s.cluster.defer(() => s.cluster.kubectl(['uncordon', node]));
    // A 409 (kwok's controller updates the node meanwhile) is retryable: Temporal retries the activity.
    for (let attempt = 1; ; attempt++) {
      try {
        await uncordonNode(kube, { node, workflowId });
        break;
      } catch (err) {
        if ((err as { type?: string }).type !== 'KubeConflict' || attempt === 5) throw err;
      }
    }
  }
  await assert.rejects(
    kube.core.listNamespacedSecret({ namespace: s.unmanaged }),
    (err: { code?: number }) => err.code === 403,
  );
});
