// What activities are given by the worker: an explicit cluster connection and a logger.
import type { Logger } from 'pino';
import type { KubeClients } from './kube/client.ts';

export interface ActivityDeps {
  kube: KubeClients;
  logger: Logger;
}
