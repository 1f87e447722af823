// The controller's config.yaml (activities/taskrun/config.ts): its defaults are the chart's, absent
// fields take them, and an invalid config.yaml is an error naming the field while the last good
// config is kept (never a silent default).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  CONTROLLER_DEFAULTS,
  DEFAULT_CONTROLLER_CONFIG,
  parseControllerConfig,
} from '../../activities/taskrun/config.ts';

test("the controller's defaults are what the chart renders: values.yaml controllerConfig (without name) and secrets", () => {
  const values = parse(readFileSync(new URL('../../charts/orchestrator/values.yaml', import.meta.url), 'utf8')) as {
    controllerConfig: Record<string, unknown>;
    secrets: { name: string; env: unknown[] };
  };
  const { name: _name, ...controllerConfig } = values.controllerConfig;
  assert.deepEqual(
    { ...controllerConfig, secrets: { name: values.secrets.name, env: values.secrets.env } },
    CONTROLLER_DEFAULTS,
  );
  // What the chart writes into config.yaml parses to the same, with no error.
  assert.deepEqual(parseControllerConfig(JSON.stringify({ ...controllerConfig, secrets: values.secrets }), '3'), {
    ...DEFAULT_CONTROLLER_CONFIG,
    resourceVersion: '3',
  });
});

test('config.yaml over the defaults: absent fields take them; an env entry without key uses its name', () => {
  const c = parseControllerConfig(
    'agent:\n  image: x/agent:2\njob:\n  backoffLimit: 1\nsecrets:\n  name: s\n  env:\n  - {name: A, key: K}\n  - {name: B}\n',
    '7',
  );
  assert.equal(c.error, undefined);
  assert.equal(c.agent.image, 'x/agent:2');
  assert.equal(c.agent.workspaceMountPath, '/workspace');
  assert.deepEqual(c.agent.resources, CONTROLLER_DEFAULTS.agent.resources);
  assert.equal(c.job.backoffLimit, 1);
  assert.equal(c.job.ttlSecondsAfterFinished, 3600);
  assert.equal(c.maxConcurrentTasks, 10);
  assert.deepEqual(c.secrets, {
    name: 's',
    env: [
      { name: 'A', key: 'K' },
      { name: 'B', key: 'B' },
    ],
  });
  assert.equal(c.resourceVersion, '7');
  assert.deepEqual(parseControllerConfig(undefined, ''), DEFAULT_CONTROLLER_CONFIG);
  assert.deepEqual(parseControllerConfig('', '4'), { ...DEFAULT_CONTROLLER_CONFIG, resourceVersion: '4' });
});

test('a mistyped maxConcurrentTasks ("20") is an error naming the field; the last good config is kept, under the new resourceVersion', () => {
  const good = parseControllerConfig('maxConcurrentTasks: 20\n', '5');
  assert.equal(good.maxConcurrentTasks, 20);
  const bad = parseControllerConfig('maxConcurrentTasks: "20"\n', '6', good);
  assert.equal(bad.maxConcurrentTasks, 20, 'the last good value, not the default 10');
  assert.equal(bad.resourceVersion, '6');
  assert.match(bad.error!, /maxConcurrentTasks: .*expected number/);
  assert.match(bad.error!, /keeps its last good config \(ConfigMap resourceVersion 5\)/);
  // Invalid again: still the same good config; fixed: no error.
  const worse = parseControllerConfig('maxConcurrentTasks: 20\njob:\n  backoffLimit: -1\n', '7', bad);
  assert.equal(worse.maxConcurrentTasks, 20);
  assert.match(worse.error!, /job\.backoffLimit: /);
  assert.match(worse.error!, /resourceVersion 5\)/);
  assert.deepEqual(parseControllerConfig('maxConcurrentTasks: 3\n', '8', worse), {
    ...DEFAULT_CONTROLLER_CONFIG,
    maxConcurrentTasks: 3,
    resourceVersion: '8',
  });
  // Without a good config: the defaults, with the error.
  const first = parseControllerConfig('maxConcurrentTasks: "20"\n', '9');
  assert.equal(first.maxConcurrentTasks, 10);
  assert.match(first.error!, /\(the defaults\)/);
});

test('every bad field is named: unknown fields (a typo), wrong types, not YAML', () => {
  const c = parseControllerConfig(
    'maxConcurentTasks: 5\nagent:\n  imagePullPolicy: Sometimes\n  workspaceMountPath: 3\nsecrets:\n  env:\n  - {key: K}\n',
    '2',
  );
  for (const field of ['maxConcurentTasks', 'agent.imagePullPolicy', 'agent.workspaceMountPath', 'secrets.env.0.name'])
    assert.ok(c.error!.includes(field), `${field} in ${c.error}`);
  assert.equal(c.maxConcurrentTasks, 10);
  assert.match(parseControllerConfig('agent: [unclosed\n', '3').error!, /not YAML/);
  assert.match(parseControllerConfig('- a list\n', '3').error!, /\(top level\)/);
});
