// `events`: the container's events as runc prints them, one JSON object a line, once (--stats) or every
// --interval until the container stops.
import { writeSync } from 'node:fs';
import { toJson } from '../cgroups/stats';
import { UsageError } from '../cli/parse';
import { containerEvents } from '../lifecycle/events';
import type { Handler } from './context';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "1m30s", "250ms") in milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) break;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  if (text === '' || at !== text.length) throw new UsageError(`invalid value "${text}" for --interval: want a duration such as 5s, 500ms or 1m`);
  return ms;
}

export const events: Handler<'events'> = async ({ stats, interval }, [id], ctx) => {
  const intervalMs = interval === undefined ? 5000 : parseDuration(interval);
  if (intervalMs <= 0) throw new UsageError('duration interval must be greater than 0');
  await containerEvents(ctx, id!, { once: stats, intervalMs }, (event) => writeSync(1, `${toJson(event)}\n`));
  return 0;
};
