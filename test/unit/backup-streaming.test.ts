// Backup and restore stream TaskRuns: the real writeBackup and restoreKind, against a fake API server that
// serves N TaskRuns page by page and takes the restore's writes, never hold every TaskRun at once. The heap
// is measured after a full GC while they run: it stays near one page whatever N is, and the activities'
// results do not grow with N. The streamed file is the format of before, and is checked before any write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../../activities/deps.ts';
import type { HelmDeps } from '../../activities/helm/deps.ts';
import type { KubeClients } from '../../activities/kube/client.ts';
import { countRestored, planRestore, restoreKind, verifyBackup } from '../../activities/backup/restore.ts';
import { writeBackup } from '../../activities/backup/write.ts';
import {
  decodeJsonLines,
  decodeJsonLinesStream,
  encodeJsonLines,
  JsonLinesWriter,
  sha256,
} from '../../activities/backup/codec.ts';
import { BACKUP_INVALID } from '../../contract/failures.ts';
import { BACKUP_KINDS, type BackupKind } from '../../contract/types/backup.ts';
import { createLogger } from '../../worker/logger.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const root = mkdtempSync(join(tmpdir(), 'backup-streaming-'));
after(() => rmSync(root, { recursive: true, force: true }));
process.env.BACKUP_STREAMING_TEST_KEY = 'k1';

/** Each TaskRun carries 4 KB of its own (a fresh string: nothing shared): N of them held at once are 4N KB of heap. */
const PADDING = 4000;
const PAGE = 500;
const onlyTaskRuns = Object.fromEntries(BACKUP_KINDS.map((k) => [k, k === 'taskRuns'])) as Record<BackupKind, boolean>;

/** The heap's peak above its level at the start, sampled after a full GC. */
class HeapPeak {
  private readonly base: number;
  peak = 0;
  constructor() {
    gc();
    this.base = process.memoryUsage().heapUsed;
  }
  sample(): void {
    gc();
    this.peak = Math.max(this.peak, process.memoryUsage().heapUsed - this.base);
  }
}

/** A namespace of `count` TaskRuns served in pages of PAGE, made as they are listed; creates counted (names only). */
function fakeCluster(count: number, heap: { current?: HeapPeak }) {
  const created = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  let writes = 0;
  const writesOf = { create: 0, status: 0, patch: 0 };
  const taskRun = (i: number) => ({
    apiVersion: 'orchestrator.io/v1alpha1',
    kind: 'TaskRun',
    metadata: { name: `task-${i}`, namespace: 'source', uid: `u${i}`, resourceVersion: `${i}` },
    spec: { service: `svc-${i % 20}`, taskId: `task-${i}`, prompt: randomBytes(PADDING / 2).toString('hex') },
    status: { phase: 'Succeeded' },
  });
  const kube = {
    config: { getCurrentCluster: () => ({ server: 'https://fake' }) },
    version: { getCode: () => Promise.reject(new Error('no version')) },
    core: {
      readNamespace: async () => ({ metadata: { name: 'target' } }),
      listNamespacedSecret: async () => ({ items: [], metadata: {} }),
    },
    custom: {
      async listNamespacedCustomObject(req: { namespace: string; limit?: number; _continue?: string }) {
        // The target namespace starts empty; the source holds `count`.
        if (req.namespace !== 'source') {
          return { items: [...created].map((name) => ({ metadata: { name } })), metadata: {} };
        }
        heap.current?.sample();
        const from = Number(req._continue ?? 0);
        const to = Math.min(count, from + (req.limit ?? PAGE));
        const items = Array.from({ length: to - from }, (_, k) => taskRun(from + k));
        return { items, metadata: { resourceVersion: '1', ...(to < count ? { continue: String(to) } : {}) } };
      },
    },
    // The restore's TaskRun writes (kube.json): creates (POST) and status writes (PUT .../status).
    async json(method: string, path: string, body: { metadata: { name: string; namespace: string } }) {
      if (method === 'PUT' && /\/status\?/.test(path)) return void writesOf.status++;
      if (method !== 'POST') return void writesOf.patch++;
      writesOf.create++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      if (++writes % PAGE === 0) heap.current?.sample();
      created.add(body.metadata.name);
      return { metadata: { ...body.metadata, resourceVersion: '2' } };
    },
  } as unknown as KubeClients;
  return { kube, created, writesOf, maxInFlight: () => maxInFlight };
}

/** The activities' deps over a fake cluster, with their backup store in <root>/<store>. */
function storeDeps(kube: KubeClients, store: string): ActivityDeps {
  return {
    kube,
    logger: createLogger('error'),
    kubeTarget: { kubeconfigPath: '/nonexistent' },
    helmBin: '/nonexistent/helm',
    workdir: root,
    backupDir: join(root, store),
    backupKeys: { hmacKey: { env: 'BACKUP_STREAMING_TEST_KEY' } },
  } as ActivityDeps;
}

/** writeBackup of the fake cluster's `source` namespace, TaskRuns only. */
function backUpTaskRuns(deps: ActivityDeps, backupId: string) {
  return writeBackup(deps, {} as HelmDeps, 'k1', {
    backupId,
    include: onlyTaskRuns,
    namespace: 'source',
    release: 'orchestrator',
    recipients: [],
    volumeSnapshots: { pvcs: 0, snapshotted: 0 },
  });
}

async function backupAndRestore(count: number) {
  const heap: { current?: HeapPeak } = {};
  const cluster = fakeCluster(count, heap);
  const deps = storeDeps(cluster.kube, `store-${count}`);
  const ref = { backupId: `b-${count}`, include: onlyTaskRuns };

  heap.current = new HeapPeak();
  const summary = await backUpTaskRuns(deps, ref.backupId);
  const backupPeak = heap.current.peak;

  const verified = await verifyBackup(deps, ref);
  const plan = await planRestore(deps, { ...ref, targetNamespace: 'target', existing: 'skip' });
  heap.current = new HeapPeak();
  const restored = await restoreKind(deps, { ...ref, kind: 'taskRuns', targetNamespace: 'target', existing: 'skip' });
  const restorePeak = heap.current.peak;
  heap.current = undefined;
  const counts = await countRestored(deps, { ...ref, targetNamespace: 'target' });
  const results = [summary, verified, plan, restored, counts].map((r) => JSON.stringify(r).length);
  return { summary, plan, restored, counts, backupPeak, restorePeak, results, cluster };
}

test('backup and restore of 10,000 TaskRuns hold about a page of them at a time, and their results do not grow', async () => {
  const n = 10_000;
  const all = n * PADDING; // the bytes of padding alone when every TaskRun is held
  const small = await backupAndRestore(1_000);
  const big = await backupAndRestore(n);

  assert.equal(big.summary.counts.taskRuns, n);
  assert.deepEqual(big.plan.kinds, [{ kind: 'taskRuns', total: n, existing: 0, action: 'create' }]);
  assert.equal(big.restored.created, n);
  assert.equal(big.restored.statusRestored, n);
  assert.equal(big.cluster.created.size, n);
  // Two writes a TaskRun: the object (marked restored-from) and its status; nothing to remove afterwards.
  assert.deepEqual(big.cluster.writesOf, { create: n, status: n, patch: 0 });
  assert.deepEqual(big.counts, [{ kind: 'taskRuns', expected: n, found: n }]);
  assert.ok(big.cluster.maxInFlight() <= 48, `at most 48 writes in flight (${big.cluster.maxInFlight()})`);

  // Holding every TaskRun would be 40 MB and more; a page is ~2 MB, plus gzip's and the writes' buffers.
  const bound = all / 5;
  assert.ok(big.backupPeak < bound, `backup's heap grew ${big.backupPeak} B (bound ${bound})`);
  assert.ok(big.restorePeak < bound, `restore's heap grew ${big.restorePeak} B (bound ${bound})`);
  // Results: counts and file digests only (a few digits more for 20x the TaskRuns).
  for (const [i, size] of big.results.entries())
    assert.ok(size <= small.results[i]! + 16, `result ${i}: ${size} B at ${n}, ${small.results[i]} B at 1,000`);
});

test('a streamed TaskRuns file is the format of before both ways (old backups restore, `gunzip` reads new ones)', async () => {
  const objects = Array.from({ length: 1200 }, (_, i) => ({ name: `t-${i}`, text: 'é'.repeat(i % 7) }));
  const path = join(root, 'stream.jsonl.gz');
  const writer = new JsonLinesWriter(path);
  for (let i = 0; i < objects.length; i += 500) await writer.write(objects.slice(i, i + 500));
  const written = await writer.close();
  const bytes = readFileSync(path);
  assert.deepEqual(written, { size: bytes.length, sha256: sha256(bytes), count: objects.length });
  assert.deepEqual(decodeJsonLines(bytes), objects);
  const streamed = [];
  for await (const o of decodeJsonLinesStream(Readable.from([encodeJsonLines(objects)]))) streamed.push(o);
  assert.deepEqual(streamed, objects);
});

test('a TaskRuns file changed after the backup is refused before a single TaskRun is written', async () => {
  const heap = {};
  const cluster = fakeCluster(600, heap);
  const deps = storeDeps(cluster.kube, 'store-tampered');
  const ref = { backupId: 'tampered', include: onlyTaskRuns };
  const summary = await backUpTaskRuns(deps, ref.backupId);
  const file = join(summary.dir, 'taskRuns.jsonl.gz');
  const bytes = readFileSync(file);
  bytes[bytes.length - 20]! ^= 1; // same size, another sha256
  writeFileSync(file, bytes);
  await assert.rejects(
    restoreKind(deps, { ...ref, kind: 'taskRuns', targetNamespace: 'target', existing: 'skip' }),
    (err: unknown) =>
      err instanceof ApplicationFailure &&
      err.type === BACKUP_INVALID &&
      /does not match its checksum/.test(err.message),
  );
  assert.equal(cluster.created.size, 0);
});

test("a retried writeBackup removes its crashed attempt's temp directory, and no other backup's", async () => {
  const cluster = fakeCluster(10, {});
  const deps = storeDeps(cluster.kube, 'store-retried');
  const backupDir = join(root, 'store-retried');
  // What a SIGKILLed attempt leaves (its catch never ran), and a write of another backup whose id starts alike.
  mkdirSync(join(backupDir, '.tmp-nightly-0a1b2c3d'), { recursive: true });
  writeFileSync(join(backupDir, '.tmp-nightly-0a1b2c3d', 'taskRuns.jsonl.gz'), 'partial');
  mkdirSync(join(backupDir, '.tmp-nightly-2-4e5f6a7b'));
  await backUpTaskRuns(deps, 'nightly');
  assert.deepEqual(readdirSync(backupDir).sort(), ['.tmp-nightly-2-4e5f6a7b', 'nightly']);
});
