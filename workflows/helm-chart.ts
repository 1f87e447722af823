// A ChartRef as the arguments of the helm activities.
import type { ChartRef } from '../contract/types/deploy.ts';

/** Local charts' CRDs are applied by the runbook itself (applyChartCrds), so Helm skips them. */
export function helmChartArgs(chart: ChartRef): {
  chart: string;
  chartVersion?: string;
  repo?: string;
  skipCrds?: boolean;
} {
  if ('path' in chart) return { chart: chart.path, skipCrds: true };
  return { chart: chart.name, chartVersion: chart.version, repo: chart.repo };
}
