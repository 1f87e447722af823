// Workload objects of the tests' fixtures.

/** A Deployment whose pods (labelled app=<name>) run this pod spec. */
export function deployment(name: string, namespace: string, replicas: number, podSpec: Record<string, unknown>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  };
}
