// Creates a Temporal Schedule, or updates its spec, action and policies when it exists (keeping
// its paused state and note), so that `npm start` and the schedule commands are idempotent.
import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';

export type ScheduleParts = Pick<ScheduleOptions, 'spec' | 'action' | 'policies'>;

export async function upsertSchedule(
  client: Client,
  scheduleId: string,
  parts: ScheduleParts,
  note: string,
): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create({ scheduleId, ...parts, state: { note } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, ...parts }));
  return 'updated';
}
