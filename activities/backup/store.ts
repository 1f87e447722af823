// The backup store: one directory per backup under the store root. A backup is written into a
// temporary directory and renamed into place, so a directory named <id> is always complete.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { BACKUP_NOT_FOUND, type BackupFileInfo, type Retention } from '../../workflows/types/backup.ts';
import type { ActivityDeps } from '../deps.ts';
import { MANIFEST_FILE, verifyFile, verifyManifest, type Manifest } from './manifest.ts';

export const DEFAULT_BACKUP_DIR = '.data/backups';

export function storeRoot(deps: Pick<ActivityDeps, 'workdir' | 'backupDir'>): string {
  return resolve(deps.workdir, deps.backupDir ?? DEFAULT_BACKUP_DIR);
}

/**
 * The backup id of a workflow: its workflow ID made safe as a directory name. Schedules give each run
 * its own workflow ID (nightly-backup-<time>), so re-runs of one ID share one backup.
 */
export function backupIdFor(workflowId: string): string {
  const safe = workflowId.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '').slice(0, 150);
  if (safe === workflowId && safe.length) return safe;
  return `${safe || 'backup'}-${createHash('sha256').update(workflowId).digest('hex').slice(0, 8)}`;
}

export function backupPath(root: string, id: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(id) || id.startsWith('.')) throw new Error(`invalid backup id ${JSON.stringify(id)}`);
  return join(root, id);
}

/** Reads and authenticates a backup's manifest. */
export async function openBackup(root: string, id: string, hmacKey: string): Promise<{ dir: string; manifest: Manifest }> {
  const dir = backupPath(root, id);
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw ApplicationFailure.create({ type: BACKUP_NOT_FOUND, message: `backup ${id} not found in ${root}`, nonRetryable: true });
  }
  return { dir, manifest: verifyManifest(text, hmacKey, id) };
}

/** Reads one file of a verified backup, checking its checksum. */
export async function readBackupFile(dir: string, info: BackupFileInfo, id: string): Promise<Buffer> {
  const data = await readFile(join(dir, info.file)).catch(() => Buffer.alloc(0));
  verifyFile(info, data, id);
  return data;
}

/** Is there a complete, authentic backup at <root>/<id>? */
export async function existingBackup(root: string, id: string, hmacKey: string): Promise<Manifest | undefined> {
  if (!existsSync(join(backupPath(root, id), MANIFEST_FILE))) return undefined;
  try {
    const { dir, manifest } = await openBackup(root, id, hmacKey);
    for (const f of manifest.files) await readBackupFile(dir, f, id);
    return manifest;
  } catch {
    return undefined;
  }
}

/** A fresh temporary directory in the store (same file system, so the final rename is atomic). */
export async function tempDir(root: string, id: string): Promise<string> {
  const dir = join(root, `.tmp-${id}-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export async function writeFileIn(dir: string, name: string, data: Uint8Array | string): Promise<void> {
  await writeFile(join(dir, name), data, { mode: 0o600 });
}

/** Moves a finished temp dir to <root>/<id>; an unusable old directory of that id is set aside first. */
export async function publish(root: string, tmp: string, id: string): Promise<string> {
  const final = backupPath(root, id);
  if (existsSync(final)) await rename(final, join(root, `.invalid-${id}-${Date.now()}`));
  await rename(tmp, final);
  return final;
}

export interface StoredBackup {
  id: string;
  createdAt: string;
}

/** Backups in the store (directories with a manifest), newest first. Unreadable manifests count by mtime. */
export async function listBackups(root: string): Promise<StoredBackup[]> {
  if (!existsSync(root)) return [];
  const found: StoredBackup[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const file = join(root, entry.name, MANIFEST_FILE);
    if (!existsSync(file)) continue;
    let createdAt: string | undefined;
    try {
      createdAt = (JSON.parse(await readFile(file, 'utf8')) as Manifest).createdAt;
    } catch { /* fall back to mtime */ }
    if (!createdAt || Number.isNaN(Date.parse(createdAt))) createdAt = (await stat(file)).mtime.toISOString();
    found.push({ id: entry.name, createdAt });
  }
  return found.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id.localeCompare(a.id));
}

/** Which backups a retention policy deletes; `protect` (the backup just written) is always kept. */
export function selectExpired(backups: StoredBackup[], policy: Retention, now: number, protect?: string): string[] {
  const expired = new Set<string>();
  if (policy.keepLast !== undefined) {
    const others = backups.filter((b) => b.id !== protect);
    const room = policy.keepLast - (protect && backups.some((b) => b.id === protect) ? 1 : 0);
    for (const b of others.slice(Math.max(0, room))) expired.add(b.id);
  }
  if (policy.maxAgeDays !== undefined) {
    const cutoff = now - policy.maxAgeDays * 86_400_000;
    for (const b of backups) if (b.id !== protect && Date.parse(b.createdAt) < cutoff) expired.add(b.id);
  }
  return backups.filter((b) => expired.has(b.id)).map((b) => b.id);
}

export async function applyRetention(root: string, policy: Retention, protect?: string, now = Date.now()): Promise<{ kept: string[]; deleted: string[] }> {
  const backups = await listBackups(root);
  const deleted = selectExpired(backups, policy, now, protect);
  for (const id of deleted) await rm(backupPath(root, id), { recursive: true, force: true });
  // Leftovers of crashed writes (temp dirs older than a day) go too.
  if (existsSync(root)) {
    for (const entry of await readdir(root)) {
      if (!entry.startsWith('.tmp-')) continue;
      const s = await stat(join(root, entry));
      if (now - s.mtimeMs > 86_400_000) await rm(join(root, entry), { recursive: true, force: true });
    }
  }
  return { kept: backups.map((b) => b.id).filter((id) => !deleted.includes(id)), deleted };
}
