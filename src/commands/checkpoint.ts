// `checkpoint`: CRIU dumps the container's process tree into an image directory (runc's flags). Without
// --leave-running (or with --pre-dump) the container is gone afterwards, as with runc: `restore` brings it back.
import { closeSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as cgroups from '../cgroups';
import { freezerOf } from '../cgroups/freezer';
import { log } from '../cli/log';
import { containerDir, ContainerError, loadConfig, loadRecord, lockContainer, NOT_RUNNING, unlockContainer, type ContainerRecord } from '../container/store';
import { containerStatus } from '../container/status';
import { ReqType } from '../criu/messages';
import { configFile, DESCRIPTORS, dumpExtMounts, externalMounts, passThroughOpts } from '../criu/options';
import type { Message } from '../criu/proto';
import type { Spec } from '../spec/generated/types';
import { criuSwrk } from '../criu/swrk';
import { namespaceExternals, openDir, requireCriu, requireFeatures } from '../criu/host';
import { stringFlag, type Context } from './context';
import { deleteContainer } from './delete';

export async function checkpoint(ctx: Context): Promise<number> {
  const id = ctx.args[0]!;
  const preDump = ctx.flags['pre-dump'] === true;
  const leaveRunning = ctx.flags['leave-running'] === true;
  const dir = containerDir(ctx.root, id);
  const lock = lockContainer(dir);
  try {
    const record = loadRecord(ctx.root, id);
    const status = containerStatus(record, dir);
    if (status !== 'running' && status !== 'paused') throw new ContainerError(NOT_RUNNING);
    if (ctx.rootless) log.warn('checkpoint as a non-root user is unlikely to work (CRIU needs root)');
    await requireCriu(ctx.criu);
    // a dump on a parent tracks memory too
    await requireFeatures(ctx.criu, {
      memTrack: preDump || stringFlag(ctx.flags, 'parent-path') !== undefined,
      lazyPages: ctx.flags['lazy-pages'] === true,
    });
    await dump(ctx, record, loadConfig(dir), preDump, leaveRunning);
  } finally {
    unlockContainer(lock);
  }
  // CRIU has killed the tasks: the container is stopped, and goes as runc's does (restore makes it anew)
  if (!preDump && !leaveRunning) await deleteContainer(ctx, id, true);
  return 0;
}

async function dump(ctx: Context, record: ContainerRecord, spec: Spec, preDump: boolean, leaveRunning: boolean): Promise<void> {
  const imagePath = resolve(stringFlag(ctx.flags, 'image-path') ?? 'checkpoint');
  const workPath = stringFlag(ctx.flags, 'work-path');
  const parentPath = stringFlag(ctx.flags, 'parent-path');
  const fds: number[] = [];
  try {
    const imagesFd = openDir(imagePath);
    fds.push(imagesFd);
    const workFd = workPath === undefined ? undefined : openDir(resolve(workPath));
    if (workFd !== undefined) fds.push(workFd);
    const opts: Message = {
      ...passThroughOpts(ctx.flags),
      imagesDirFd: imagesFd,
      ...(workFd !== undefined ? { workDirFd: workFd } : {}),
      logFile: 'dump.log',
      root: record.rootfs,
      pid: record.pid,
      leaveRunning,
      external: namespaceExternals(spec),
      ...(parentPath ? { parentImg: parentPath, trackMem: true } : {}),
    };
    const cfg = configFile(spec);
    if (cfg) opts.configFile = cfg;
    // CRIU freezes the tasks through the freezer cgroup, where there is one (ptrace otherwise)
    const freezer = record.cgroup && freezerOf(record.cgroup)?.dir;
    if (freezer) opts.freezeCgroup = freezer;
    if (!preDump) {
      const host = cgroups.detectHost();
      const cgroupns = spec.linux?.namespaces?.some((n) => n.type === 'cgroup') ?? false;
      const mounts = externalMounts(
        spec,
        record.bundle,
        (options) => (record.cgroup ? cgroups.cgroupMountPlan(host, record.cgroup, cgroupns, options) : []),
        (path) => isFileIn(record.pid, path),
      );
      opts.extMnt = dumpExtMounts(mounts);
      writeFileSync(`${imagePath}/${DESCRIPTORS}`, JSON.stringify(initDescriptors(record.pid)), { mode: 0o600 });
    }
    await criuSwrk(
      { type: preDump ? ReqType.PRE_DUMP : ReqType.DUMP, opts },
      {
        criu: ctx.criu,
        stdio: 'ignore',
        log: { dir: workPath ? resolve(workPath) : imagePath, file: 'dump.log' },
      },
    );
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Whether path is a file (not a directory) in the container, seen through its init's root. */
function isFileIn(pid: number, path: string): boolean {
  try {
    return !statSync(`/proc/${pid}/root/${path}`).isDirectory();
  } catch {
    return false;
  }
}

/** What fds 0-2 of the init are ("pipe:[123]", "/dev/null", ...), for restore to hand over pipes. */
function initDescriptors(pid: number): string[] {
  return [0, 1, 2].map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
}
