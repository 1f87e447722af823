// The Temporal Web UI for browser tests: the UI of the dev server `npm test` started
// (TEST_TEMPORAL_UI_URL), or, when a test file runs alone, of a dev server of its own; Debian's
// Chromium (scripts/install-tools.sh chromium) driven by playwright-core; screenshots kept as artifacts.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startDevServer, type DevServer } from '../../scripts/stack/temporal-dev-server.ts';
import { toolPath } from '../../scripts/stack/tools.ts';
import { useTestTemporal, type TestTemporal } from './temporal.ts';

export interface TestWebUi {
  temporal: () => Promise<TestTemporal>;
  /** http URL of the Web UI of the server that `temporal()` connects to. */
  uiUrl: () => Promise<string>;
}

/** Like useTestTemporal, plus the address of that server's Web UI. Call at the top level of a test file. */
export function useTestWebUi(): TestWebUi {
  let own: Promise<DevServer> | undefined;
  // The server starts before the first connection (useTestTemporal reads TEST_TEMPORAL_ADDRESS
  // lazily) and stops after the connections close (after hooks run in the order they were added).
  const ensureServer = async (): Promise<string> => {
    const fromRun = process.env.TEST_TEMPORAL_UI_URL;
    if (fromRun) return fromRun;
    if (process.env.TEST_TEMPORAL_ADDRESS && !own) {
      throw new Error(
        'TEST_TEMPORAL_ADDRESS is set but TEST_TEMPORAL_UI_URL is not: the browser test needs the Web UI of that server',
      );
    }
    own ??= startDevServer({ logFile: join(mkdtempSync(join(tmpdir(), 'runbooks-temporal-')), 'temporal.log') });
    const server = await own;
    process.env.TEST_TEMPORAL_ADDRESS = server.address;
    return server.uiUrl;
  };
  const temporal = useTestTemporal();
  after(async () => {
    if (own) await (await own).stop();
  });
  return {
    temporal: async () => {
      await ensureServer();
      return temporal();
    },
    uiUrl: ensureServer,
  };
}

/**
 * Headless Chromium from the distribution's package, launched on first use and closed after the
 * file. Call at the top level of a test file (an `after` registered inside a hook runs right after it).
 */
export function useChromium(): () => Promise<Browser> {
  let browser: Promise<Browser> | undefined;
  after(async () => {
    if (browser) await (await browser).close();
  });
  return () =>
    (browser ??= chromium.launch({
      executablePath: toolPath('chromium'),
      headless: true,
      // Tests run as root in CI, where Chromium's sandbox cannot start.
      args: ['--no-sandbox'],
    }));
}

/** Where a test file keeps its screenshots: under TEST_LOG_DIR in `npm test`, else a temp dir. The path is printed. */
export function artifactsDir(name: string): string {
  const dir = process.env.TEST_LOG_DIR ? join(process.env.TEST_LOG_DIR, name) : mkdtempSync(join(tmpdir(), `${name}-`));
  mkdirSync(dir, { recursive: true });
  console.log(`${name}: screenshots in ${dir}`);
  return dir;
}
