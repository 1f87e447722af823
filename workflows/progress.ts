// Step tracking shared by every runbook: the `progress` query returns these steps, the Web UI's
// "current details" shows the step that is running, the search attributes RunbookKind,
// RunbookPhase and TargetNamespace follow the run (workflows/runbook-attributes.ts; the final phase
// is set by workflows/runbook-interceptors.ts), and step durations go to the worker's metrics.
import { proxySinks, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { progressQuery, type Progress, type Step, type StepStatus } from '../contract/progress.ts';
import { failureText } from '../contract/failure-cause.ts';
import type { RunbookMetricsSinks } from '../contract/runbook-metrics.ts';
import type { RunbookPhase } from '../contract/runbook-search-attributes.ts';
import { currentPhase, setRunbookAttributes } from './runbook-attributes.ts';
import { leaseBoundary } from './maintenance-lease/acquire.ts';

const { runbookMetrics } = proxySinks<RunbookMetricsSinks>();

/** Registers the `progress` query and records each step's life; `S` is the union of the step names. */
export class ProgressTracker<S extends string = string> {
  readonly #steps: Step[];
  readonly #runbook: string;
  #note: string | undefined;

  constructor(runbook: string, stepNames: readonly S[]) {
    this.#runbook = runbook;
    this.#steps = stepNames.map((name) => ({ name, status: 'pending' }));
    setHandler(progressQuery, () => this.snapshot());
    setRunbookAttributes({ kind: runbook, phase: 'running' });
    runbookMetrics.runStarted(runbook);
    this.#publish();
  }

  snapshot(): Progress {
    const phase = currentPhase();
    return {
      runbook: this.#runbook,
      workflowId: workflowInfo().workflowId,
      steps: this.#steps.map((s) => ({ ...s })),
      ...(phase ? { phase } : {}),
      ...(this.#note ? { note: this.#note } : {}),
    };
  }

  /**
   * Runs `fn` as step `name`, marking it running, then succeeded or failed. The validated input
   * of the `validate` step names the target namespace (`namespace`, `targetNamespace` or `backup.namespace`).
   */
  async run<T>(name: S, fn: () => Promise<T>, detailOf?: (result: T) => string): Promise<T> {
    // A step boundary: a runbook holding the maintenance lease yields it here to a preempting one.
    await leaseBoundary();
    this.#mark(name, 'running');
    try {
      const result = await fn();
      if (name === 'validate') this.target(targetNamespaceOf(result));
      this.#mark(name, 'succeeded', detailOf?.(result));
      return result;
    } catch (err) {
      this.#mark(name, 'failed', failureText(err));
      throw err;
    }
  }

  /** The Kubernetes namespace the runbook acts on (search attribute TargetNamespace). */
  target(namespace: string | undefined): void {
    if (namespace) setRunbookAttributes({ targetNamespace: namespace });
  }

  /** A line shown under the steps in the Web UI (e.g. "paused: waiting for a decision"). */
  note(text: string | undefined): void {
    this.#note = text;
    this.#publish();
  }

  /** Waits for an operator: the note says for what, and RunbookPhase says paused (one query finds every paused runbook). */
  pause(
    text: string,
    phase: Extract<RunbookPhase, 'paused-for-decision' | 'paused-for-approval'> = 'paused-for-decision',
  ): void {
    setRunbookAttributes({ phase });
    this.note(text);
  }

  /** Back to work after pause(). */
  resume(): void {
    setRunbookAttributes({ phase: 'running' });
    this.note(undefined);
  }

  skip(name: S, why: string): void {
    this.#mark(name, 'skipped', why);
  }

  #mark(name: S, status: StepStatus, detail?: string): void {
    const step = this.#steps.find((s) => s.name === name);
    if (!step) throw new Error(`unknown step ${name}`);
    const now = new Date().toISOString();
    step.status = status;
    if (status === 'running') step.startedAt = now;
    else step.finishedAt = now;
    if (detail !== undefined) step.detail = detail;
    if ((status === 'succeeded' || status === 'failed') && step.startedAt) {
      runbookMetrics.stepFinished(this.#runbook, name, status, (Date.parse(now) - Date.parse(step.startedAt)) / 1000);
    }
    this.#publish();
  }

  #publish(): void {
    const lines = this.#steps.map((s) => `${icon[s.status]} ${s.name}${s.detail ? `: ${s.detail}` : ''}`);
    const note = this.#note ? `\n\n**${this.#note}**` : '';
    setCurrentDetails(`**${this.#runbook}**\n\n${lines.join('\n\n')}${note}`);
  }
}

function targetNamespaceOf(options: unknown): string | undefined {
  const o = options as
    { namespace?: unknown; targetNamespace?: unknown; backup?: { namespace?: unknown } } | null | undefined;
  const ns = o?.targetNamespace ?? o?.namespace ?? o?.backup?.namespace;
  return typeof ns === 'string' ? ns : undefined;
}

const icon: Record<StepStatus, string> = {
  pending: '○',
  running: '▶',
  succeeded: '✔',
  failed: '✘',
  skipped: '–',
};
