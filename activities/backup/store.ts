// The backup store: one directory per backup under the store root. A backup is written into a
// temporary directory and renamed into place, so a directory named <id> is always complete.
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { type BackupFileInfo, type Retention } from '../../contract/types/backup.ts';
import { BACKUP_INVALID, BACKUP_NOT_FOUND } from '../../contract/failures.ts';
import type { ActivityDeps } from '../deps.ts';
import { hmacSha256, macEquals } from './codec.ts';
import { MANIFEST_FILE, verifyFile, verifyFileDigest, verifyManifest, type Manifest } from './manifest.ts';

export const DEFAULT_BACKUP_DIR = '.data/backups';

export function storeRoot(deps: Pick<ActivityDeps, 'workdir' | 'backupDir'>): string {
  return resolve(deps.workdir, deps.backupDir ?? DEFAULT_BACKUP_DIR);
}

/**
 * The backup id of a workflow: its workflow ID made safe as a directory name. Schedules give each run
 * its own workflow ID (nightly-backup-<time>), so re-runs of one ID share one backup.
 */
export function backupIdFor(workflowId: string): string {
  const safe = workflowId
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 150);
  if (safe === workflowId && safe.length) return safe;
  return `${safe || 'backup'}-${createHash('sha256').update(workflowId).digest('hex').slice(0, 8)}`;
}

export function backupPath(root: string, id: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(id) || id.startsWith('.'))
    throw new Error(`invalid backup id ${JSON.stringify(id)}`);
  return join(root, id);
}

/** manifest.json is never larger than this (10,000 TaskRuns make a manifest of a few KB). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Why a file was refused before it was read (not a regular file, too large). */
export class UnsafeFileError extends Error {}

/**
 * Reads a regular file: a symlink, a FIFO, a device, a directory or a file above `limit` bytes is
 * refused before a byte is read. lstat first (a clear reason); then opened with O_NOFOLLOW | O_NONBLOCK
 * (a FIFO swapped in meanwhile never blocks the open) and checked again on the descriptor.
 */
export async function readRegularFile(path: string, limit: number): Promise<Buffer> {
  const handle = await openRegularFile(path, limit);
  try {
    const size = (await handle.stat()).size;
    const buf = Buffer.alloc(size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > size) throw new UnsafeFileError(`${basename(path)} grew while it was read`);
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err;
    throw new UnsafeFileError(`${basename(path)} cannot be read (${(err as Error).message})`);
  } finally {
    await handle.close();
  }
}

/** Opens a regular file of at most `limit` bytes, with readRegularFile's checks; the caller closes it. */
export async function openRegularFile(path: string, limit: number): Promise<FileHandle> {
  const s = await lstat(path);
  const kind = (st: { isFile(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean }) =>
    st.isSymbolicLink() ? 'a symlink' : st.isFIFO() ? 'a FIFO' : 'not a regular file';
  if (!s.isFile()) throw new UnsafeFileError(`${basename(path)} is ${kind(s)}`);
  if (s.size > limit) throw new UnsafeFileError(`${basename(path)} is larger than ${limit} bytes (${s.size})`);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new UnsafeFileError(
      `${basename(path)} cannot be opened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UnsafeFileError(`${basename(path)} is ${kind(st)}`);
    if (st.size > limit) throw new UnsafeFileError(`${basename(path)} is larger than ${limit} bytes (${st.size})`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export async function readSmallRegularFile(path: string, limit: number): Promise<string> {
  return (await readRegularFile(path, limit)).toString('utf8');
}

/** The text of <dir>/manifest.json, read safely (see readSmallRegularFile). */
export function readManifestText(dir: string, _id: string): Promise<string> {
  return readSmallRegularFile(join(dir, MANIFEST_FILE), MAX_MANIFEST_BYTES);
}

/** Reads and authenticates a backup's manifest. */
export async function openBackup(
  root: string,
  id: string,
  hmacKey: string,
): Promise<{ dir: string; manifest: Manifest }> {
  const dir = backupPath(root, id);
  let text: string;
  try {
    text = await readManifestText(dir, id);
  } catch (err) {
    if (err instanceof UnsafeFileError)
      throw ApplicationFailure.create({
        type: BACKUP_INVALID,
        message: `backup ${id}: ${err.message}`,
        nonRetryable: true,
      });
    throw ApplicationFailure.create({
      type: BACKUP_NOT_FOUND,
      message: `backup ${id} not found in ${root}`,
      nonRetryable: true,
    });
  }
  return { dir, manifest: verifyManifest(text, hmacKey, id) };
}

/** Reads one file of a verified backup, checking its checksum. */
export async function readBackupFile(dir: string, info: BackupFileInfo, id: string): Promise<Buffer> {
  // Never more than the manifest says (a symlink, a FIFO or a grown file reads as nothing: a checksum mismatch).
  const data = await readRegularFile(join(dir, info.file), info.size).catch(() => Buffer.alloc(0));
  verifyFile(info, data, id);
  return data;
}

const CHUNK = 256 * 1024;

/** The bytes of an open file in chunks, from its start; never more than `limit` + 1 of them. */
async function* chunksOf(handle: FileHandle, limit: number): AsyncGenerator<Uint8Array> {
  for (let position = 0; position <= limit;) {
    const buf = Buffer.alloc(Math.min(CHUNK, limit + 1 - position));
    const { bytesRead } = await handle.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

async function digestOf(chunks: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of chunks) {
    hash.update(c);
    size += c.length;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * The bytes of one file of a verified backup as a stream, never all at once: its size and sha256 are
 * checked against the manifest by a first read of the open file before a byte is handed out, and again by
 * the second read that hands them out (a file changed in between fails at its end). A file that cannot be
 * opened safely reads as nothing: a checksum mismatch, as readBackupFile.
 */
export async function* backupFileChunks(dir: string, info: BackupFileInfo, id: string): AsyncGenerator<Uint8Array> {
  const handle = await openRegularFile(join(dir, info.file), info.size).catch(() => undefined);
  if (!handle) {
    verifyFile(info, Buffer.alloc(0), id);
    return;
  }
  try {
    verifyFileDigest(info, await digestOf(chunksOf(handle, info.size)), id);
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of chunksOf(handle, info.size)) {
      hash.update(c);
      size += c.length;
      yield c;
    }
    verifyFileDigest(info, { size, sha256: hash.digest('hex') }, id);
  } finally {
    await handle.close();
  }
}

/** Checks one file of a backup against the manifest, reading it as a stream. */
export async function verifyBackupFile(dir: string, info: BackupFileInfo, id: string): Promise<void> {
  const chunks = backupFileChunks(dir, info, id);
  while (!(await chunks.next()).done); // each chunk is hashed as it is read, and dropped
}

/** Is there a complete, authentic backup at <root>/<id>? */
export async function existingBackup(root: string, id: string, hmacKey: string): Promise<Manifest | undefined> {
  if (!existsSync(join(backupPath(root, id), MANIFEST_FILE))) return undefined;
  try {
    const { dir, manifest } = await openBackup(root, id, hmacKey);
    for (const f of manifest.files) await verifyBackupFile(dir, f, id);
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

/**
 * Removes the temp directories that earlier attempts of backup `id` left (a SIGKILLed worker never ran
 * their cleanup). Only this id's: `.tmp-<id>-` then exactly the eight hex digits tempDir appends.
 */
export async function removeAbandonedTempDirs(root: string, id: string): Promise<void> {
  if (!existsSync(root)) return;
  const prefix = `.tmp-${id}-`;
  for (const entry of await readdir(root)) {
    if (entry.startsWith(prefix) && /^[0-9a-f]{8}$/.test(entry.slice(prefix.length)))
      await rm(join(root, entry), { recursive: true, force: true });
  }
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
  /** The backed-up namespace, from the authenticated manifest (absent when it does not authenticate). */
  namespace?: string;
  /** The schedule or runbook that took it, from the authenticated manifest (absent in older backups). */
  series?: string;
  /** The manifest's HMAC verified with the worker's key, and it names this directory's id. */
  authentic: boolean;
  /** A verification restore (backupAndVerify) found it equal: an authentic verification record. */
  verified: boolean;
}

/** Written into a backup's directory by backupAndVerify after its test restore compared equal. */
export const VERIFICATION_FILE = 'verification.json';

export interface VerificationRecord {
  backupId: string;
  verifiedAt: string;
  /** The backupAndVerify workflow that restored and compared it. */
  workflowId: string;
  hmac?: { alg: 'HMAC-SHA256'; value: string };
}

export function signVerification(record: VerificationRecord, key: string): VerificationRecord {
  const { hmac: _old, ...body } = record;
  return { ...body, hmac: { alg: 'HMAC-SHA256', value: hmacSha256(key, { verification: body }) } };
}

/** Is this an authentic verification record of backup `id`? */
export function verificationAuthentic(value: unknown, key: string, id: string): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const { hmac, ...body } = value as VerificationRecord;
  if (!hmac || hmac.alg !== 'HMAC-SHA256' || typeof hmac.value !== 'string') return false;
  return macEquals(hmac.value, hmacSha256(key, { verification: body })) && body.backupId === id;
}

/** Records that backup `id` (authentic with `key`) was verified by a test restore. */
export async function recordVerification(
  root: string,
  id: string,
  key: string,
  workflowId: string,
  now = new Date(),
): Promise<VerificationRecord> {
  const { dir } = await openBackup(root, id, key);
  const record = signVerification({ backupId: id, verifiedAt: now.toISOString(), workflowId }, key);
  const tmp = join(dir, `.${VERIFICATION_FILE}.${randomUUID().slice(0, 8)}`);
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, VERIFICATION_FILE));
  return record;
}

async function verifiedWith(dir: string, id: string, key: string): Promise<boolean> {
  try {
    const text = await readSmallRegularFile(join(dir, VERIFICATION_FILE), 64 * 1024);
    return verificationAuthentic(JSON.parse(text), key, id);
  } catch {
    return false;
  }
}

/**
 * Backups in the store (directories with a manifest), newest first. With the HMAC key, each manifest is
 * authenticated: only then are its namespace and series known (retention acts on nothing else).
 * Unreadable or unauthenticated manifests count by mtime.
 */
export async function listBackups(root: string, hmacKey?: string): Promise<StoredBackup[]> {
  if (!existsSync(root)) return [];
  const found: StoredBackup[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(root, entry.name);
    const file = join(dir, MANIFEST_FILE);
    if (!existsSync(file)) continue;
    let backup: StoredBackup | undefined;
    if (hmacKey !== undefined) {
      try {
        const m = verifyManifest(await readManifestText(dir, entry.name), hmacKey, entry.name);
        if (m.id === entry.name && typeof m.createdAt === 'string' && !Number.isNaN(Date.parse(m.createdAt))) {
          backup = {
            id: entry.name,
            createdAt: m.createdAt,
            namespace: m.namespace,
            ...(typeof m.series === 'string' ? { series: m.series } : {}),
            authentic: true,
            verified: await verifiedWith(dir, entry.name, hmacKey),
          };
        }
      } catch {
        /* not authentic: listed, never deleted by retention */
      }
    }
    if (!backup) {
      let createdAt: string | undefined;
      try {
        createdAt = (JSON.parse(await readManifestText(dir, entry.name)) as Partial<Manifest> | null)?.createdAt;
      } catch {
        /* fall back to mtime */
      }
      if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))
        createdAt = (await lstat(file)).mtime.toISOString();
      backup = { id: entry.name, createdAt, authentic: false, verified: false };
    }
    found.push(backup);
  }
  return found.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id.localeCompare(a.id));
}

export interface RetentionScope {
  /** The backup just written: always kept; its namespace and series are the ones retention acts on. */
  protect: string;
  /** The series (defaults: the protected backup's, from the list). */
  namespace?: string;
  series?: string;
}

/**
 * Which backups a retention policy deletes. Only backups of one series (the protected backup's
 * namespace and series, as its authenticated manifest says) are candidates: a backup whose manifest does
 * not authenticate, or that has no series, is never deleted. The protected backup and the newest
 * verified backup of the series are always kept.
 */
export function selectExpired(
  backups: StoredBackup[],
  policy: Retention,
  now: number,
  scope: RetentionScope,
): string[] {
  const own = backups.find((b) => b.id === scope.protect);
  const namespace = scope.namespace ?? own?.namespace;
  const series = scope.series ?? own?.series;
  if (!own?.authentic || namespace === undefined || series === undefined) return [];
  const members = backups.filter((b) => b.authentic && b.namespace === namespace && b.series === series);
  const keep = new Set<string>([scope.protect]);
  const newestVerified = members.find((b) => b.verified);
  if (newestVerified) keep.add(newestVerified.id);
  const expired = new Set<string>();
  if (policy.keepLast !== undefined) {
    const others = members.filter((b) => b.id !== scope.protect);
    for (const b of others.slice(Math.max(0, policy.keepLast - 1))) expired.add(b.id);
  }
  if (policy.maxAgeDays !== undefined) {
    const cutoff = now - policy.maxAgeDays * 86_400_000;
    for (const b of members) if (Date.parse(b.createdAt) < cutoff) expired.add(b.id);
  }
  return members.filter((b) => expired.has(b.id) && !keep.has(b.id)).map((b) => b.id);
}

export interface RetentionPlan {
  /** The series acted on (none when the protected backup is not authentic or has no series). */
  namespace?: string;
  series?: string;
  /** Backups of the series that stay, newest first. */
  kept: string[];
  deleted: string[];
}

/** Read-only: what retention would delete in the store. */
export async function planRetention(
  root: string,
  policy: Retention,
  scope: RetentionScope & { hmacKey: string },
  now = Date.now(),
): Promise<RetentionPlan> {
  const backups = await listBackups(root, scope.hmacKey);
  const own = backups.find((b) => b.id === scope.protect);
  const namespace = scope.namespace ?? own?.namespace;
  const series = scope.series ?? own?.series;
  const deleted = selectExpired(backups, policy, now, scope);
  const kept =
    own?.authentic && namespace !== undefined && series !== undefined
      ? backups
          .filter((b) => b.authentic && b.namespace === namespace && b.series === series && !deleted.includes(b.id))
          .map((b) => b.id)
      : [scope.protect];
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    ...(series !== undefined ? { series } : {}),
    kept,
    deleted,
  };
}

/** Deletes the given backups, and leftovers of crashed writes (temp dirs older than a day). */
export async function deleteBackups(root: string, ids: string[], now = Date.now()): Promise<void> {
  for (const id of ids) await rm(backupPath(root, id), { recursive: true, force: true });
  if (existsSync(root)) {
    for (const entry of await readdir(root)) {
      if (!entry.startsWith('.tmp-')) continue;
      const s = await stat(join(root, entry));
      if (now - s.mtimeMs > 86_400_000) await rm(join(root, entry), { recursive: true, force: true });
    }
  }
}

export async function applyRetention(
  root: string,
  policy: Retention,
  scope: RetentionScope & { hmacKey: string },
  now = Date.now(),
): Promise<RetentionPlan> {
  const plan = await planRetention(root, policy, scope, now);
  await deleteBackups(root, plan.deleted, now);
  return plan;
}
