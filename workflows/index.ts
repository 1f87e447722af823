// Every workflow the worker registers.
export { platformHealth } from './platform-health.ts';
