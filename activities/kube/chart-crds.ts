// The CRDs a local chart ships in crds/. The deploy runbook applies them itself (Helm installs
// crds/ only on a release's first install and never upgrades them).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import { INVALID_INPUT } from '../../contract/failures.ts';

export function readChartCrds(chartDir: string): KubernetesObject[] {
  if (!existsSync(join(chartDir, 'Chart.yaml'))) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      message: `chart ${chartDir} has no Chart.yaml`,
      nonRetryable: true,
    });
  }
  const dir = join(chartDir, 'crds');
  if (!existsSync(dir)) return [];
  const crds: KubernetesObject[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const obj = doc.toJS() as KubernetesObject | null;
      if (obj?.kind === 'CustomResourceDefinition') crds.push(obj);
    }
  }
  return crds;
}
