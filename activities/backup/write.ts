// backupPlatform's acting activity: capture -> encode per kind -> encrypt the secret-bearing kinds ->
// manifest (signed) -> temp dir -> atomic rename. TaskRuns go to their file page by page as they are
// listed (never all in memory); the other kinds are a namespace's few objects, encoded whole. A backup with this id that already verifies is
// reused, so a retried activity or a re-run workflow never writes a second copy.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  ENCRYPTED_KINDS,
  type BackupFileInfo,
  type BackupKind,
  type BackupSummary,
  type VolumeSnapshotPlan,
} from '../../contract/types/backup.ts';
import { INVALID_INPUT } from '../../contract/failures.ts';
import type { ActivityDeps } from '../deps.ts';
import type { HelmDeps } from '../helm/deps.ts';
import type { KubeClients } from '../kube/client.ts';
import { helmGetValues, helmHistory, helmStatus } from '../helm/release.ts';
import { heartbeat } from '../activity-context.ts';
import { ageEncrypt } from './age.ts';
import { captureTaskRuns, readConfigMaps, readCrd, readSecrets, type CaptureScope } from './capture.ts';
import { volumeSnapshotPlan } from './snapshots.ts';
import { encodeJsonLines, JsonLinesWriter, sha256 } from './codec.ts';
import { decodeReleaseRecord, releaseConfig, type ReleaseRecord } from './helm-objects.ts';
import {
  FORMAT_VERSION,
  helmValuesDigest,
  MANIFEST_FILE,
  signManifest,
  type HelmReleaseSummary,
  type Manifest,
} from './manifest.ts';
import { existingBackup, publish, removeAbandonedTempDirs, storeRoot, tempDir, writeFileIn } from './store.ts';

export interface WriteBackupRequest extends CaptureScope {
  backupId: string;
  release: string;
  recipients: string[];
  /** The schedule or runbook that takes it: with the namespace, the series that retention acts on. */
  series?: string;
  /** The snapshot step's result (or why it was skipped), recorded in the manifest; read here when absent. */
  volumeSnapshots?: VolumeSnapshotPlan;
}

export function fileName(kind: BackupKind): string {
  return `${kind}.jsonl.gz${ENCRYPTED_KINDS.includes(kind) ? '.age' : ''}`;
}

export function summarize(dir: string, m: Manifest, reused: boolean): BackupSummary {
  return {
    id: m.id,
    dir,
    createdAt: m.createdAt,
    cluster: m.cluster,
    namespace: m.namespace,
    counts: m.counts,
    files: m.files,
    reused,
    bytes: m.files.reduce((n, f) => n + f.size, 0),
  };
}

/** The manifest's summary of a release: the values only as a digest (they are in the encrypted release records). */
export function releaseSummary(
  status: { name: string; revision: number; status: string; chart: string; chartVersion: string; appVersion: string },
  namespace: string,
  revisions: number[],
  values: Record<string, unknown>,
): HelmReleaseSummary {
  return {
    name: status.name,
    namespace,
    revision: status.revision,
    status: status.status,
    chart: status.chart,
    chartVersion: status.chartVersion,
    appVersion: status.appVersion,
    valuesSha256: helmValuesDigest(values),
    revisions,
  };
}

export async function helmSummary(
  helm: HelmDeps,
  release: string,
  namespace: string,
): Promise<HelmReleaseSummary | null> {
  const status = await helmStatus(helm, { release, namespace });
  if (!status) return null;
  const history = await helmHistory(helm, { release, namespace });
  const values = await helmGetValues(helm, { release, namespace });
  return releaseSummary(
    status,
    namespace,
    history.map((h) => h.revision),
    values,
  );
}

/**
 * Checks the manifest's values digest against the decrypted release record of that revision (its
 * config: the user-supplied values). A message when they differ; nothing to check for manifests
 * without a digest, or when the backup holds no record of that revision.
 */
export function helmValuesMismatch(summary: HelmReleaseSummary, records: ReleaseRecord[]): string | undefined {
  if (typeof summary.valuesSha256 !== 'string') return undefined;
  for (const record of records) {
    const rev = decodeReleaseRecord(record);
    if (rev.name !== summary.name || rev.revision !== summary.revision) continue;
    if (helmValuesDigest(releaseConfig(record)) !== summary.valuesSha256) {
      return `the values of ${summary.name} revision ${summary.revision} do not match the manifest's sha256 (tampered with)`;
    }
    return undefined;
  }
  return undefined;
}

async function toolVersions(deps: ActivityDeps): Promise<Record<string, string>> {
  const versions: Record<string, string> = { node: process.version, 'age-encryption': '0.3.1' };
  const helm = await execa(deps.helmBin, ['version', '--short'], { reject: false, timeout: 10_000 });
  if (helm.exitCode === 0) versions.helm = helm.stdout.trim();
  try {
    versions.kubernetes = (await deps.kube.version.getCode()).gitVersion;
  } catch {
    /* informational only */
  }
  return versions;
}

/** A list whose continue token expired (410) while TaskRuns were written: the file is written again from the start. */
const EXPIRED_RESTARTS = 2;

/** The TaskRuns' file (never encrypted), written page by page as they are listed. */
async function writeTaskRuns(kube: KubeClients, scope: CaptureScope, dir: string): Promise<BackupFileInfo> {
  const file = fileName('taskRuns');
  for (let restarts = 0; ; restarts++) {
    const writer = new JsonLinesWriter(join(dir, file));
    try {
      await captureTaskRuns(kube, scope, (page) => writer.write(page));
      const written = await writer.close();
      heartbeat({ written: file });
      return {
        kind: 'taskRuns',
        file,
        size: written.size,
        sha256: written.sha256,
        encrypted: false,
        count: written.count,
      };
    } catch (err) {
      await writer.close().catch(() => undefined);
      const expired = (err as ApplicationFailure).details?.[0] as { httpStatus?: number } | undefined;
      if (expired?.httpStatus !== 410 || restarts >= EXPIRED_RESTARTS) throw err;
    }
  }
}

export async function writeBackup(
  deps: ActivityDeps,
  helm: HelmDeps,
  hmacKey: string,
  req: WriteBackupRequest,
): Promise<BackupSummary> {
  const root = storeRoot(deps);
  await removeAbandonedTempDirs(root, req.backupId);
  const found = await existingBackup(root, req.backupId, hmacKey);
  if (found) return summarize(`${root}/${req.backupId}`, found, true);
  const needsKey = ENCRYPTED_KINDS.some((k) => req.include[k]);
  if (needsKey && !req.recipients.length) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      nonRetryable: true,
      message:
        'no age recipient: Secrets are never written in plain text (give recipients, or exclude secrets and helmReleases)',
    });
  }

  // The reads are independent: run them together (helm runs as separate processes meanwhile). TaskRuns go
  // to their file page by page as they are listed; the other kinds are a namespace's few objects.
  const { kube } = deps;
  const meta = Promise.all([
    req.include.helmReleases ? helmSummary(helm, req.release, req.namespace) : null,
    req.volumeSnapshots ?? volumeSnapshotPlan(kube, req.namespace),
    toolVersions(deps),
  ]);
  meta.catch(() => undefined); // awaited below; a failure of the capture must not leave it unhandled
  const tmp = await tempDir(root, req.backupId);
  try {
    const [crds, secrets, configMaps, taskRuns] = await Promise.all([
      req.include.crds ? readCrd(kube) : undefined,
      req.include.secrets || req.include.helmReleases ? readSecrets(kube, req) : undefined,
      req.include.configMaps ? readConfigMaps(kube, req) : undefined,
      req.include.taskRuns ? writeTaskRuns(kube, req, tmp) : undefined,
    ]);
    const objects: Partial<Record<BackupKind, KubernetesObject[]>> = {
      ...(crds ? { crds } : {}),
      ...(secrets && req.include.secrets ? { secrets: secrets.secrets } : {}),
      ...(secrets && req.include.helmReleases ? { helmReleases: secrets.helmReleases } : {}),
      ...(configMaps ? { configMaps } : {}),
    };
    const [helmRelease, volumeSnapshots, tools] = await meta;
    heartbeat({
      captured: {
        ...Object.fromEntries(Object.entries(objects).map(([k, v]) => [k, v.length])),
        ...(taskRuns ? { taskRuns: taskRuns.count } : {}),
      },
    });

    const files: BackupFileInfo[] = [];
    for (const [kind, list] of Object.entries(objects) as [BackupKind, KubernetesObject[]][]) {
      const encrypted = ENCRYPTED_KINDS.includes(kind);
      const plain = encodeJsonLines(list);
      const data = encrypted ? await ageEncrypt(plain, req.recipients) : plain;
      const file = fileName(kind);
      await writeFileIn(tmp, file, data);
      files.push({ kind, file, size: data.length, sha256: sha256(data), encrypted, count: list.length });
      heartbeat({ written: file });
    }
    if (taskRuns) files.push(taskRuns);
    const manifest = signManifest(
      {
        formatVersion: FORMAT_VERSION,
        id: req.backupId,
        createdAt: new Date().toISOString(),
        cluster: kube.config.getCurrentCluster()?.server ?? 'unknown',
        namespace: req.namespace,
        ...(req.series ? { series: req.series } : {}),
        ...(req.labelSelector ? { labelSelector: req.labelSelector } : {}),
        counts: Object.fromEntries(files.map((f) => [f.kind, f.count])),
        files,
        helm: helmRelease,
        volumeSnapshots,
        recipients: needsKey ? req.recipients : [],
        tools,
      },
      hmacKey,
    );
    await writeFileIn(tmp, MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
    const dir = await publish(root, tmp, req.backupId);
    deps.logger.info({ backupId: req.backupId, dir, counts: manifest.counts }, 'backup written');
    return summarize(dir, manifest, false);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
