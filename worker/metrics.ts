// The worker's Prometheus registry; /metrics serves it.
import { collectDefaultMetrics, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'runbooks_worker_' });
