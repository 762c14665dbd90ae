// `restore`: a new container (a state dir and a cgroup, as create makes them) whose process tree CRIU
// restores from a checkpoint's images. CRIU runs as runt's child, in the container's cgroups, and restores
// the tree as its sibling (rst_sibling): the restored init is runt's own child. Its NOTIFY callbacks run the
// prestart/createRuntime hooks (setup-namespaces) and record the new pid (post-restore).
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, constants } from 'node:fs';
import { resolve } from '../sys/path';
import * as cgroups from '../cgroups';
import { log } from '../cli/log';
import { runHooks } from '../container/hooks';
import { makeContainerDir, removeContainerDir, saveRecord, unlockContainer, writeAtomic } from '../container/store';
import { hookStateJson, killAndWait, procStat } from '../container/status';
import { connectConsole, ORPHAN_PTS_MASTER, restoreConsoleSocket, sendMaster } from '../criu/console';
import { makeMountpoints } from '../criu/mountpoints';
import { EXTERNAL_NS, openDir, requireCriu, requireFeatures } from '../criu/host';
import { ReqType } from '../criu/messages';
import { cgroupRoots, configFile, DESCRIPTORS, externalMounts, inheritPipes, passThroughOpts, restoreExtMounts, type CriuOptions } from '../criu/options';
import type { Message } from '../criu/proto';
import { criuSwrk, CriuError } from '../criu/swrk';
import { errnoOf, hostFailure, UserError } from '../errors';
import type { Spec } from '../spec/generated/types';
import { readBundle } from './bundle';
import type { RuntimeContext } from './context';
import { hostFacts } from './host';
import { newRecord } from './record';
import { forwardSignals } from './stdio';
import { reclaimAbandoned } from './teardown';
import { Undo } from './undo';

export interface RestoreOptions extends CriuOptions {
  /** The directory of the checkpoint's images (default: ./checkpoint). */
  imagePath?: string;
  /** The directory of CRIU's log and work files (default: the image path). */
  workPath?: string;
  /** The bundle directory (default: the current directory). */
  bundle?: string;
  /** Return once the container runs (its exit status is then the caller's to collect). */
  detach: boolean;
  /** A file that receives the restored process's pid. */
  pidFile?: string;
  /** An AF_UNIX socket that receives the restored terminal's master fd (process.terminal). */
  consoleSocket?: string;
}

/** Restores container `id` from a checkpoint; returns its exit status, or 0 once it runs with `detach`. */
export async function restoreContainer(ctx: RuntimeContext, id: string, options: RestoreOptions): Promise<number> {
  const imagePath = resolve(options.imagePath ?? 'checkpoint');
  const { workPath, pidFile } = options;
  const { bundle, spec } = readBundle(options.bundle);
  const consoleSocket = restoreConsoleSocket(spec, options.consoleSocket);
  let descriptors: string[];
  try {
    descriptors = JSON.parse(readFileSync(`${imagePath}/${DESCRIPTORS}`, 'utf8')) as string[];
  } catch (e) {
    // missing or not runt's: not a checkpoint; any other failure is the host's
    if (e instanceof SyntaxError || errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') {
      throw new UserError(`--image-path: ${imagePath} holds no checkpoint: ${(e as Error).message}`);
    }
    throw hostFailure(`--image-path: reading ${imagePath}/${DESCRIPTORS}`, e);
  }
  await requireCriu(ctx.criu);
  await requireFeatures(ctx.criu, { lazyPages: options.lazyPages });
  const cgroupHost = cgroups.detectHost();
  if (ctx.systemdCgroup) throw new UserError('--systemd-cgroup: restore makes its cgroup with the cgroupfs driver only (not yet through systemd)');
  const cgroupPath = cgroups.resolveCgroupsPath(spec.linux?.cgroupsPath, id, false, ctx.root);
  await reclaimAbandoned(ctx, id);

  const record = newRecord(id, bundle, spec);
  const { dir, lock } = makeContainerDir(ctx.root, record, spec);
  const undo = new Undo('cleanup after a failed restore');
  undo.push(() => removeContainerDir(dir));
  const fds: number[] = [];
  try {
    const cgroup = ctx.rootless ? undefined : cgroups.createCgroup(cgroupHost, cgroupPath);
    if (cgroup) {
      cgroups.recordParents(ctx.root, cgroup);
      undo.push(() => {
        cgroups.removeCgroup(cgroup);
        cgroups.removeEmptyParents(ctx.root, cgroup);
      });
      record.cgroup = cgroup;
      saveRecord(dir, record);
      // with runc's default device rules, as create applies them: CRIU mknods the devices of a /dev tmpfs
      for (const warning of cgroups.applyResources(cgroupHost, cgroup, cgroups.containerResources(spec))) log.warn(warning);
    }
    const consoleFd = consoleSocket === undefined ? undefined : await connectConsole(consoleSocket);
    if (consoleFd !== undefined) fds.push(consoleFd);
    const imagesFd = openDir(imagePath);
    fds.push(imagesFd);
    const workFd = workPath === undefined ? undefined : openDir(resolve(workPath));
    if (workFd !== undefined) fds.push(workFd);
    const extraFds: number[] = [];
    const opts: Message = {
      ...passThroughOpts(options),
      imagesDirFd: imagesFd,
      ...(workFd !== undefined ? { workDirFd: workFd } : {}),
      logFile: 'restore.log',
      evasiveDevices: true,
      rstSibling: true,
      inheritFd: inheritPipes(descriptors),
    };
    const cfg = configFile(spec);
    if (cfg) opts.configFile = cfg;
    restoreNamespaces(spec, opts, extraFds);
    fds.push(...extraFds);
    const cgroupns = spec.linux?.namespaces?.some((n) => n.type === 'cgroup') ?? false;
    opts.extMnt = restoreExtMounts(
      externalMounts(
        spec,
        bundle,
        (options) => (cgroup ? cgroups.cgroupMountPlan(cgroupHost, cgroup, cgroupns, options) : []),
        // the dump recorded which masked paths were files: the one /dev/null entry serves them all
        () => true,
      ),
    );

    await makeMountpoints(spec, bundle, record.rootfs, hostFacts());
    // CRIU wants its root to be a mount point whose parent is not overmounted: a bind of the rootfs in the state dir
    const root = `${dir}/criu-root`;
    mkdirSync(root);
    const { rbind, detachMount } = await import('../sys/native');
    rbind(record.rootfs, root);
    opts.root = root;
    try {
      await criuSwrk(
        { type: ReqType.RESTORE, opts },
        {
          criu: ctx.criu,
          stdio: 'inherit',
          extraFds,
          log: { dir: workPath ? resolve(workPath) : imagePath, file: 'restore.log' },
          onStarted: (criuPid) => {
            // CRIU in the container's cgroups, and the restored tasks' cgroups put under those
            if (!cgroup) return;
            cgroups.addProcess(cgroup, criuPid);
            opts.cgRoot = cgroupRoots(readFileSync(`/proc/${criuPid}/cgroup`, 'utf8'));
          },
          onNotify: async (script, pid, passed) => {
            if (script === 'setup-namespaces') {
              const state = hookStateJson({ ...record, pid }, 'creating');
              await runHooks(spec.hooks?.prestart, 'prestart', () => state);
              await runHooks(spec.hooks?.createRuntime, 'createRuntime', () => state);
            } else if (script === 'post-restore') {
              undo.push(() => killAndWait(pid));
              record.pid = pid;
              record.startTime = procStat(pid)?.startTime ?? '';
              record.createdDone = true;
              saveRecord(dir, record);
            } else if (script === ORPHAN_PTS_MASTER && consoleFd !== undefined) {
              await sendMaster(consoleFd, passed[0]);
            }
          },
        },
      );
    } finally {
      detachMount(root);
      rmdirSync(root);
    }
    if (!record.pid) throw new CriuError('criu: the restore reported no pid');
    if (pidFile) writeAtomic(pidFile, String(record.pid));
  } catch (e) {
    await undo.run();
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
    unlockContainer(lock);
  }
  if (options.detach) return 0;
  return waitForExit(record.pid);
}

/** In the foreground: forwards signals to the restored init (runt's child) and returns its exit status. */
async function waitForExit(pid: number): Promise<number> {
  const { childExit } = await import('../sys/reap');
  const stop = forwardSignals(pid, false);
  try {
    return await childExit(pid);
  } finally {
    stop();
  }
}

/** Restore: joined namespaces, by join_ns, or (network, pid) by an fd CRIU inherits under the dump's key. */
function restoreNamespaces(spec: Spec, opts: Message, extraFds: number[]): void {
  const joinNs: Message[] = [];
  const inherit = (opts.inheritFd ??= []) as Message[];
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path) continue;
    const ext = EXTERNAL_NS[ns.type];
    if (ext) {
      extraFds.push(openSync(ns.path, constants.O_RDONLY));
      inherit.push({ key: ext.key, fd: 3 + extraFds.length }); // CRIU's fds: 0-2, the socket on 3, these from 4
    } else if (ns.type === 'cgroup') {
      throw new UserError('linux.namespaces: CRIU cannot restore into an existing cgroup namespace');
    } else {
      joinNs.push({ ns: ns.type === 'mount' ? 'mnt' : ns.type, nsFile: ns.path });
    }
  }
  if (joinNs.length) opts.joinNs = joinNs;
}
