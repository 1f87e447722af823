// Step tracking shared by every runbook: the `progress` query returns these steps, and the
// Web UI's "current details" shows the step that is running.
import { setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { progressQuery, type Progress, type Step, type StepStatus } from '../contract/progress.ts';
import { failureText } from '../contract/failure-cause.ts';

/** Registers the `progress` query and records each step's life. */
export class ProgressTracker {
  readonly #steps: Step[];
  readonly #runbook: string;
  #note: string | undefined;

  constructor(runbook: string, stepNames: readonly string[]) {
    this.#runbook = runbook;
    this.#steps = stepNames.map((name) => ({ name, status: 'pending' }));
    setHandler(progressQuery, () => this.snapshot());
    this.#publish();
  }

  snapshot(): Progress {
    return { runbook: this.#runbook, workflowId: workflowInfo().workflowId, steps: this.#steps.map((s) => ({ ...s })), ...(this.#note ? { note: this.#note } : {}) };
  }

  /** Runs `fn` as step `name`, marking it running, then succeeded or failed. */
  async run<T>(name: string, fn: () => Promise<T>, detailOf?: (result: T) => string): Promise<T> {
    this.#mark(name, 'running');
    try {
      const result = await fn();
      this.#mark(name, 'succeeded', detailOf?.(result));
      return result;
    } catch (err) {
      this.#mark(name, 'failed', failureText(err));
      throw err;
    }
  }

  /** A line shown under the steps in the Web UI (e.g. "paused: waiting for a decision"). */
  note(text: string | undefined): void {
    this.#note = text;
    this.#publish();
  }

  skip(name: string, why: string): void {
    this.#mark(name, 'skipped', why);
  }

  #mark(name: string, status: StepStatus, detail?: string): void {
    const step = this.#steps.find((s) => s.name === name);
    if (!step) throw new Error(`unknown step ${name}`);
    const now = new Date().toISOString();
    step.status = status;
    if (status === 'running') step.startedAt = now;
    else step.finishedAt = now;
    if (detail !== undefined) step.detail = detail;
    this.#publish();
  }

  #publish(): void {
    const lines = this.#steps.map((s) => `${icon[s.status]} ${s.name}${s.detail ? `: ${s.detail}` : ''}`);
    const note = this.#note ? `\n\n**${this.#note}**` : '';
    setCurrentDetails(`**${this.#runbook}**\n\n${lines.join('\n\n')}${note}`);
  }
}

const icon: Record<StepStatus, string> = {
  pending: '○',
  running: '▶',
  succeeded: '✔',
  failed: '✘',
  skipped: '–',
};
