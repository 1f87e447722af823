// Signal/query/update definitions and JSON types shared by workflows and client/.
export { progressQuery, type Progress, type Step, type StepStatus } from './progress.ts';
export type { PlatformHealthInput, PlatformHealthReport } from './types/platform-health.ts';
