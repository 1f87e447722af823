// The incident's evidence bundle, written like a backup (activities/backup's format and keys): gzip
// JSON lines per file, the sensitive files age-encrypted to the recipients, a manifest with sha256
// per file and an HMAC (the worker's backup HMAC key), written to a temp dir and renamed into
// <incidents root>/<incident id>. A bundle that already verifies is reused: a re-run keeps the
// evidence of the first run (taken before anything was contained).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { BACKUP_INVALID, INVALID_INPUT } from '../../contract/failures.ts';
import type { EvidenceFile, EvidenceSummary } from '../../contract/types/incident.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import { helmGetValues, helmHistory, helmStatus } from '../helm/release.ts';
import { heartbeat } from '../activity-context.ts';
import { ageEncrypt } from '../backup/age.ts';
import { encodeJsonLines, hmacSha256, macEquals, sha256 } from '../backup/codec.ts';
import {
  backupPath,
  publish,
  readRegularFile,
  readSmallRegularFile,
  removeAbandonedTempDirs,
  tempDir,
  writeFileIn,
  MAX_MANIFEST_BYTES,
} from '../backup/store.ts';
import {
  imagesOf,
  readConfigMapMetadata,
  readEvents,
  readLogs,
  readNodes,
  readOwners,
  readSaBindings,
  readScopePods,
  readSecretMetadata,
  reviewAccess,
  type IncidentScope,
} from './collect.ts';

export const EVIDENCE_MANIFEST = 'manifest.json';
export const REPORT_FILE = 'report.md';
export const DEFAULT_INCIDENT_DIR = '.data/incidents';

export function incidentsRoot(deps: Pick<ActivityDeps, 'workdir' | 'incidentDir'>): string {
  return resolve(deps.workdir, deps.incidentDir ?? DEFAULT_INCIDENT_DIR);
}

export function incidentPath(deps: Pick<ActivityDeps, 'workdir' | 'incidentDir'>, incidentId: string): string {
  return backupPath(incidentsRoot(deps), incidentId);
}

export interface EvidenceManifest {
  formatVersion: 1;
  kind: 'incident-evidence';
  incidentId: string;
  createdAt: string;
  cluster: string;
  namespace: string;
  podSelector?: string;
  podsTotal: number;
  files: EvidenceFile[];
  logs: EvidenceSummary['logs'];
  recipients: string[];
  hmac?: { alg: 'HMAC-SHA256'; value: string };
}

export interface EvidenceRequest extends IncidentScope {
  incidentId: string;
  release: string;
  recipients: string[];
}

const invalid = (message: string) => ApplicationFailure.create({ type: BACKUP_INVALID, message, nonRetryable: true });

function summary(dir: string, m: EvidenceManifest, text: string, reused: boolean): EvidenceSummary {
  return {
    dir,
    reused,
    files: m.files,
    manifestSha256: sha256(Buffer.from(text, 'utf8')),
    pods: m.podsTotal,
    logs: m.logs,
  };
}

/** The bundle at <root>/<id> when its manifest authenticates and every file matches; else undefined. */
async function existingEvidence(dir: string, id: string, hmacKey: string): Promise<EvidenceSummary | undefined> {
  if (!existsSync(join(dir, EVIDENCE_MANIFEST))) return undefined;
  try {
    const text = await readSmallRegularFile(join(dir, EVIDENCE_MANIFEST), MAX_MANIFEST_BYTES);
    const m = verifyEvidenceManifest(text, hmacKey, id);
    for (const f of m.files) {
      const data = await readRegularFile(join(dir, f.file), f.size);
      if (sha256(data) !== f.sha256) return undefined;
    }
    return summary(dir, m, text, true);
  } catch {
    return undefined;
  }
}

export function verifyEvidenceManifest(text: string, hmacKey: string, id: string): EvidenceManifest {
  const m = JSON.parse(text) as EvidenceManifest;
  const { hmac, ...body } = m;
  if (!hmac || !macEquals(hmac.value, hmacSha256(hmacKey, body)))
    throw invalid(`incident ${id}: the evidence manifest's HMAC does not match`);
  if (m.incidentId !== id || m.kind !== 'incident-evidence')
    throw invalid(`incident ${id}: manifest.json is of another bundle`);
  return m;
}

export async function writeEvidence(
  deps: ActivityDeps,
  helm: HelmDeps,
  hmacKey: string,
  req: EvidenceRequest,
): Promise<EvidenceSummary> {
  const root = incidentsRoot(deps);
  const dir = incidentPath(deps, req.incidentId);
  await removeAbandonedTempDirs(root, req.incidentId);
  const found = await existingEvidence(dir, req.incidentId, hmacKey);
  if (found) return found;
  if (!req.recipients.length)
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message: 'no age recipient: the sensitive evidence is never written in plain text',
    });

  const { kube } = deps;
  const { pods, total } = await readScopePods(kube, req);
  heartbeat({ pods: pods.length });
  const logs = await readLogs(kube, req.namespace, pods);
  const nodeNames = [...req.nodes, ...pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n)];
  const [events, nodes, owners, rbac, access, secrets, configMaps, release] = await Promise.all([
    readEvents(kube, req.namespace),
    readNodes(kube, nodeNames),
    readOwners(kube, req.namespace, pods),
    readSaBindings(kube, req.namespace, req.serviceAccount),
    reviewAccess(kube, req.namespace, req.serviceAccount),
    readSecretMetadata(kube, req.namespace),
    readConfigMapMetadata(kube, req.namespace),
    (async () => {
      const ref = { release: req.release, namespace: req.namespace };
      const status = await helmStatus(helm, ref);
      if (!status) return [{ release: req.release, namespace: req.namespace, status: null }];
      return [{ status, history: await helmHistory(helm, ref), values: await helmGetValues(helm, ref) }];
    })(),
  ]);
  heartbeat({ read: 'all' });

  // [file, what, objects, encrypted]: pod specs, owners' templates, logs and Helm values may carry credentials.
  const parts: [string, string, unknown[], boolean][] = [
    ['pods', 'pods in scope (spec and status)', pods, true],
    ['images', 'image and image digest (imageID) of every container', imagesOf(pods), false],
    ['logs', 'container logs, current and previous', logs, true],
    ['events', "the namespace's events", events, false],
    ['nodes', 'the nodes of the pods and of the scope', nodes, false],
    ['owners', 'ReplicaSets, Deployments and Jobs owning the pods', owners, true],
    ['helm-release', 'the Helm release: status, history, values', release, true],
    ['rbac', 'bindings naming the service account and their roles', rbac.objects, false],
    ['access-review', 'what the service account may do (SubjectAccessReviews)', access, false],
    ['secrets-metadata', 'Secrets: metadata and key names (never values)', secrets, false],
    ['configmaps-metadata', 'ConfigMaps: metadata and key names', configMaps, false],
  ];
  const tmp = await tempDir(root, req.incidentId);
  try {
    const files: EvidenceFile[] = [];
    for (const [name, what, objects, encrypted] of parts) {
      const plain = encodeJsonLines(objects);
      const data = encrypted ? await ageEncrypt(plain, req.recipients) : plain;
      const file = `${name}.jsonl.gz${encrypted ? '.age' : ''}`;
      await writeFileIn(tmp, file, data);
      files.push({ file, what, count: objects.length, size: data.length, sha256: sha256(data), encrypted });
    }
    const body: EvidenceManifest = {
      formatVersion: 1,
      kind: 'incident-evidence',
      incidentId: req.incidentId,
      createdAt: new Date().toISOString(),
      cluster: kube.config.getCurrentCluster()?.server ?? 'unknown',
      namespace: req.namespace,
      ...(req.podSelector ? { podSelector: req.podSelector } : {}),
      podsTotal: total,
      files,
      logs: {
        current: logs.filter((l) => !l.previous && l.text !== undefined).length,
        previous: logs.filter((l) => l.previous && l.text !== undefined).length,
        errors: logs.filter((l) => l.error).length,
      },
      recipients: req.recipients,
    };
    const manifest = { ...body, hmac: { alg: 'HMAC-SHA256' as const, value: hmacSha256(hmacKey, body) } };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeFileIn(tmp, EVIDENCE_MANIFEST, text);
    const final = await publish(root, tmp, req.incidentId);
    deps.logger.info({ incidentId: req.incidentId, dir: final, files: files.length }, 'incident evidence written');
    return summary(final, manifest, text, false);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
