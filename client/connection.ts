// The CLI's Temporal connection settings, from the same variables as the worker's.
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../contract/task-queue.ts';

export interface ClientSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function clientSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.RUNBOOK_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
  };
}

export async function connectClient(settings: ClientSettings): Promise<Client> {
  const connection = await Connection.connect({ address: settings.address }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${settings.address}: ${err.message} (start it with \`npm start\`, or set TEMPORAL_ADDRESS)`);
  });
  return new Client({ connection, namespace: settings.namespace });
}
