// The TaskRun controller's ConfigMap (taskrun-controller-config, the name the controller reads by
// default) with a given config.yaml, and the config.yaml of the crash tests and the TaskRun benches.

/** The namespace's controller ConfigMap holding this config.yaml. */
export function controllerConfigMap(namespace: string, configYaml: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'taskrun-controller-config', namespace },
    data: { 'config.yaml': configYaml },
  };
}

/** The agent image, Jobs that fail at once (backoffLimit 0: no retry of a failed pod), the given cap. */
export const failFastControllerConfig = (maxConcurrentTasks: number) =>
  `agent:\n  image: example/claude-agent:1.0.0\njob:\n  backoffLimit: 0\nmaxConcurrentTasks: ${maxConcurrentTasks}\n`;
