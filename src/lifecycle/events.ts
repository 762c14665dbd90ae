// `events`: the container's resource usage as runc reports it, once or every interval, plus an {"type":"oom"}
// event whenever the container hits its memory limit. The stream ends when the container stops.
import * as fs from 'node:fs';
import * as cgroups from '../cgroups';
import { readTrim } from '../cgroups/fs';
import { type Json, containerStats, keyValues } from '../cgroups/stats';
import { log } from '../cli/log';
import { ContainerError, containerDir, loadRecord, type ContainerRecord } from '../container/store';
import { errnoOf, hostFailure, UserError } from '../errors';
import { containerStatus, isAlive } from '../container/status';
import type { RuntimeContext } from './context';

/** runc's event: `stats` (data: the usage) or `oom`. */
export type ContainerEvent = {
  type: 'stats' | 'oom';
  id: string;
  data?: Json;
};

export type EmitEvent = (event: ContainerEvent) => void;

/**
 * Returns a function that tells how many OOM events the container's memory controller reported since it
 * was last called: v1 through an eventfd registered for memory.oom_control in cgroup.event_control (read
 * without blocking: each read returns the count and resets it), v2 from the "oom" count of memory.events.
 */
function oomCounter(host: cgroups.CgroupHost, set: cgroups.CgroupSet): () => number {
  if (host.mode === 'v2') {
    const v2 = cgroups.v2Hierarchy(host);
    const file = v2 && set.dirs[v2.mountPoint] ? `${set.dirs[v2.mountPoint]}/memory.events` : undefined;
    if (!file) return () => 0;
    // no file (undefined): no memory controller here, or the cgroup is gone
    const count = (): bigint => keyValues(readTrim(file)).get('oom') ?? 0n;
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
  let efd: number;
  try {
    efd = native.eventfd(0, native.EFD_CLOEXEC | native.EFD_NONBLOCK);
    const oomFd = fs.openSync(`${dir}/memory.oom_control`, 'r');
    fs.writeFileSync(`${dir}/cgroup.event_control`, `${efd} ${oomFd}`);
  } catch (e) {
    throw hostFailure(`events: registering for the OOM events of ${dir}/memory.oom_control`, e);
  }
  const buf = Buffer.alloc(8);
  return () => {
    try {
      fs.readSync(efd, buf, 0, 8, null);
    } catch (e) {
      if (errnoOf(e) === 'EAGAIN') return 0;
      throw hostFailure(`events: reading the OOM events of ${dir}`, e);
    }
    // the kernel also signals the eventfd when the cgroup is removed: that is no OOM
    return fs.existsSync(`${dir}/cgroup.event_control`) ? Number(buf.readBigUInt64LE(0)) : 0;
  };
}

/**
 * Emits the stats of container `id` once (`once`), or every `intervalMs` with its OOM events until it stops.
 */
export async function containerEvents(ctx: RuntimeContext, id: string, opts: { once: boolean; intervalMs: number }, emit: EmitEvent): Promise<void> {
  const record = loadRecord(ctx.root, id);
  if (containerStatus(record, containerDir(ctx.root, id)) === 'stopped') throw new ContainerError(`container with id ${id} is not running`);
  const set = record.cgroup;
  if (!set) throw new ContainerError(`container ${id} has no cgroup`);
  const host = cgroups.detectHost();
  const stats = (): void => emit({ type: 'stats', id, data: containerStats(host, set) });
  if (opts.once) {
    stats();
    return;
  }
  return streamEvents(record, host, set, opts.intervalMs, stats, emit);
}

/** How often the stream checks for OOM events and that the container still runs. */
const POLL_MS = 100;

function streamEvents(
  record: ContainerRecord,
  host: cgroups.CgroupHost,
  set: cgroups.CgroupSet,
  interval: number,
  stats: () => void,
  emit: EmitEvent,
): Promise<void> {
  const ooms = oomCounter(host, set);
  const reportOoms = (): void => {
    for (let n = ooms(); n > 0; n--) emit({ type: 'oom', id: record.id });
  };
  return new Promise((resolve, reject) => {
    const end = (error?: unknown): void => {
      clearInterval(ticker);
      clearInterval(poller);
      if (error === undefined) resolve();
      else reject(error);
    };
    const ticker = setInterval(() => {
      try {
        stats();
      } catch (e) {
        // as runc: a sample the host refused is reported and the stream goes on (ENOENT: a delete took the
        // cgroup); runt's own bug ends it
        if (!(e instanceof UserError)) end(e);
        else if (errnoOf(e) !== 'ENOENT') log.warn(`events: stats: ${e.message}`);
      }
    }, interval);
    const poller = setInterval(() => {
      try {
        reportOoms();
        if (!isAlive(record)) end();
      } catch (e) {
        end(e);
      }
    }, POLL_MS);
  });
}
