// What platformHealth's cluster reads return for a healthy one-node cluster, for the tests that run the
// runbook with mocked activities (the workflow tests, the CLI test).
import type { ClusterIdentity, NodesReport, PodsReport } from '../../contract/types/platform-health.ts';

/** describeCluster's answer: a test cluster at a local address. */
export const healthyClusterIdentity = (): ClusterIdentity => ({
  server: 'https://127.0.0.1:1',
  context: 'test',
  version: 'v1.37.2',
});

/** checkNodes' answer: one node, Ready and schedulable. */
export const healthyNodes = (): NodesReport => ({
  total: 1,
  ready: 1,
  notReady: [],
  cordoned: [],
  nodes: [{ name: 'n1', ready: true, cordoned: false, allocatable: { cpu: '1', memory: '1Gi', pods: '110' } }],
});

/** checkPods' answer for `namespace`: it exists and runs one ready pod. */
export const healthyPods = (namespace: string): PodsReport => ({
  namespace,
  namespaceExists: true,
  total: 1,
  ready: 1,
  pods: [{ name: 'p', phase: 'Running', ready: true, restarts: 0 }],
  requested: { cpuMillis: 0, memoryBytes: 0 },
});

/** describeCluster, checkNodes and checkPods of the healthy cluster, as mocked activities. */
export const healthyClusterMocks = () => ({
  describeCluster: async () => healthyClusterIdentity(),
  checkNodes: async () => healthyNodes(),
  checkPods: async (namespace: string) => healthyPods(namespace),
});
