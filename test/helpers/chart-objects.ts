// The objects the orchestrator chart (charts/orchestrator) renders, as Kind/name, sorted: what the chart
// test's `helm template` and the helm activity's dry run must both list.
export const ORCHESTRATOR_CHART_OBJECTS = [
  'ConfigMap/taskrun-controller-config',
  'Deployment/orchestrator',
  'Role/orchestrator',
  'RoleBinding/orchestrator',
  'Service/orchestrator',
  'ServiceAccount/orchestrator',
];
