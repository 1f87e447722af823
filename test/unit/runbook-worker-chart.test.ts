// The worker's own chart (charts/runbook-worker): helm lint --strict, the rendered RBAC equals the
// one list of rights (charts/runbook-worker/permissions.yaml), every Kubernetes API call in
// activities/ is covered by that list, and the Deployment's args are flags the worker accepts.
// Needs the pinned helm (`npm run tools`); HELM_BIN overrides its location.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { parseWorkerConfig } from '../../worker/config.ts';
import { cacheRoot } from '../../worker/cache-dir.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chartDir = join(repoRoot, 'charts', 'runbook-worker');
const toolsCache = cacheRoot();
const helmBin = process.env.HELM_BIN ?? join(toolsCache, 'tools', 'bin', 'helm');
const release = 'rw';
const namespace = 'runbooks';
const fullname = 'rw-runbook-worker';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  calls?: string[];
}
interface Permissions {
  cluster: Rule[];
  managed: Rule[];
  secretSources: Rule[];
  discovery: { calls: string[] };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Rule[];
  [k: string]: unknown;
}
interface Container {
  name: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  volumeMounts: { name: string; mountPath: string }[];
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }[];
      };
    };
  };
}

const permissions = parse(readFileSync(join(chartDir, 'permissions.yaml'), 'utf8')) as Permissions;
const rulesOnly = (rules: Rule[]) => rules.map(({ apiGroups, resources, verbs }) => ({ apiGroups, resources, verbs }));

function helm(...args: string[]) {
  if (!existsSync(helmBin)) assert.fail(`helm not found at ${helmBin}: run \`npm run tools\` (or set HELM_BIN)`);
  const r = spawnSync(helmBin, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

const BASE = [
  '--set',
  'temporal.address=temporal-frontend.temporal:7233',
  '--set',
  'rbac.managedNamespaces={platform,scratch}',
];

function render(...args: string[]): Manifest[] {
  const out = helm('template', release, chartDir, '--namespace', namespace, ...BASE, ...args);
  assert.equal(out.status, 0, `helm template failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function find<T extends Manifest>(manifests: Manifest[], kind: string, name = fullname, ns?: string): T {
  const found = manifests.find(
    (m) => m.kind === kind && m.metadata.name === name && (ns === undefined || m.metadata.namespace === ns),
  );
  assert.ok(
    found,
    `no ${kind}/${name}${ns ? ` in ${ns}` : ''}; got ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`,
  );
  return found as T;
}

const worker = (d: Deployment) => d.spec.template.spec.containers.find((c) => c.name === 'worker')!;

void test('helm lint --strict is clean (defaults, and a production-like set of values)', () => {
  for (const args of [
    [],
    [
      ...BASE,
      '--set',
      'temporal.tls.clientCertSecret=temporal-client',
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'secretSources.namespaces={vault}',
    ],
  ]) {
    const out = helm('lint', '--strict', chartDir, ...args);
    const output = out.stdout + out.stderr;
    assert.equal(out.status, 0, output);
    assert.doesNotMatch(output, /\[(WARNING|ERROR)\]/, output);
  }
});

void test('the rendered RBAC is exactly permissions.yaml: a ClusterRole, a Role per managed namespace, Secrets read in secret-source namespaces', () => {
  const m = render('--set', 'secretSources.namespaces={vault}');
  assert.deepEqual(find(m, 'ClusterRole').rules, rulesOnly(permissions.cluster));
  for (const ns of ['platform', 'scratch']) {
    assert.deepEqual(find(m, 'Role', fullname, ns).rules, rulesOnly(permissions.managed));
    assert.equal(
      (find(m, 'RoleBinding', fullname, ns) as unknown as { subjects: { name: string; namespace: string }[] })
        .subjects[0]!.namespace,
      namespace,
    );
  }
  assert.deepEqual(find(m, 'Role', `${fullname}-secret-sources`, 'vault').rules, rulesOnly(permissions.secretSources));
  // Only these Roles: nothing in the release namespace or elsewhere.
  assert.deepEqual(
    m
      .filter((x) => x.kind === 'Role')
      .map((x) => `${x.metadata.namespace}/${x.metadata.name}`)
      .sort(),
    ['platform/rw-runbook-worker', 'scratch/rw-runbook-worker', 'vault/rw-runbook-worker-secret-sources'],
  );
  const binding = find(m, 'ClusterRoleBinding') as unknown as {
    roleRef: { kind: string; name: string };
    subjects: { kind: string; name: string; namespace: string }[];
  };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: fullname });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: fullname, namespace }]);
});

void test('permissions.yaml grants no wildcard, no escalate/bind/impersonate, no nodes/proxy, no cluster-wide Secrets', () => {
  const all = [...permissions.cluster, ...permissions.managed, ...permissions.secretSources];
  for (const rule of all) {
    assert.ok(
      !rule.verbs.includes('*') && !rule.resources.includes('*') && !rule.apiGroups.includes('*'),
      `wildcard in ${JSON.stringify(rule)}`,
    );
    assert.ok(
      !rule.verbs.some((v) => ['escalate', 'bind', 'impersonate'].includes(v)),
      `escalation verb in ${JSON.stringify(rule)}`,
    );
    assert.ok(!rule.resources.includes('nodes/proxy'), 'nodes/proxy');
    assert.ok(rule.calls && rule.calls.length > 0, `rule without calls (who needs it?): ${JSON.stringify(rule)}`);
  }
  assert.ok(
    !permissions.cluster.some((r) => r.resources.includes('secrets')),
    'Secrets must be namespaced (managed namespaces only)',
  );
});

/** Every .ts file under a directory. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

// The client-node calls that reach the API server: verb-first method names, custom-object getters,
// discovery; plus `new Watch(` (watches). KubernetesObjectApi (objects.read/patch) is `apply`, kube.json `json`.
const CALL =
  /\.((?:list|read|create|patch|delete|replace|connect|watch)[A-Z][A-Za-z]*|get(?:Namespaced|Cluster)CustomObject[A-Za-z]*|getAPIResources|getCode)\(/g;

void test('every Kubernetes API call in activities/ is named by a rule of permissions.yaml (a new call fails here until the list and the chart grant it)', () => {
  const named = new Set(
    [...permissions.cluster, ...permissions.managed, ...permissions.secretSources]
      .flatMap((r) => r.calls ?? [])
      .concat(permissions.discovery.calls),
  );
  const used = new Map<string, string>();
  for (const file of sources(join(repoRoot, 'activities'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(CALL)) used.set(match[1]!, relative(repoRoot, file));
    if (/new Watch\(/.test(text)) used.set('Watch', relative(repoRoot, file));
    if (/objects\.(patch|read)\(/.test(text)) used.set('apply', relative(repoRoot, file));
    // The lean JSON calls (kube.json) name no resource in a method name: `json`, listed where they are used.
    if (/\.json\(\s*'(GET|POST|PUT|PATCH)'/.test(text)) used.set('json', relative(repoRoot, file));
  }
  assert.ok(used.size > 20, `the scan found only ${used.size} calls: is the pattern still right?`);
  const missing = [...used].filter(([call]) => !named.has(call)).map(([call, file]) => `${call} (${file})`);
  assert.deepEqual(
    missing,
    [],
    'calls no rule of charts/runbook-worker/permissions.yaml names: add the right there (the chart renders from it)',
  );
  // And no stale names: every call in the list is still made (helm is the helm binary's own).
  const stale = [...named].filter((call) => call !== 'helm' && !used.has(call));
  assert.deepEqual(
    stale,
    [],
    'permissions.yaml names calls that activities/ no longer make: drop them (and rights nothing needs)',
  );
});

void test('the Deployment: in-cluster config (no kubeconfig), flags the worker accepts, probes, non-root read-only container', () => {
  const d = find<Deployment>(render('--set', 'replicaCount=3'), 'Deployment');
  assert.equal(d.spec.replicas, 3);
  const c = worker(d);
  assert.ok(
    !c.args.some((a) => a.startsWith('--kubeconfig') || a.startsWith('--context')),
    'in a pod the worker uses the in-cluster config',
  );
  const config = parseWorkerConfig(c.args, {}, () => true);
  assert.ok(config !== 'help');
  assert.equal(config.inCluster, true);
  assert.equal(config.temporalAddress, 'temporal-frontend.temporal:7233');
  assert.equal(config.httpHost, '0.0.0.0');
  assert.equal(config.backupDir, '/data/backups');
  assert.equal(config.temporalTls, undefined);
  assert.equal(c.livenessProbe.httpGet.path, '/health');
  assert.equal(c.readinessProbe.httpGet.path, '/ready');
  assert.deepEqual(c.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  assert.deepEqual(c.volumeMounts.map((v) => v.mountPath).sort(), ['/data/backups', '/tmp']);
  assert.equal(d.spec.template.spec.serviceAccountName, fullname);
});

void test('Temporal mTLS and API key come from Secret references, never values', () => {
  const d = find<Deployment>(
    render(
      '--set',
      'temporal.tls.clientCertSecret=temporal-client',
      '--set',
      'temporal.tls.serverCASecret=temporal-ca',
      '--set',
      'temporal.tls.serverName=ns.acct.tmprl.cloud',
      '--set',
      'temporal.apiKey.secretName=temporal-api',
      '--set',
      'backup.hmacKey.secretName=backup-keys',
      '--set',
      'backup.ageIdentity.secretName=backup-keys',
      '--set',
      'backup.recipients={age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq}',
    ),
    'Deployment',
  );
  const c = worker(d);
  const config = parseWorkerConfig(c.args, {}, () => true);
  assert.ok(config !== 'help');
  assert.deepEqual(config.temporalTls, {
    clientCertPath: '/etc/temporal/client/tls.crt',
    clientKeyPath: '/etc/temporal/client/tls.key',
    serverCaCertPath: '/etc/temporal/server-ca/ca.crt',
    serverName: 'ns.acct.tmprl.cloud',
  });
  assert.equal(
    c.env?.find((e) => e.name === 'RUNBOOK_BACKUP_RECIPIENTS')?.value,
    'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq',
  );
  const env = Object.fromEntries(
    (c.env ?? []).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom?.secretKeyRef]),
  );
  assert.deepEqual(env, {
    TEMPORAL_API_KEY: { name: 'temporal-api', key: 'api-key' },
    RUNBOOK_BACKUP_HMAC_KEY: { name: 'backup-keys', key: 'hmac-key' },
    RUNBOOK_BACKUP_AGE_IDENTITY: { name: 'backup-keys', key: 'identity' },
  });
  const secrets = d.spec.template.spec.volumes.flatMap((v) => (v.secret ? [v.secret.secretName] : []));
  assert.deepEqual(secrets.sort(), ['temporal-ca', 'temporal-client']);
});

void test('the backup store: a kept PVC or an existing claim; several replicas need ReadWriteMany', () => {
  const own = render();
  const pvc = find(own, 'PersistentVolumeClaim', `${fullname}-backups`);
  assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  const existing = render('--set', 'backup.persistence.existingClaim=backups');
  assert.ok(!existing.some((m) => m.kind === 'PersistentVolumeClaim'));
  assert.equal(
    find<Deployment>(existing, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'backups')
      ?.persistentVolumeClaim?.claimName,
    'backups',
  );
  const out = helm(
    'template',
    release,
    chartDir,
    ...BASE,
    '--set',
    'replicaCount=2',
    '--set',
    'backup.persistence.accessModes={ReadWriteOnce}',
  );
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /replicaCount > 1 shares the backup store/);
});

void test('optional parts: ServiceMonitor off by default, PodDisruptionBudget on; the schema refuses bad values', () => {
  assert.ok(!render().some((m) => m.kind === 'ServiceMonitor'));
  find(render('--set', 'serviceMonitor.enabled=true'), 'ServiceMonitor');
  find(render(), 'PodDisruptionBudget');
  for (const bad of [
    ['--set', 'temporal.address=no-port'],
    ['--set', 'replicaCount=0'],
    ['--set', 'rbac.managedNamespaces={Bad_NS}'],
    ['--set', 'unknownKey=1'],
  ]) {
    const out = helm('template', release, chartDir, ...BASE, ...bad);
    assert.notEqual(out.status, 0, `accepted ${bad.join(' ')}`);
  }
  const noAddress = helm('template', release, chartDir, '--set', 'rbac.managedNamespaces={p}');
  assert.match(noAddress.stderr, /temporal.address is required/);
});
