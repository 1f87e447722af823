// The worker refuses old Node: @kubernetes/client-node 2 (through undici) crashes at import before 22.
export const MIN_NODE_MAJOR = 22;

export function assertSupportedNode(version: string = process.versions.node): void {
  const major = Number(version.split('.')[0]);
  if (major < MIN_NODE_MAJOR) {
    throw new Error(
      `platform-runbooks needs Node >= ${MIN_NODE_MAJOR} (found ${version}): @kubernetes/client-node 2 does not load on older Node. ` +
        'Run it through npm scripts or npx, which use the pinned Node 24 from devDependencies (npm ci installs it).',
    );
  }
}
