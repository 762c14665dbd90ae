// `checkpoint`: CRIU dumps the container's process tree into an image directory (runc's options). Without
// leaveRunning (or with preDump) the container is gone afterwards, as with runc: `restore` brings it back.
import { closeSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from '../sys/path';
import * as cgroups from '../cgroups';
import { freezerOf } from '../cgroups/freezer';
import { log } from '../cli/log';
import { containerDir, ContainerError, loadConfig, loadRecord, lockContainer, NOT_RUNNING, unlockContainer, type ContainerRecord } from '../container/store';
import { containerStatus } from '../container/status';
import { ReqType } from '../criu/messages';
import { configFile, DESCRIPTORS, dumpExtMounts, externalMounts, passThroughOpts, type CriuOptions } from '../criu/options';
import type { Message } from '../criu/proto';
import type { Spec } from '../spec/generated/types';
import { criuSwrk } from '../criu/swrk';
import { pageServerInfo, requireLazyPipeSize, STATUS_READY, statusReadySignal } from '../criu/lazy';
import { namespaceExternals, openDir, requireCriu, requireFeatures } from '../criu/host';
import type { RuntimeContext } from './context';
import { deleteContainer } from './delete';
import { unlessAbsent } from './host';

export interface CheckpointOptions extends CriuOptions {
  /** The directory of the images (default: ./checkpoint). */
  imagePath?: string;
  /** The directory of CRIU's log and work files (default: the image path). */
  workPath?: string;
  /** The container runs on after the dump. */
  leaveRunning: boolean;
  /** Memory only, to make a later dump faster; the container runs on. */
  preDump: boolean;
  /** The images of a previous (pre-)dump, relative to the image path. */
  parentPath?: string;
  /** ADDRESS:PORT of CRIU's page server (with lazyPages: where this dump serves the pages). */
  pageServer?: string;
  /** With lazyPages: the fd runt writes \0 to once the pages are served. */
  statusFd?: number;
}

export async function checkpointContainer(ctx: RuntimeContext, id: string, opts: CheckpointOptions): Promise<void> {
  const { preDump, leaveRunning } = opts;
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
      memTrack: preDump || opts.parentPath !== undefined,
      lazyPages: opts.lazyPages,
    });
    if (opts.lazyPages) requireLazyPipeSize();
    await dump(ctx, record, loadConfig(dir), opts);
  } finally {
    unlockContainer(lock);
  }
  // CRIU has killed the tasks: the container is stopped, and goes as runc's does (restore makes it anew)
  if (!preDump && !leaveRunning) await deleteContainer(ctx, id, true);
}

async function dump(ctx: RuntimeContext, record: ContainerRecord, spec: Spec, options: CheckpointOptions): Promise<void> {
  const { preDump, leaveRunning, workPath, parentPath } = options;
  const imagePath = resolve(options.imagePath ?? 'checkpoint');
  const onReady = await statusReadySignal(options.statusFd, options.lazyPages);
  const fds: number[] = [];
  try {
    const imagesFd = openDir(imagePath);
    fds.push(imagesFd);
    const workFd = workPath === undefined ? undefined : openDir(resolve(workPath));
    if (workFd !== undefined) fds.push(workFd);
    const opts: Message = {
      ...passThroughOpts(options),
      imagesDirFd: imagesFd,
      ...(workFd !== undefined ? { workDirFd: workFd } : {}),
      logFile: 'dump.log',
      root: record.rootfs,
      pid: record.pid,
      leaveRunning,
      external: namespaceExternals(spec),
      ...(parentPath ? { parentImg: parentPath, trackMem: true } : {}),
      ...(options.pageServer ? { ps: pageServerInfo(options.pageServer) } : {}),
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
        onNotify: (script) => (script === STATUS_READY ? onReady?.() : undefined),
      },
    );
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Whether path is a file (not a directory) in the container, seen through its init's root. */
function isFileIn(pid: number, path: string): boolean {
  const inRoot = `/proc/${pid}/root/${path}`;
  return unlessAbsent(`stat ${inRoot}`, () => !statSync(inRoot).isDirectory(), false);
}

/** What fds 0-2 of the init are ("pipe:[123]", "/dev/null", ...), for restore to hand over pipes. */
function initDescriptors(pid: number): string[] {
  // a closed fd is no link: ''
  return [0, 1, 2].map((fd) => unlessAbsent(`readlink /proc/${pid}/fd/${fd}`, () => readlinkSync(`/proc/${pid}/fd/${fd}`), ''));
}
