// drainNode's query and update, shared with the client.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DrainControl, DrainStatus } from './types/drain.ts';

/** Where the drain is: phase, deadline, the pods that remain and, for PDB-blocked ones, which PDBs (allowed disruptions). */
export const drainStatusQuery = defineQuery<DrainStatus>('drainStatus');
/** Extend the timeout ({action: extend, seconds, by}) or abort ({action: abort, by, reason}). */
export const drainControlUpdate = defineUpdate<{ accepted: true; deadline?: string }, [DrainControl]>('drainControl');
