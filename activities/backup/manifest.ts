// The manifest of a backup (manifest.json): what is in it, every file with size and sha256, and an
// HMAC-SHA256 over all of that, so that a file changed together with its checksum is detected.
import { ApplicationFailure } from '@temporalio/common';
import { type BackupFileInfo, type BackupKind, type VolumeSnapshotPlan } from '../../contract/types/backup.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { canonicalJson, hmacSha256, macEquals, sha256 } from './codec.ts';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT_VERSION = 1;

export interface HelmReleaseSummary {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chart: string;
  chartVersion: string;
  appVersion: string;
  /**
   * sha256 of the canonical JSON of the latest revision's user-supplied values. The values themselves
   * (which may hold credentials) are only in the encrypted helmReleases file (the release records'
   * config). Backups written before this field held the values in plain text here.
   */
  valuesSha256: string;
  /** Revisions stored as release records (sh.helm.release.v1.*). */
  revisions: number[];
}

export interface Manifest {
  formatVersion: number;
  id: string;
  createdAt: string;
  /** The API server the backup was read from. */
  cluster: string;
  namespace: string;
  /**
   * The schedule or runbook that took it (with the namespace: the series that retention acts on). Absent
   * in backups written before series existed: retention never deletes those.
   */
  series?: string;
  labelSelector?: string;
  counts: Partial<Record<BackupKind, number>>;
  files: BackupFileInfo[];
  helm: HelmReleaseSummary | null;
  /** The PVCs' VolumeSnapshots (name, PVC, size, class, ready), or why none were taken. */
  volumeSnapshots: VolumeSnapshotPlan;
  /** age recipients the encrypted files were written for (public keys). */
  recipients: string[];
  tools: Record<string, string>;
  hmac?: { alg: 'HMAC-SHA256'; value: string };
}

/** The digest the manifest keeps of a release's values (canonical JSON: independent of key order). */
export function helmValuesDigest(values: unknown): string {
  return sha256(Buffer.from(canonicalJson(values ?? {}), 'utf8'));
}

export function signManifest(manifest: Manifest, key: string): Manifest {
  const { hmac: _old, ...body } = manifest;
  return { ...body, hmac: { alg: 'HMAC-SHA256', value: hmacSha256(key, body) } };
}

const invalid = (message: string) => ApplicationFailure.create({ type: BACKUP_INVALID, message, nonRetryable: true });

/** Parses and authenticates manifest.json; throws BackupInvalid naming what is wrong. */
export function verifyManifest(text: string, key: string, id: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`backup ${id}: manifest.json is not JSON (corrupted)`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw invalid(`backup ${id}: manifest.json is not a JSON object`);
  const manifest = parsed as Manifest;
  const { hmac, ...body } = manifest;
  if (!hmac || hmac.alg !== 'HMAC-SHA256' || typeof hmac.value !== 'string')
    throw invalid(`backup ${id}: manifest.json carries no HMAC-SHA256`);
  if (!macEquals(hmac.value, hmacSha256(key, body))) {
    throw invalid(`backup ${id}: the manifest's HMAC does not match (tampered with, or a different HMAC key)`);
  }
  // Authentic, but of another backup (copied or renamed): a restore of <id> must restore <id>.
  if (manifest.id !== id) throw invalid(`backup ${id}: manifest.json names backup ${String(manifest.id)}, not ${id}`);
  if (manifest.formatVersion !== FORMAT_VERSION)
    throw invalid(`backup ${id}: format version ${manifest.formatVersion} is not supported`);
  return manifest;
}

/** Checks one file against its manifest entry. */
export function verifyFile(info: BackupFileInfo, data: Uint8Array, id: string): void {
  verifyFileDigest(info, { size: data.length, sha256: sha256(data) }, id);
}

/** Checks one file's size and sha256 (read as a stream) against its manifest entry. */
export function verifyFileDigest(info: BackupFileInfo, digest: { size: number; sha256: string }, id: string): void {
  if (digest.size !== info.size || digest.sha256 !== info.sha256) {
    throw invalid(
      `backup ${id}: ${info.file} does not match its checksum in the manifest (corrupted or tampered with)`,
    );
  }
}
