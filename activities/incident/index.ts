// incidentResponse's activities: evidence, blast radius, containment and its compensations,
// integrity, and the report file. Key material (the HMAC key) is the worker's (activities/backup/keys.ts).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlastRadius, EvidenceSummary, IntegrityReport } from '../../contract/types/incident.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { kubeCall } from '../errors.ts';
import { parseRecipients } from '../backup/age.ts';
import { resolveHmacKey } from '../backup/keys.ts';
import { assessBlastRadius } from './assess.ts';
import {
  applyDenyAll,
  blankSecretKeys,
  clearBlankedMark,
  deleteDenyAll,
  scaleBack,
  scaleForIncident,
} from './contain.ts';
import { REPORT_FILE, incidentPath, writeEvidence } from './evidence.ts';
import { verifyIntegrity } from './integrity.ts';
import type { IncidentScope } from './collect.ts';

export interface PreserveEvidenceRequest extends IncidentScope {
  incidentId: string;
  release: string;
  recipients: string[];
  recipientsFrom?: { configMap: { name: string; key: string; namespace?: string } };
}

export function incidentActivities(deps: ActivityDeps, helm: HelmDeps) {
  const { kube } = deps;
  return {
    /** Reads everything in scope and writes the evidence bundle (reused when one verifies). */
    async preserveIncidentEvidence(req: PreserveEvidenceRequest): Promise<EvidenceSummary> {
      const hmacKey = await resolveHmacKey(deps);
      let recipients = req.recipients;
      const from = req.recipientsFrom?.configMap;
      if (from) {
        const ns = from.namespace ?? req.namespace;
        const cm = await kubeCall(`read ConfigMap ${ns}/${from.name} (age recipients)`, () =>
          kube.core.readNamespacedConfigMap({ namespace: ns, name: from.name }),
        );
        recipients = [...recipients, ...parseRecipients(cm.data?.[from.key] ?? '')];
      }
      return writeEvidence(deps, helm, hmacKey, { ...req, recipients });
    },
    assessIncident: (req: IncidentScope): Promise<BlastRadius> => assessBlastRadius(kube, req),
    scaleForIncident: (req: { namespace: string; deployment: string; incidentId: string }) =>
      scaleForIncident(kube, req),
    scaleBackAfterIncident: (req: { namespace: string; deployment: string; replicas: number }) => scaleBack(kube, req),
    blankSecretKeys: (req: { namespace: string; secret: string; keys: string[]; incidentId: string }) =>
      blankSecretKeys(kube, req),
    clearBlankedMark: (req: { namespace: string; secret: string }) => clearBlankedMark(kube, req),
    applyIncidentNetworkPolicy: (req: { namespace: string; incidentId: string; podSelector?: string }) =>
      applyDenyAll(kube, req),
    deleteIncidentNetworkPolicy: (req: { namespace: string; name: string }) => deleteDenyAll(kube, req),
    verifyIncidentIntegrity: (req: {
      namespace: string;
      release: string;
      serviceAccount: string;
    }): Promise<IntegrityReport> => verifyIntegrity(kube, helm, req),
    /** Writes report.md next to the evidence; returns its path. */
    async writeIncidentReport(req: { incidentId: string; markdown: string }): Promise<{ file: string }> {
      const file = join(incidentPath(deps, req.incidentId), REPORT_FILE);
      await writeFile(file, req.markdown, { mode: 0o600 });
      return { file };
    },
  };
}
