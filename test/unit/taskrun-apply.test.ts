// applyTaskRunActions against a fake API server: a permanent rejection (400, 413, 422) of the task
// ConfigMap or the Job comes back as `rejected` with the server's reason (the TaskRun fails), a
// transient one as `error` (retried later); a Job made before its ConfigMap was refused is deleted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { KubeClients } from '../../activities/kube/client.ts';
import { applyTaskRunActions } from '../../activities/taskrun/apply.ts';
import { DEFAULT_CONTROLLER_CONFIG } from '../../activities/taskrun/config.ts';
import { taskRunMetrics } from '../../activities/metrics.ts';
import type { TaskRunAction } from '../../contract/types/taskrun.ts';

const status = (code: number, message: string) =>
  new ApiException(code, message, JSON.stringify({ kind: 'Status', code, message }), {});

function fakeKube(fail: { configMap?: ApiException<string>; job?: ApiException<string> }) {
  const calls: string[] = [];
  const kube = {
    // The hot writes are lean JSON calls (kube.json): POST a ConfigMap or Job, PATCH a TaskRun's status.
    json: async (method: string, url: string, body?: { metadata?: { name?: string } }) => {
      const path = url.split('?')[0]!;
      const kind = /\/configmaps$/.test(path) ? 'ConfigMap' : /\/jobs$/.test(path) ? 'Job' : undefined;
      if (method === 'POST' && kind) {
        calls.push(`create ${kind} ${body!.metadata!.name}`);
        const failure = kind === 'ConfigMap' ? fail.configMap : fail.job;
        if (failure) throw failure;
        return body;
      }
      if (method === 'PATCH' && path.endsWith('/status')) {
        calls.push(`status ${path.split('/').at(-2)}`);
        return {};
      }
      throw new Error(`unexpected call ${method} ${path}`);
    },
    batch: {
      deleteNamespacedJob: async ({ name }: { name: string }) => {
        calls.push(`delete Job ${name}`);
        return {};
      },
    },
  };
  return { kube: kube as unknown as KubeClients, calls };
}

const action: TaskRunAction = {
  name: 'tr',
  uid: 'uid-1',
  jobName: 'tr-uid1',
  create: { service: 's', taskId: 't', prompt: 'p', resources: { requests: { cpu: '-1' } } },
  status: { phase: 'Pending', jobName: 'tr-uid1', message: 'agent Job created', observedGeneration: 1, conditions: [] },
};
const apply = (kube: KubeClients) =>
  applyTaskRunActions(kube, { namespace: 'ns', config: DEFAULT_CONTROLLER_CONFIG, actions: [action] }, taskRunMetrics);

test('a Job the API server rejects (422 Invalid) comes back rejected with its reason; no status written', async () => {
  const invalid =
    'Job.batch "tr-uid1" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0';
  const { kube, calls } = fakeKube({ job: status(422, invalid) });
  const [result] = await apply(kube);
  assert.equal(result?.error, undefined);
  assert.ok(result?.rejected?.includes(invalid), result?.rejected);
  assert.match(result!.rejected!, /HTTP 422/);
  assert.deepEqual(
    calls.filter((c) => c.startsWith('status')),
    [],
  );
});

test('a task ConfigMap refused as too large (413): rejected, and the Job made alongside it is deleted', async () => {
  const { kube, calls } = fakeKube({ configMap: status(413, 'Request entity too large: limit is 3145728') });
  const [result] = await apply(kube);
  assert.match(result?.rejected ?? '', /HTTP 413 Request entity too large/);
  assert.ok(calls.includes('delete Job tr-uid1'), calls.join(', '));
});

test('a 400 Bad Request is a rejection too; a 500 or 429 is a transient error, retried', async () => {
  assert.match(
    (await apply(fakeKube({ job: status(400, 'quantities must match the regular expression') }).kube))[0]?.rejected ??
      '',
    /HTTP 400/,
  );
  for (const code of [500, 429]) {
    const [r] = await apply(fakeKube({ job: status(code, 'try again') }).kube);
    assert.equal(r?.rejected, undefined, String(code));
    assert.match(r?.error ?? '', new RegExp(`HTTP ${code}`));
  }
});
