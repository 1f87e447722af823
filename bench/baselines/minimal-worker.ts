// The baseline of `npm run bench -- worker`: a minimal SDK worker as the SDK's docs write one (the
// SDK's default options, workflowsPath bundled at start, one trivial workflow, no activities).
// `node bench/baselines/minimal-worker.ts ADDRESS TASK_QUEUE`; prints "ready" once it polls; stops on SIGINT.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

const [address, taskQueue] = process.argv.slice(2);
if (!address || !taskQueue) throw new Error('usage: node bench/baselines/minimal-worker.ts ADDRESS TASK_QUEUE');
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./trivial-workflow.ts', import.meta.url)),
});
const running = worker.run();
console.log('ready');
await running;
await connection.close();
