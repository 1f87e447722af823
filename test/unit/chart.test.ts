// The platform chart (charts/orchestrator): helm lint, helm template, and the TaskRun CRD file.
// Needs the pinned helm (`npm run tools`); HELM_BIN overrides its location.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ORCHESTRATOR_CHART_OBJECTS } from '../helpers/chart-objects.ts';
import { cacheRoot } from '../../worker/cache-dir.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chartDir = join(repoRoot, 'charts', 'orchestrator');
const productionValues = join(chartDir, 'values-production.yaml');
const crdFile = join(chartDir, 'crds', 'taskruns.orchestrator.io.yaml');
const toolsCache = cacheRoot();
const helmBin = process.env.HELM_BIN ?? join(toolsCache, 'tools', 'bin', 'helm');

const release = 'orchestrator';
const namespace = 'orchestrator';

// --- the few Kubernetes shapes the assertions read --------------------------------------------

type Labels = Record<string, string>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Probe;
  livenessProbe: Probe;
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Labels };
    template: { metadata: { labels: Labels }; spec: { serviceAccountName: string; containers: Container[] } };
  };
}
interface Service extends Manifest {
  spec: { selector: Labels; ports: { name: string; port: number; targetPort: number | string }[] };
}
interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Role extends Manifest {
  rules: PolicyRule[];
}
interface RoleBinding extends Manifest {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
}
interface ConfigMap extends Manifest {
  data: Record<string, string>;
}
interface PodDisruptionBudget extends Manifest {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector: { matchLabels: Labels } };
}

// --- helm ----------------------------------------------------------------------------------------

interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function helm(...args: string[]): HelmResult {
  if (!existsSync(helmBin)) {
    assert.fail(`helm not found at ${helmBin}: run \`npm run tools\` to install the pinned helm (or set HELM_BIN)`);
  }
  const result = spawnSync(helmBin, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `helm template` of the chart as the runbooks install it; fails the test on a render error. */
function render(...args: string[]): Manifest[] {
  const out = helm('template', release, chartDir, '--namespace', namespace, ...args);
  assert.equal(out.status, 0, `helm template failed:\n${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((doc) => {
      assert.deepEqual(doc.errors, [], 'helm template printed invalid YAML');
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** `helm template` that must be refused; returns helm's error output. */
function renderFails(...args: string[]): string {
  const out = helm('template', release, chartDir, '--namespace', namespace, ...args);
  assert.notEqual(out.status, 0, `helm template should have failed for: ${args.join(' ')}`);
  return out.stderr;
}

function get<T extends Manifest>(manifests: Manifest[], kind: string, name = release): T {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `no ${kind}/${name} rendered; got ${manifests.map(idOf).join(', ')}`);
  return found as T;
}

const idOf = (m: Manifest) => `${m.kind}/${m.metadata.name}`;

function orchestratorContainer(deployment: Deployment): Container {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'orchestrator');
  assert.ok(container, 'the Deployment has no orchestrator container');
  return container;
}

function assertLintClean(...args: string[]) {
  const out = helm('lint', '--strict', chartDir, ...args);
  const output = out.stdout + out.stderr;
  assert.equal(out.status, 0, `helm lint failed:\n${output}`);
  assert.doesNotMatch(output, /\[(WARNING|ERROR)\]/, `helm lint is not clean:\n${output}`);
  assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
}

// --- lint ----------------------------------------------------------------------------------------

void test('helm lint is clean with the default values', () => {
  assertLintClean();
});

void test('helm lint is clean with values-production.yaml', () => {
  assertLintClean('--values', productionValues);
});

// --- rendered objects ----------------------------------------------------------------------------

void test('renders the platform objects, all namespaced in the release namespace with standard labels', () => {
  const manifests = render();
  assert.deepEqual(manifests.map(idOf).sort(), ORCHESTRATOR_CHART_OBJECTS);
  for (const m of manifests) {
    assert.equal(m.metadata.namespace, namespace, `${idOf(m)} namespace`);
    assert.deepEqual(
      Object.keys(m.metadata.labels ?? {})
        .filter((k) => k.startsWith('app.kubernetes.io/') || k === 'helm.sh/chart')
        .sort(),
      [
        'app.kubernetes.io/instance',
        'app.kubernetes.io/managed-by',
        'app.kubernetes.io/name',
        'app.kubernetes.io/part-of',
        'app.kubernetes.io/version',
        'helm.sh/chart',
      ],
      `${idOf(m)} labels`,
    );
  }
});

void test('the Deployment runs the image from values', () => {
  const image = (...args: string[]) => orchestratorContainer(get<Deployment>(render(...args), 'Deployment')).image;
  assert.equal(image(), 'ghcr.io/example/orchestrator:1.0.0');
  assert.equal(image('--set', 'image.tag=main-abc1234'), 'ghcr.io/example/orchestrator:main-abc1234');
  assert.equal(
    image('--set', 'image.repository=registry.local/orch', '--set', 'image.tag=2.0.0'),
    'registry.local/orch:2.0.0',
  );
});

void test('API keys come from the Secret by secretKeyRef, never as literal values', () => {
  const env = (...args: string[]) => orchestratorContainer(get<Deployment>(render(...args), 'Deployment')).env;

  for (const name of ['ANTHROPIC_API_KEY', 'GITHUB_TOKEN']) {
    const variable = env().find((e) => e.name === name);
    assert.ok(variable, `${name} is not in the Deployment's env`);
    assert.equal(variable.value, undefined, `${name} has a literal value`);
    assert.deepEqual(variable.valueFrom?.secretKeyRef, { name: 'orchestrator-secrets', key: name });
  }
  const secretLooking = env().filter((e) => /KEY|TOKEN|SECRET|PASSWORD/.test(e.name));
  assert.ok(
    secretLooking.every((e) => e.value === undefined && e.valueFrom?.secretKeyRef),
    'a secret-looking env var has a value',
  );

  assert.ok(
    env('--set', 'secrets.name=platform-keys').every(
      (e) => !e.valueFrom?.secretKeyRef || e.valueFrom.secretKeyRef.name === 'platform-keys',
    ),
  );
  assert.ok(!render().some((m) => m.kind === 'Secret'), 'the chart must not create the Secret');

  // Values cannot smuggle a key in: the schema rejects a value field, the template a shadowing extraEnv.
  assert.match(renderFails('--set', 'secrets.env[0].value=sk-literal'), /value/);
  assert.match(
    renderFails('--set', 'extraEnv[0].name=ANTHROPIC_API_KEY', '--set', 'extraEnv[0].value=sk-literal'),
    /never set it from values/,
  );
});

void test('the Deployment probes /health on 8080 and the Service exposes it as http on port 80', () => {
  const manifests = render();
  const deployment = get<Deployment>(manifests, 'Deployment');
  const container = orchestratorContainer(deployment);
  const httpPort = container.ports.find((p) => p.name === 'http');
  assert.equal(httpPort?.containerPort, 8080);
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    assert.equal(probe.httpGet.path, '/health');
    assert.ok(probe.httpGet.port === 'http' || probe.httpGet.port === 8080);
  }

  const service = get<Service>(manifests, 'Service');
  assert.deepEqual(
    service.spec.ports.map(({ name, port, targetPort }) => ({ name, port, targetPort })),
    [{ name: 'http', port: 80, targetPort: 8080 }],
  );
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.equal(service.metadata.annotations?.['prometheus.io/scrape'], 'true');
  assert.equal(service.metadata.annotations?.['prometheus.io/port'], '8080');
  assert.equal(service.metadata.annotations?.['prometheus.io/path'], '/metrics');
});

void test('selector labels are name + instance only, stable across versions, and match the pods', () => {
  const deployment = (...args: string[]) => get<Deployment>(render(...args), 'Deployment');
  const v1 = deployment();
  const v2 = deployment('--set', 'image.tag=2.0.0', '--values', productionValues);
  const expected = { 'app.kubernetes.io/name': 'orchestrator', 'app.kubernetes.io/instance': release };
  assert.deepEqual(v1.spec.selector.matchLabels, expected);
  assert.deepEqual(v2.spec.selector.matchLabels, expected);
  assert.notEqual(v1.metadata.labels?.['app.kubernetes.io/version'], v2.metadata.labels?.['app.kubernetes.io/version']);

  const podLabels = v1.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(expected)) assert.equal(podLabels[k], v);
  assert.equal(podLabels.app, 'orchestrator', 'the operations guide selects the pods with -l app=orchestrator');
});

void test('RBAC is a namespaced, least-privilege Role bound to the orchestrator ServiceAccount', () => {
  const manifests = render();
  assert.ok(!manifests.some((m) => m.kind.startsWith('Cluster')), 'nothing cluster-wide');

  const role = get<Role>(manifests, 'Role');
  assert.equal(role.metadata.namespace, namespace);
  for (const rule of role.rules) {
    for (const field of [rule.apiGroups, rule.resources, rule.verbs]) {
      assert.ok(!field.includes('*'), `wildcard in rule ${JSON.stringify(rule)}`);
    }
  }
  const verbsOn = (group: string, resource: string) =>
    new Set(
      role.rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs),
    );
  const allows = (group: string, resource: string, ...verbs: string[]) =>
    verbs.forEach((verb) => assert.ok(verbsOn(group, resource).has(verb), `Role cannot ${verb} ${resource}`));

  allows('orchestrator.io', 'taskruns', 'get', 'list', 'watch');
  allows('orchestrator.io', 'taskruns/status', 'update', 'patch');
  allows('batch', 'jobs', 'get', 'list', 'watch', 'create');
  allows('', 'configmaps', 'get', 'list', 'watch');
  allows('', 'events', 'create');
  assert.deepEqual([...verbsOn('', 'pods')].sort(), ['get', 'list', 'watch']);
  assert.equal(verbsOn('', 'secrets').size, 0, 'the orchestrator must not read Secrets');

  const binding = get<RoleBinding>(manifests, 'RoleBinding');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'orchestrator', namespace }]);
  assert.equal(get<Deployment>(manifests, 'Deployment').spec.template.spec.serviceAccountName, 'orchestrator');
});

void test('the taskrun-controller-config ConfigMap carries the agent defaults from values', () => {
  const config = (...args: string[]) => {
    const configMap = get<ConfigMap>(render(...args), 'ConfigMap', 'taskrun-controller-config');
    assert.ok(configMap.data['config.yaml'], 'no config.yaml key');
    return parse(configMap.data['config.yaml']) as {
      agent: { image: string; resources: { requests: Labels; limits: Labels } };
      job: { ttlSecondsAfterFinished: number };
      secrets: { name: string };
    };
  };
  const local = config();
  assert.equal(local.agent.image, 'ghcr.io/example/claude-agent:1.0.0');
  assert.deepEqual(local.agent.resources, {
    requests: { cpu: '1', memory: '2Gi' },
    limits: { cpu: '2', memory: '4Gi' },
  });
  assert.equal(local.job.ttlSecondsAfterFinished, 3600);
  assert.equal(local.secrets.name, 'orchestrator-secrets');

  assert.equal(
    config('--set', 'controllerConfig.agent.resources.limits.memory=16Gi').agent.resources.limits.memory,
    '16Gi',
  );
  assert.equal(config('--values', productionValues).agent.resources.limits.memory, '8Gi');
});

void test('production values give more replicas and a PodDisruptionBudget that still allows evictions', () => {
  const local = render();
  const production = render('--values', productionValues);
  assert.ok(!local.some((m) => m.kind === 'PodDisruptionBudget'), 'no PDB by default');

  const localReplicas = get<Deployment>(local, 'Deployment').spec.replicas;
  const deployment = get<Deployment>(production, 'Deployment');
  assert.ok(
    deployment.spec.replicas > localReplicas,
    `production replicas ${deployment.spec.replicas} <= ${localReplicas}`,
  );

  const pdb = get<PodDisruptionBudget>(production, 'PodDisruptionBudget');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  assert.equal(typeof pdb.spec.minAvailable, 'number');
  assert.ok(Number(pdb.spec.minAvailable) < deployment.spec.replicas, 'the PDB would refuse every eviction');
});

void test('a PodDisruptionBudget that would block every eviction is refused', () => {
  // One replica with minAvailable 1: node drains would hang on 429s forever.
  assert.match(renderFails('--set', 'podDisruptionBudget.enabled=true'), /must be below replicaCount/);
  assert.match(
    renderFails('--set', 'podDisruptionBudget.enabled=true', '--set', 'podDisruptionBudget.maxUnavailable=1'),
    /exactly one of minAvailable and maxUnavailable/,
  );
});

// --- the CRD file --------------------------------------------------------------------------------

interface JsonSchema {
  type?: string;
  enum?: string[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}
interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: object };
  additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
  schema: { openAPIV3Schema: JsonSchema };
}
interface Crd extends Manifest {
  spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: CrdVersion[] };
}

void test('the TaskRun CRD file is a plain manifest with the status subresource and the phase enum', () => {
  const text = readFileSync(crdFile, 'utf8');
  assert.doesNotMatch(text, /\{\{/, 'crds/ files are never templated: no template syntax');
  const docs = parseAllDocuments(text);
  assert.equal(docs.length, 1);
  const crd = docs[0]?.toJS() as Crd;

  assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
  assert.equal(crd.kind, 'CustomResourceDefinition');
  assert.equal(crd.metadata.name, 'taskruns.orchestrator.io');
  assert.equal(crd.spec.group, 'orchestrator.io');
  assert.equal(crd.spec.scope, 'Namespaced');
  assert.equal(crd.spec.names.kind, 'TaskRun');

  const v1 = crd.spec.versions.find((v) => v.name === 'v1');
  assert.ok(v1 && v1.served && v1.storage, 'v1 is served and stored');
  assert.deepEqual(v1.subresources?.status, {});
  assert.deepEqual(
    v1.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]),
    [
      ['Phase', '.status.phase'],
      ['Job', '.status.jobName'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  );

  const root = v1.schema.openAPIV3Schema.properties ?? {};
  const spec = root.spec?.properties ?? {};
  const status = root.status?.properties ?? {};
  for (const field of ['service', 'taskId', 'prompt', 'promptRef', 'agentImage', 'resources', 'workspaceClaim']) {
    assert.ok(spec[field], `spec.${field} is missing`);
  }
  assert.deepEqual(spec.promptRef?.required, ['name', 'key']);
  assert.deepEqual(status.phase?.enum, ['Pending', 'Running', 'Succeeded', 'Failed']);
  for (const field of ['jobName', 'startTime', 'completionTime', 'conditions', 'message', 'observedGeneration']) {
    assert.ok(status[field], `status.${field} is missing`);
  }
  assert.deepEqual(status.conditions?.items?.required?.toSorted(), [
    'lastTransitionTime',
    'message',
    'reason',
    'status',
    'type',
  ]);
});

void test('Helm sees the CRD in crds/ and never templates it', () => {
  assert.ok(!render().some((m) => m.kind === 'CustomResourceDefinition'));
  assert.ok(
    render('--include-crds').some(
      (m) => m.kind === 'CustomResourceDefinition' && m.metadata.name === 'taskruns.orchestrator.io',
    ),
  );
});

// --- who reconciles TaskRuns ---------------------------------------------------------------------

void test("taskRunReconciler.enabled=false: the orchestrator's reconciler is off and it may no longer write Jobs or TaskRun status", () => {
  const on = render();
  const off = render('--set', 'taskRunReconciler.enabled=false');
  const flag = (m: Manifest[]) =>
    orchestratorContainer(get<Deployment>(m, 'Deployment')).env.find((e) => e.name === 'TASKRUN_RECONCILER_ENABLED')
      ?.value;
  assert.equal(flag(on), 'true');
  assert.equal(flag(off), 'false');
  const writes = (m: Manifest[]) =>
    get<Role>(m, 'Role')
      .rules.filter((r) => r.verbs.some((v) => ['create', 'update', 'patch', 'delete'].includes(v)))
      .flatMap((r) => r.resources);
  assert.deepEqual(writes(on).sort(), ['configmaps', 'events', 'jobs', 'leases', 'taskruns', 'taskruns/status']);
  assert.deepEqual(writes(off).sort(), ['events', 'leases']);
  assertLintClean('--set', 'taskRunReconciler.enabled=false');
});

// --- alerting rules ----------------------------------------------------------------------------

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
}
interface PrometheusRule extends Manifest {
  spec: { groups: { name: string; rules: Rule[] }[] };
}

void test("the PrometheusRule is off by default; on, it has the guide's alerts as written and the runbooks'", () => {
  assert.ok(!render().some((m) => m.kind === 'PrometheusRule'));
  assertLintClean('--set', 'prometheusRule.enabled=true');
  const rule = get<PrometheusRule>(
    render('--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.labels.release=kube-prometheus-stack'),
    'PrometheusRule',
  );
  assert.equal(rule.metadata.labels?.release, 'kube-prometheus-stack');
  const [guide, runbooks] = rule.spec.groups;
  // The operations guide's rules, word for word (the job is the release's Service).
  assert.deepEqual(
    guide?.rules.map((r) => [r.alert, r.expr, r.for, r.labels.severity]),
    [
      ['OrchestratorDown', 'up{job="orchestrator"} == 0', '5m', 'critical'],
      ['TaskRunFailureRate', 'rate(taskrun_jobs_failed_total[5m]) > 0.1', '2m', 'warning'],
      [
        'HighTaskRunDuration',
        'histogram_quantile(0.95, rate(taskrun_reconciliation_duration_seconds_bucket[5m])) > 30',
        '5m',
        'warning',
      ],
    ],
  );
  assert.deepEqual(
    runbooks?.rules.map((r) => r.alert),
    [
      'RunbookUpgradePausedTooLong',
      'RunbookNightlyBackupFailed',
      'RunbookNightlyBackupMissing',
      'TaskRunControllerStopped',
      'TaskRunControllerStalled',
    ],
  );
  const paused = runbooks!.rules[0]!;
  assert.deepEqual([paused.expr, paused.for], ['max(runbook_paused{runbook="upgradePlatform"}) > 0', '1h']);
  assert.match(
    runbooks!.rules[1]!.expr,
    /runbook_runs_finished_total\{runbook=~"backupPlatform\|backupAndVerify", schedule="nightly-backup", outcome!="succeeded"\}/,
  );
  assert.match(runbooks!.rules[3]!.expr, /runbook_taskrun_controllers_running\{namespace="orchestrator"\}/);
  assert.match(
    renderFails('--set', 'prometheusRule.enabled=true', '--set', 'prometheusRule.upgradePausedFor=an hour'),
    /upgradePausedFor/,
  );
});
