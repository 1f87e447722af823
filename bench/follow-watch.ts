// A bench's own watch of a namespace's objects: resumed whenever it ends (a watch that ended
// silently once stopped the reconcile bench's count of Jobs the controllers had made).
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/**
 * Watches the objects at `path`; calls `seen` for each event (a resumed watch lists again: ADDED).
 * `ready` settles once the first watch is established.
 */
export function follow(
  config: KubeConfig,
  path: string,
  params: Record<string, string>,
  seen: (type: string, obj: Record<string, unknown>) => void,
): { stop(): void; ready: Promise<void> } {
  let stopped = false;
  let abort: AbortController | undefined;
  let established: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (established = resolve));
  const start = () => {
    if (stopped) return;
    void new Watch(config)
      .watch(path, params, seen, () => setTimeout(start, 200))
      .then(
        (a) => {
          abort = a;
          established();
          if (stopped) a.abort();
        },
        () => setTimeout(start, 500),
      );
  };
  start();
  return {
    ready,
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}
