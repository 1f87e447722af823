// A ChartRef as the arguments of the helm activities.
import type { ChartRef } from './types/deploy.ts';

export function helmChartArgs(chart: ChartRef): { chart: string; chartVersion?: string; repo?: string } {
  if ('path' in chart) return { chart: chart.path };
  return { chart: chart.name, chartVersion: chart.version, repo: chart.repo };
}
