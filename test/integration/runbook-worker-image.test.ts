// The Dockerfile's steps as a script (no image builder can pull a base image here: see the README,
// "Running the worker in a cluster"). The final stage's COPY lines are read from the Dockerfile and
// done into a temp dir; `npm ci --omit=dev` installs the production dependencies there; the
// worker starts from it with Node 24 (no devDependency, no compile step), bundles the workflows,
// polls (/ready answers 200) and writes nothing in its app directory (a read-only root file system
// holds it), with HOME and TMPDIR in a temp dir (the chart's /tmp emptyDir).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { toolPath } from '../../scripts/stack/tools.ts';
import { useTestCluster } from '../helpers/cluster.ts';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'runbooks-image-'));
after(() => rmSync(work, { recursive: true, force: true }));
const testCluster = useTestCluster();
const testTemporal = useTestTemporal();

/** The final stage's `COPY src... dst` lines (not --from): what the image holds of the repository. */
function runtimeCopies(dockerfile: string): { sources: string[]; dest: string }[] {
  const stages = dockerfile.split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  return [...last.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => {
    const parts = m[1]!.trim().split(/\s+/);
    return { sources: parts.slice(0, -1), dest: parts[parts.length - 1]! };
  });
}

function tree(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(p, st.mtimeMs);
    }
  };
  walk(dir);
  return out;
}

void test(
  "the Dockerfile's steps: npm ci --omit=dev, then the worker starts from that tree, polls, and writes nothing there",
  { timeout: 600_000 },
  async () => {
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER 1000:1000$/m);
    assert.match(dockerfile, /COPY --from=helm \/helm \/usr\/local\/bin\/helm/);
    const app = join(work, 'app');
    mkdirSync(app);
    // deps stage: package.json + lockfile, npm ci --omit=dev.
    cpSync(join(repo, 'package.json'), join(app, 'package.json'));
    cpSync(join(repo, 'package-lock.json'), join(app, 'package-lock.json'));
    const started = Date.now();
    const ci = await execa('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app,
      reject: false,
      timeout: 480_000,
      env: { npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? tmpdir(), '.npm') },
    });
    assert.equal(ci.exitCode, 0, ci.stderr);
    console.log(`npm ci --omit=dev: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const dev of ['typescript', 'eslint', 'node', '@temporalio/testing'])
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `devDependency ${dev} installed`);
    // runtime stage: the COPY lines.
    const copies = runtimeCopies(dockerfile);
    assert.ok(
      copies.some((c) => c.sources.includes('worker')),
      'the runtime stage copies worker/',
    );
    for (const { sources, dest } of copies) {
      for (const src of sources) {
        const target = dest.endsWith('/') || sources.length > 1 ? join(app, dest, src) : join(app, dest);
        cpSync(join(repo, src), target, { recursive: true });
      }
    }
    const home = join(work, 'home');
    mkdirSync(home);
    const env = { HOME: home, TMPDIR: home, PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
    const help = await execa(process.execPath, ['worker/main.ts', '--help'], {
      cwd: app,
      env,
      extendEnv: false,
      reject: false,
    });
    assert.equal(help.exitCode, 0, help.stderr);
    assert.match(help.stdout, /in a pod: --kubeconfig may be left out/);

    const cluster = await testCluster();
    const temporal = await testTemporal();
    const before = tree(app);
    const child = execa(
      process.execPath,
      [
        'worker/main.ts',
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--temporal-address',
        temporal.address,
        '--task-queue',
        uniqueTaskQueue('image'),
        '--helm-bin',
        toolPath('helm'),
        '--backup-dir',
        join(home, 'backups'),
        '--http-port',
        '0',
        '--http-host',
        '127.0.0.1',
      ],
      { cwd: app, env, extendEnv: false, reject: false, all: true, buffer: true },
    );
    let log = '';
    let exited = false;
    child.all?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    void child.finally(() => (exited = true));
    try {
      let url: string | undefined;
      for (let i = 0; i < 240 && !url; i++) {
        url = /"http":"(http:\/\/[^"]+)"/.exec(log)?.[1];
        if (!url) await sleep(500);
        assert.ok(!exited, `the worker exited:\n${log}`);
      }
      assert.ok(url, `no "worker started" line:\n${log}`);
      let ready = 0;
      for (let i = 0; i < 60 && ready !== 200; i++) {
        ready = (await fetch(`${url}/ready`)).status;
        if (ready !== 200) await sleep(500);
      }
      assert.equal(ready, 200, '/ready never answered 200');
      assert.equal((await fetch(`${url}/health`)).status, 200);
    } finally {
      child.kill('SIGTERM');
      await child;
    }
    const after = tree(app);
    const changed = [...after].filter(([p, m]) => before.get(p) !== m).map(([p]) => p);
    assert.deepEqual(
      changed,
      [],
      "the worker wrote into its app directory (the image's root file system is read-only)",
    );
  },
);
