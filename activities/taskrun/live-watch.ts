// The view's watches that stay open between watch calls, as an informer's do: each change is folded
// into the namespace's view (and its cursor advanced) as it arrives, and a watch call waits for the
// view to change instead of opening watches of its own. One call opened three watches (TaskRuns,
// Jobs, ConfigMap), and a busy controller makes a few calls a second: 5,800 watch requests for 3,000
// TaskRuns (`npm run bench -- reconcile-scale`, cost.apiRequests), each a request for the API server
// to authorize, register and replay from its cursor, and for the worker to set up and parse.
//
// Nothing here is needed for correctness: a live watch that fails, or answers 410 Gone, is dropped,
// and the call falls back to a watch of its own (which reports or relists as before); the next call
// opens a new one from the view's cursor.
import type { KubeClients } from '../kube/client.ts';
import { cancellationSignal, heartbeat } from '../activity-context.ts';
import { openWatchStreams, type WatchStreamsOptions } from './watch-streams.ts';
import { BATCH_WINDOW_MS } from './watch.ts';
import { foldRaw, type NamespaceView } from './view.ts';
import type { ControllerConfig, WatchCursor } from '../../contract/types/taskrun.ts';

/** What a live watch keeps current: the view cache's entry (view-watch.ts). */
export interface LiveTarget {
  view: NamespaceView;
  cursor: WatchCursor;
  config: ControllerConfig;
}

/** Stopped when no call has used it for this long (the controller ended, or moved to another worker). */
export const LIVE_IDLE_MS = 10_000;
/** The server ends each watch after this long; it is resumed from the cursor. */
const LIVE_WATCH_SECONDS = 300;

const live = new Set<LiveWatch>();

export class LiveWatch {
  /** Stopped: idle for LIVE_IDLE_MS, or failed. */
  stopped = false;
  /** Its watches failed or answered 410 Gone: the caller watches on its own once (it reports or relists). */
  failed = false;
  private readonly streams: { stop(): void };
  private readonly wakers = new Set<() => void>();
  private calls = 0;
  private idleSince = Date.now();
  private readonly idleCheck: NodeJS.Timeout;

  private readonly target: LiveTarget;

  constructor(
    kube: KubeClients,
    target: LiveTarget,
    opts: Pick<WatchStreamsOptions, 'namespace' | 'configMapName' | 'idleTimeoutMs' | 'onWatchRequest'>,
  ) {
    this.target = target;
    const cursor = target.cursor;
    this.streams = openWatchStreams(
      kube,
      {
        ...opts,
        cursor,
        config: () => target.config,
        timeoutSeconds: LIVE_WATCH_SECONDS,
      },
      {
        change: (change) => {
          foldRaw(target.view, { changes: [change] });
          this.wake();
        },
        config: (config) => {
          target.config = config;
          this.wake();
        },
        gone: () => this.fail(),
        failed: () => this.fail(),
      },
    );
    this.idleCheck = setInterval(() => {
      if (this.calls === 0 && Date.now() - this.idleSince > LIVE_IDLE_MS) this.stop();
    }, 1000).unref();
    live.add(this);
  }

  /**
   * Waits until something changed (and BATCH_WINDOW_MS more, so that a burst is one batch), or
   * `maxWaitMs` passed: true when something changed. Heartbeats while it waits; a cancelled
   * activity ends the wait (not the watches).
   */
  async changes(maxWaitMs: number): Promise<boolean> {
    this.calls++;
    const signal = cancellationSignal();
    try {
      return await new Promise<boolean>((resolve, reject) => {
        let changed = false;
        let batch: NodeJS.Timeout | undefined;
        const done = (err?: unknown) => {
          clearTimeout(batch);
          clearTimeout(max);
          clearInterval(beat);
          this.wakers.delete(wake);
          signal?.removeEventListener('abort', aborted);
          if (err) reject(err);
          else resolve(changed);
        };
        const wake = () => {
          changed = true;
          if (this.stopped) done();
          else batch ??= setTimeout(() => done(), BATCH_WINDOW_MS);
        };
        const aborted = () => done(signal!.reason);
        const max = setTimeout(() => done(), maxWaitMs);
        const beat = setInterval(() => heartbeat({ cursor: this.target.cursor }), 1000);
        signal?.addEventListener('abort', aborted, { once: true });
        this.wakers.add(wake);
        if (this.stopped) done();
      });
    } finally {
      this.calls--;
      this.idleSince = Date.now();
    }
  }

  stop(): void {
    this.streams.stop();
    clearInterval(this.idleCheck);
    live.delete(this);
    this.stopped = true;
    this.wake();
  }

  private fail(): void {
    this.failed = true;
    this.stop();
  }

  private wake(): void {
    for (const wake of [...this.wakers]) wake();
  }
}

/** Every live watch of this process (the worker is stopping, or a test forgets its views). */
export function stopLiveWatches(): void {
  for (const w of [...live]) w.stop();
}
