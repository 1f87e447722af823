// The maintenance window: is it open at a given instant, and if not, when does it open next? Pure
// (workflow time in, instants out), so the workflow computes it deterministically and the unit tests
// table-test it. Wall-clock times are converted with Intl (the time zone rules of the worker's ICU):
// a rule change between a run and its replay could move a boundary, which only matters for a window
// decision made at that exact instant.
import { WEEKDAYS, type MaintenanceWindow } from '../../contract/types/rolling-maintenance.ts';

const DAY_MS = 86_400_000;

export type WindowAt = { open: true; closesAt: number } | { open: false; opensAt: number };

const formats = new Map<string, Intl.DateTimeFormat>();
function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, f);
  }
  return f;
}

/** The wall clock in timeZone at instant ms, as if it were UTC (so Date.UTC arithmetic applies). */
function wallAsUtc(ms: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of format(timeZone).formatToParts(new Date(ms)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
}

/** The instant at which the wall clock in timeZone shows `wall` (a wall time in a DST gap moves forward by the gap). */
export function zonedToInstant(wall: number, timeZone: string): number {
  const offsetAt = (ms: number) => wallAsUtc(ms, timeZone) - Math.floor(ms / 1000) * 1000;
  const first = wall - offsetAt(wall);
  const second = wall - offsetAt(first);
  return offsetAt(second) === offsetAt(first) ? second : Math.max(first, second);
}

/** Where instant `now` (ms) stands relative to the window: open until closesAt, or closed until opensAt. */
export function windowAt(now: number, w: MaintenanceWindow): WindowAt {
  const [sh, sm] = w.start.split(':').map(Number) as [number, number];
  const [eh, em] = w.end.split(':').map(Number) as [number, number];
  const overnight = eh * 60 + em <= sh * 60 + sm;
  const today = Math.floor(wallAsUtc(now, w.timeZone) / DAY_MS) * DAY_MS;
  let opensAt = Infinity;
  // Yesterday's window may still be open (overnight); a week ahead always holds the next one.
  for (let k = -1; k <= 8; k++) {
    const day = today + k * DAY_MS;
    if (!w.daysOfWeek.includes(WEEKDAYS[new Date(day).getUTCDay()]!)) continue;
    const start = zonedToInstant(day + (sh * 60 + sm) * 60_000, w.timeZone);
    const end = zonedToInstant(day + (overnight ? DAY_MS : 0) + (eh * 60 + em) * 60_000, w.timeZone);
    if (now >= start && now < end) return { open: true, closesAt: end };
    if (start > now && start < opensAt) opensAt = start;
  }
  return { open: false, opensAt };
}

/** "2026-11-30T22:00:00.000Z (22:00 Europe/Berlin, mon)" for notes. */
export function windowText(instant: number, w: MaintenanceWindow): string {
  const wall = new Date(wallAsUtc(instant, w.timeZone));
  const hhmm = `${String(wall.getUTCHours()).padStart(2, '0')}:${String(wall.getUTCMinutes()).padStart(2, '0')}`;
  return `${new Date(instant).toISOString()} (${WEEKDAYS[wall.getUTCDay()]} ${hhmm} ${w.timeZone})`;
}
