// `events`: the container's resource usage as runc prints it, once (--stats) or every --interval, plus an
// {"type":"oom"} line whenever the container hits its memory limit. The stream ends when the container stops.
import * as fs from 'node:fs';
import * as cgroups from '../cgroups';
import { errnoOf } from '../cgroups/fs';
import { type Json, containerStats, keyValues, toJson } from '../cgroups/stats';
import { log } from '../cli/log';
import { UsageError } from '../cli/parse';
import { ContainerError, containerDir, loadRecord, type ContainerRecord } from '../container/store';
import { containerStatus, isAlive } from '../container/status';
import { stringFlag, type Context } from '../commands/context';

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

function emit(event: { type: string; id: string; data?: Json }): void {
  fs.writeSync(1, `${toJson(event)}\n`);
}

/**
 * Returns a function that tells how many OOM events the container's memory controller reported since it
 * was last called: v1 through an eventfd registered for memory.oom_control in cgroup.event_control (read
 * without blocking: each read returns the count and resets it), v2 from the "oom" count of memory.events.
 */
function oomCounter(host: cgroups.CgroupHost, set: cgroups.CgroupSet): () => number {
  if (host.mode === 'v2') {
    const v2 = cgroups.v2Hierarchy(host);
    const file = v2 && set.dirs[v2.mountPoint] ? `${set.dirs[v2.mountPoint]}/memory.events` : undefined;
    const count = (): bigint => {
      try {
        return keyValues(fs.readFileSync(file!, 'utf8')).get('oom') ?? 0n;
      } catch {
        return 0n; // no memory controller here, or the cgroup is gone
      }
    };
    if (!file) return () => 0;
    let seen = count();
    return () => {
      const now = count();
      const n = Number(now - seen);
      seen = now;
      return Math.max(n, 0);
    };
  }
  const mem = cgroups.v1Hierarchy(host, 'memory');
  const dir = mem && set.dirs[mem.mountPoint];
  if (!dir) return () => 0;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('../sys/native') as typeof import('../sys/native');
  const efd = native.eventfd(0, native.EFD_CLOEXEC | native.EFD_NONBLOCK);
  const oomFd = fs.openSync(`${dir}/memory.oom_control`, 'r');
  fs.writeFileSync(`${dir}/cgroup.event_control`, `${efd} ${oomFd}`);
  const buf = Buffer.alloc(8);
  return () => {
    try {
      fs.readSync(efd, buf, 0, 8, null);
    } catch (e) {
      if (errnoOf(e) === 'EAGAIN') return 0;
      throw e;
    }
    // the kernel also signals the eventfd when the cgroup is removed: that is no OOM
    return fs.existsSync(`${dir}/cgroup.event_control`) ? Number(buf.readBigUInt64LE(0)) : 0;
  };
}

export async function events(ctx: Context): Promise<number> {
  const id = ctx.args[0]!;
  const intervalText = stringFlag(ctx.flags, 'interval');
  const interval = intervalText === undefined ? 5000 : parseDuration(intervalText);
  if (interval <= 0) throw new UsageError('duration interval must be greater than 0');
  const record = loadRecord(ctx.root, id);
  if (containerStatus(record, containerDir(ctx.root, id)) === 'stopped') throw new ContainerError(`container with id ${id} is not running`);
  const set = record.cgroup;
  if (!set) throw new ContainerError(`container ${id} has no cgroup`);
  const host = cgroups.detectHost();
  const stats = (): void => emit({ type: 'stats', id, data: containerStats(host, set) });
  if (ctx.flags.stats === true) {
    stats();
    return 0;
  }
  return streamEvents(record, host, set, interval, stats);
}

/** How often the stream checks for OOM events and that the container still runs. */
const POLL_MS = 100;

function streamEvents(record: ContainerRecord, host: cgroups.CgroupHost, set: cgroups.CgroupSet, interval: number, stats: () => void): Promise<number> {
  const ooms = oomCounter(host, set);
  const reportOoms = (): void => {
    for (let n = ooms(); n > 0; n--) emit({ type: 'oom', id: record.id });
  };
  return new Promise((resolve, reject) => {
    const ticker = setInterval(() => {
      try {
        stats();
      } catch (e) {
        // as runc: a failed sample is reported and the stream goes on (ENOENT: a delete took the cgroup)
        if (errnoOf(e) !== 'ENOENT') log.warn(`events: stats: ${(e as Error).message}`);
      }
    }, interval);
    const poller = setInterval(() => {
      try {
        reportOoms();
      } catch (e) {
        clearInterval(ticker);
        clearInterval(poller);
        reject(e);
        return;
      }
      if (isAlive(record)) return;
      clearInterval(ticker);
      clearInterval(poller);
      resolve(0);
    }, POLL_MS);
  });
}
