// The Temporal Web UI as an operator uses it, in a real Chromium: platformHealth started from the
// Start Workflow form (real activities, local cluster) completes with its steps in the current
// details; a paused upgrade (mocked activities) is resumed with `decide` from the UI's update form.
// Each part runs a worker on a task queue of its own, with workflow ids of its own.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { Locator, Page } from 'playwright-core';
import { createActivities } from '../../activities/index.ts';
import { WAIT_TIMEOUT } from '../../contract/failures.ts';
import { upgradeStateQuery, type PlatformHealthReport, type UpgradeReport } from '../../contract/messages.ts';
import { testActivityDeps, uniqueNamespace, useTestCluster } from '../helpers/cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { startProbeServer } from '../helpers/http-probe-server.ts';
import { runTestWorker, uniqueTaskQueue } from '../helpers/temporal.ts';
import { artifactsDir, useChromium, useTestWebUi } from '../helpers/web-ui.ts';
import { preUpgradeBackupMocks } from '../helpers/backup-mocks.ts';
import { deployedReleaseMocks } from '../helpers/deployed-release-mocks.ts';

const webUi = useTestWebUi();
const testCluster = useTestCluster();
const browser = useChromium();
const shots = artifactsDir('web-ui');
let page: Page;

before(async () => {
  page = await (await browser()).newPage({ viewport: { width: 1400, height: 1000 } });
});

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/** Runs a test's body; when it fails, the page as it was is kept too (`<name>-FAILED.png`). */
async function failureShot(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await shot(`${name}-FAILED`).catch(() => undefined);
    throw err;
  }
}

/** Replaces the text of one of the UI's code editors (CodeMirror) with `text`, as typed, then leaves it for `next`. */
async function setEditor(editor: Locator, text: string, next: Locator): Promise<void> {
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text); // insertText: no auto-closed brackets
  // Leaving the editor reformats the JSON (the form grows): do it before clicking anything below.
  await next.focus();
  await page.waitForTimeout(300);
  assert.deepEqual(JSON.parse(await editor.innerText()), JSON.parse(text));
}

test(
  'platformHealth from the Start Workflow form completes, its steps in the current details',
  { timeout: 180_000 },
  () =>
    failureShot('health', async () => {
      const [temporal, uiUrl, cluster] = await Promise.all([webUi.temporal(), webUi.uiUrl(), testCluster()]);
      const probe = await startProbeServer();
      cluster.defer(() => probe.close());
      const taskQueue = await runTestWorker(temporal, createActivities(testActivityDeps(cluster)), 'webui-health');
      const workflowId = uniqueTaskQueue('webui-platformHealth');
      const namespace = uniqueNamespace('webui'); // not created: the pods step reports it missing
      const input = { namespace, healthUrl: probe.url('/health') };

      await page.goto(
        `${uiUrl}/namespaces/default/workflows/start-workflow?workflowType=platformHealth&taskQueue=${taskQueue}`,
      );
      // The form fetches the input of the type's last run to prefill it: wait for that before typing ours.
      await page.waitForLoadState('networkidle');
      await page.getByText('Task Queue is Active').waitFor(); // our worker polls the prefilled queue
      assert.equal(await page.locator('#workflowType').inputValue(), 'platformHealth');
      assert.equal(await page.locator('#taskQueue').inputValue(), taskQueue);
      await page.locator('#workflowId').fill(workflowId);
      // The JSON editor of the input (a prefilled summary opens the markdown editors of "More options" too).
      await setEditor(
        page.locator('.cm-content[data-language="json"]'),
        JSON.stringify(input),
        page.locator('#workflowType'),
      );
      await shot('1-start-form');
      await page.getByTestId('start-workflow-button').click();
      await page.getByText('Workflow started successfully').waitFor();
      await shot('2-started');

      const handle = temporal.client.workflow.getHandle(workflowId);
      const report = (await handle.result()) as PlatformHealthReport;
      assert.equal(report.runbook, 'platformHealth');
      assert.equal(report.pods.namespace, namespace, 'the workflow ran with the input typed into the form');
      assert.equal(report.service.ok, true);

      await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      await page.getByText('Completed').first().waitFor();
      await page.getByText('User Metadata').click();
      // The current details are markdown, rendered in a frame of their own.
      const details = await eventually('the steps in the current details', () => textOfFrames(page, '✔ report'));
      for (const step of ['validate', 'cluster', 'nodes', 'pods', 'taskruns', 'orchestrator health', 'report']) {
        assert.match(details, new RegExp(`✔ ${step}`), `step ${step} succeeded in the current details`);
      }
      assert.match(details, new RegExp(`pods: namespace ${namespace} missing`));
      await shot('3-health-current-details');
    }),
);

/** The text of the page and of its frames, once one of them contains `marker`. */
async function textOfFrames(on: Page, marker: string): Promise<string | undefined> {
  const texts = await Promise.all(
    on.frames().map((f) =>
      f
        .locator('body')
        .innerText({ timeout: 2_000 })
        .catch(() => ''),
    ),
  );
  return texts.some((t) => t.includes(marker)) ? texts.join('\n') : undefined;
}

/** upgradePlatform's activities, mocked: a release at revision 1 whose first rollout times out (the upgrade pauses). */
function pausingUpgradeActivities(): object {
  let revision = 1;
  let rollouts = 0;
  return {
    ...deployedReleaseMocks(() => revision),
    helmUpgradeInstall: async () => ({
      changed: revision === 1,
      revision: (revision = 2),
      status: 'deployed',
      digest: 'd',
    }),
    helmRollback: async () => ({ revision: ++revision }),
    applyChartCrds: async () => [{ name: 'taskruns.orchestrator.io', changed: false }],
    waitCrdsEstablished: async () => undefined,
    waitReleaseRollout: async () => {
      if (++rollouts === 1)
        throw ApplicationFailure.create({
          type: WAIT_TIMEOUT,
          message: 'timed out waiting for rollout of orchestrator/orchestrator',
          nonRetryable: true,
        });
      return [{ deployment: 'orchestrator', ready: 1, replicas: 1 }];
    },
    probeOrchestrator: async () => ({ checked: true, via: 'url', ok: true, statusCode: 200, detail: 'answered 200' }),
    ...preUpgradeBackupMocks(),
  };
}

test("a paused upgrade resumes with `decide` sent from the UI's update form", { timeout: 120_000 }, () =>
  failureShot('upgrade', async () => {
    const [temporal, uiUrl] = await Promise.all([webUi.temporal(), webUi.uiUrl()]);
    const taskQueue = await runTestWorker(temporal, pausingUpgradeActivities(), 'webui-upgrade');
    const workflowId = uniqueTaskQueue('webui-upgradePlatform');
    const handle = await temporal.client.workflow.start('upgradePlatform', {
      taskQueue,
      workflowId,
      args: [{ imageTag: '1.1.0', smokeTest: { healthUrl: 'http://127.0.0.1:9/health' } }],
    });
    await eventually('the upgrade to pause', async () => (await handle.query(upgradeStateQuery)).phase === 'paused');

    await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
    await page.getByText('Running').first().waitFor();
    await page.getByText('User Metadata').click();
    const paused = await eventually('the pause in the current details', () => textOfFrames(page, 'paused: '));
    assert.match(paused, /✘ rollout: .*timed out waiting for rollout/);
    assert.match(paused, /Send the update .decide./); // the markdown renders quotes typographically
    await shot('4-upgrade-paused');
    await page.getByRole('button', { name: 'More Actions' }).first().click();
    await page.getByRole('menuitem', { name: 'Send an Update' }).click();
    const dialog = page.locator('dialog[open]', { has: page.locator('#update-select') });
    await dialog.getByTestId('update-select-button').click();
    await page.getByRole('option', { name: 'decide' }).click(); // listed from the workflow's own definitions
    const decision = { action: 'retry', by: 'web-ui-test', reason: 'rollout fixed' };
    await setEditor(
      dialog.locator('.cm-content[data-language="json"]'),
      JSON.stringify(decision),
      dialog.locator('#update-id'),
    );
    await shot('5-update-form');
    await dialog.getByTestId('confirm-modal-button').click();

    const report = (await handle.result()) as UpgradeReport;
    assert.equal(report.outcome, 'succeeded');
    assert.deepEqual(
      report.decisions.map((d) => [d.action, d.by]),
      [['retry', 'web-ui-test']],
    );
    await page.getByText('Completed').first().waitFor();
    await shot('6-upgrade-completed');
  }),
);
