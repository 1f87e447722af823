// Every workflow the worker registers.
export { platformHealth } from './platform-health.ts';
export { deployPlatform } from './deploy-platform.ts';
export { upgradePlatform } from './upgrade-platform.ts';
export { rotateSecret } from './rotate-secret.ts';
