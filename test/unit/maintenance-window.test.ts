// The maintenance window (workflows/rolling-node-maintenance/window.ts): open or closed at an instant,
// and when it opens next, across days of the week, overnight windows, time zones and DST changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { windowAt, zonedToInstant } from '../../workflows/rolling-node-maintenance/window.ts';
import { maintenanceWindowSchema, type MaintenanceWindow } from '../../contract/types/rolling-maintenance.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const w = (over: Partial<MaintenanceWindow>): MaintenanceWindow => ({
  daysOfWeek: ['sat'],
  start: '22:00',
  end: '23:00',
  timeZone: 'UTC',
  ...over,
});

test('a same-day window: open inside [start, end), else the next start on a listed day', () => {
  // 2026-11-28 is a Saturday.
  assert.deepEqual(windowAt(at('2026-11-28T22:30:00Z'), w({})), { open: true, closesAt: at('2026-11-28T23:00:00Z') });
  const before = windowAt(at('2026-11-28T21:59:59Z'), w({}));
  assert.equal(before.open, false);
  assert.equal(!before.open && iso(before.opensAt), '2026-11-28T22:00:00.000Z');
  const after = windowAt(at('2026-11-28T23:00:00Z'), w({}));
  assert.equal(!after.open && iso(after.opensAt), '2026-12-05T22:00:00.000Z', 'end is exclusive; next Saturday');
});

test('an overnight window (end before start) belongs to the day it opens', () => {
  const night = w({ daysOfWeek: ['fri'], start: '22:00', end: '04:00' });
  // Friday 2026-11-27 22:00 to Saturday 04:00.
  assert.deepEqual(windowAt(at('2026-11-28T03:59:00Z'), night), { open: true, closesAt: at('2026-11-28T04:00:00Z') });
  const sat = windowAt(at('2026-11-28T04:00:00Z'), night);
  assert.equal(!sat.open && iso(sat.opensAt), '2026-12-04T22:00:00.000Z');
});

test('time zones: the wall clock of the zone, across a DST change', () => {
  const berlin = w({ daysOfWeek: ['sun'], start: '02:30', end: '05:00', timeZone: 'Europe/Berlin' });
  // 2027-03-28: Berlin springs forward at 02:00 CET -> 03:00 CEST; 02:30 does not exist: moved forward by
  // the gap (as Temporal.ZonedDateTime's "compatible"), the window opens at 03:30 CEST (01:30Z).
  const spring = windowAt(at('2027-03-27T12:00:00Z'), berlin);
  assert.equal(!spring.open && iso(spring.opensAt), '2027-03-28T01:30:00.000Z');
  // In winter 02:30 CET is 01:30Z; in summer 02:30 CEST is 00:30Z.
  assert.equal(iso(zonedToInstant(Date.UTC(2026, 11, 6, 2, 30), 'Europe/Berlin')), '2026-12-06T01:30:00.000Z');
  assert.equal(iso(zonedToInstant(Date.UTC(2027, 5, 6, 2, 30), 'Europe/Berlin')), '2027-06-06T00:30:00.000Z');
  const ny = w({
    daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '09:00',
    end: '17:00',
    timeZone: 'America/New_York',
  });
  // Saturday 2026-11-28 noon in New York: the next window is Monday 09:00 EST (14:00Z).
  const weekend = windowAt(at('2026-11-28T17:00:00Z'), ny);
  assert.equal(!weekend.open && iso(weekend.opensAt), '2026-11-30T14:00:00.000Z');
  assert.equal(windowAt(at('2026-11-30T21:59:00Z'), ny).open, true);
});

test('the window input: days, HH:MM and an IANA time zone, each named when wrong', () => {
  const bad = maintenanceWindowSchema.safeParse({
    daysOfWeek: ['someday'],
    start: '7:00',
    end: '24:00',
    timeZone: 'Nowhere/Land',
  });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, ['daysOfWeek.0', 'end', 'start', 'timeZone']);
  assert.deepEqual(
    maintenanceWindowSchema.parse({ daysOfWeek: ['sat'], start: '22:00', end: '04:00' }).timeZone,
    'UTC',
  );
});
