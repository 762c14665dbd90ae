// `runt exec`: a new process in a created, running or (ignorePaused) paused container (the plan:
// src/plan/exec.ts). In the foreground runt waits for it, forwards signals and returns its status; with
// `detach` it returns once the process runs, and the process belongs to the caller, as a container's init
// does after create.
import { closeSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from '../sys/path';
import * as cgroups from '../cgroups';
import { addRdtTask, type RdtGroup } from '../rdt';
import { log } from '../cli/log';
import { hookStateJson, procStat, type Status } from '../container/status';
import { ContainerError, loadConfig, writeAtomic, type ContainerRecord } from '../container/store';
import { execChildPlan, execParentPlan, JOIN_ORDER, processFromFlags, processFromJson, type ExecContext } from '../plan/exec';
import { sessionKeyringName } from '../plan/keyring';
import { CONFIG_LSM_FIELDS, type LsmFields } from '../plan/lsm';
import { withListenFds } from '../plan/process';
import { relaysTerminal } from '../plan/terminal';
import { ConfigError } from '../plan/types';
import { errnoOf, hostFailure } from '../errors';
import { passedFd, runShim, type ShimSession } from '../shim/driver';
import type { Process, Spec } from '../spec/generated/types';
import { checkConfig } from '../spec/validate';
import { pidfdOpen } from '../sys/native';
import { withContainer } from '../container/locked';
import type { RuntimeContext } from './context';
import { hostFacts, setgroupsDenied } from './host';
import { writeProc } from './proc';
import { forwardSignals, listenFds, nsPid, terminalAtHand } from './stdio';

/** runc's exec options; the process's fields override the container's process. */
export interface ExecOptions {
  /** A file holding a JSON process object (config.json "process") to run instead of `command`. */
  process?: string;
  tty: boolean;
  /** An AF_UNIX socket that receives the terminal's master fd. */
  consoleSocket?: string;
  /** Return once the process has started (it is then the caller's). */
  detach: boolean;
  /** A file that receives the process's pid. */
  pidFile?: string;
  cwd?: string;
  /** Extra environment variables, KEY=VALUE. */
  env: string[];
  /** uid[:gid] */
  user?: string;
  additionalGids: string[];
  /** Capabilities added (never to the inheritable set). */
  cap: string[];
  /** Set (or with false clear) no_new_privs; undefined keeps the container's. */
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
  /** How many fds from 3 on go to the process. */
  preserveFds: number;
  /** Exec in a paused container too (the process waits for the resume). */
  ignorePaused: boolean;
  /** [controller:]path of a sub-cgroup of the container's to join. */
  cgroup?: string;
}

/** runc's refusals, which clients match. */
function checkStatus(status: string, ignorePaused: boolean): void {
  if (status === 'created' || status === 'running' || (status === 'paused' && ignorePaused)) return;
  if (status === 'stopped') throw new ContainerError('cannot exec in a stopped container');
  if (status === 'paused') throw new ContainerError('cannot exec in a paused container (use --ignore-paused to override)');
  throw new ContainerError(`cannot exec in a container in the ${status} state`);
}

/** The process to run: the process file's object, or the command line's, over the container's process. */
function execProcess(command: string[], opts: ExecOptions, config: Spec): Process {
  // a container without a process (config.md: required only by start): the exec's own fields over none
  const base = config.process ?? { cwd: '/' };
  const file = opts.process;
  if (file === undefined) {
    return processFromFlags(base, {
      args: command,
      tty: opts.tty,
      cwd: opts.cwd,
      env: opts.env,
      user: opts.user,
      additionalGids: opts.additionalGids,
      caps: opts.cap,
      noNewPrivs: opts.noNewPrivs,
      apparmor: opts.apparmor,
      processLabel: opts.processLabel,
    });
  }
  const source = `--process ${file}`;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message}`);
  }
  const proc = processFromJson(base, doc, source);
  const checked = checkConfig({ ...config, process: proc });
  if (!checked.ok) throw new ConfigError(`${source}: ${checked.errors[0]}`);
  return proc;
}

/** The namespaces in which the container's init is not where runt is: those are joined. */
function namespacesToJoin(pid: number): Set<string> {
  const joins = new Set<string>();
  for (const ns of JOIN_ORDER) {
    const own = statSync(`/proc/self/ns/${ns.file}`, { throwIfNoEntry: false });
    const init = statSync(`/proc/${pid}/ns/${ns.file}`, { throwIfNoEntry: false });
    if (own && init && (own.dev !== init.dev || own.ino !== init.ino)) joins.add(ns.type);
  }
  return joins;
}

/**
 * --cgroup [controller[,controller...]:]path: a sub-cgroup of the container's, which must exist. With
 * controllers, only their (v1) hierarchies take the path; the others keep the container's cgroup.
 */
export function subCgroup(set: cgroups.CgroupSet, hierarchies: cgroups.Hierarchy[], flag: string): cgroups.CgroupSet {
  const colon = flag.indexOf(':');
  const controllers = colon < 0 ? [] : flag.slice(0, colon).split(',');
  const sub = cgroups.cleanPath(colon < 0 ? flag : flag.slice(colon + 1)).replace(/^\//, '');
  if (!sub) throw new ConfigError(`--cgroup: "${flag}" names no sub-cgroup`);
  const own = hierarchies.filter((h) => set.dirs[h.mountPoint] !== undefined);
  for (const c of controllers) {
    if (!own.some((h) => h.version === 1 && h.controllers.includes(c))) {
      throw new ConfigError(`--cgroup: the container has no cgroup v1 hierarchy with controller "${c}"`);
    }
  }
  const dirs: Record<string, string> = {};
  for (const h of own) {
    const takes = controllers.length === 0 || (h.version === 1 && controllers.some((c) => h.controllers.includes(c)));
    dirs[h.mountPoint] = takes ? join(set.dirs[h.mountPoint]!, sub) : set.dirs[h.mountPoint]!;
  }
  return { dirs, created: [] };
}

function execCgroup(record: ContainerRecord, flag: string | undefined): cgroups.CgroupSet | undefined {
  if (!record.cgroup || flag === undefined) return record.cgroup;
  const set = subCgroup(record.cgroup, cgroups.detectHost().hierarchies, flag);
  for (const dir of Object.values(set.dirs)) if (!existsSync(dir)) throw new ConfigError(`--cgroup: ${dir} does not exist`);
  return set;
}

interface Prepared {
  proc: Process;
  planCtx: ExecContext;
  /** The cgroup dirs the child does not join by itself. */
  cgroup?: cgroups.CgroupSet;
  rdt?: RdtGroup;
  listen: number;
  /** The init's pidfd, for the shim. */
  pidfd: number;
}

/**
 * A pidfd of the container's init, taken under the lock and checked (its start time, read after the pidfd was
 * taken) to be the recorded process: the shim joins the namespaces of that process, even if its pid is reused.
 */
function initPidfd(record: ContainerRecord): number {
  let fd: number;
  try {
    fd = pidfdOpen(record.pid);
  } catch (e) {
    if (errnoOf(e) === 'ESRCH') throw new ContainerError('cannot exec in a stopped container');
    throw hostFailure(`exec: pidfd_open of the container's process ${record.pid}`, e);
  }
  if (procStat(record.pid)?.startTime !== record.startTime) {
    closeSync(fd);
    throw new ContainerError('cannot exec in a stopped container');
  }
  return fd;
}

/**
 * Under the container's lock: the checks and the plan. The lock is let go before the process starts: in a
 * paused container (--ignore-paused) the process waits in the frozen cgroup for a resume, which takes the lock.
 */
function prepare(ctx: RuntimeContext, id: string, command: string[], opts: ExecOptions): Prepared {
  const mode = opts.detach ? 'detach' : 'wait';
  const allowed = (status: Status): void => {
    checkStatus(status, opts.ignorePaused);
    if (status === 'created' && process.geteuid?.() !== 0) {
      // the shim waiting for start is not dumpable: its /proc/PID/ns files are open to root only
      throw new ContainerError('cannot exec in a created container as a non-root user (its namespaces can be joined once it is started)');
    }
  };
  return withContainer(ctx.root, id, allowed, (record, status, dir) => {
    const config = loadConfig(dir);
    const proc = execProcess(command, opts, config);
    const listen = listenFds();
    const host = hostFacts();
    // a label refused names the flag that gave it, else the process field (the container's, or --process's)
    const lsmFields: LsmFields = {
      apparmorProfile: opts.apparmor === undefined ? CONFIG_LSM_FIELDS.apparmorProfile : '--apparmor',
      selinuxLabel: opts.processLabel === undefined ? CONFIG_LSM_FIELDS.selinuxLabel : '--process-label',
    };
    const preserveFds = listen + opts.preserveFds;
    const planCtx: ExecContext = {
      mode,
      consoleSocket: opts.consoleSocket,
      consoleRelay: terminalAtHand(mode),
      initPid: record.pid,
      initPidfd: passedFd(preserveFds, 0),
      joins: namespacesToJoin(record.pid),
      preserveFds,
      lastCap: host.lastCap,
      lsm: host.lsm,
      lsmFields,
      ...(record.noNewKeyring ? {} : { sessionKeyring: sessionKeyringName(record.id) }),
      seccomp: config.linux?.seccomp,
      linux: config.linux,
      state: hookStateJson(record, status),
      warn: (msg) => log.warn(msg),
      rootless: ctx.rootless,
      setgroupsDenied: setgroupsDenied(record.pid),
    };
    const cgroup = execCgroup(record, opts.cgroup);
    // clone3 into a cgroup2 dir is refused once the container's cgroup namespace is joined (the runtime's own
    // cgroup is outside it): the runtime adds the process to that dir itself
    const joined = cgroup ? cgroups.selfJoin(cgroup, !planCtx.joins.has('cgroup')) : undefined;
    planCtx.cgroupJoin = joined?.join;
    return { proc, planCtx, cgroup: joined?.left, rdt: record.rdt, listen, pidfd: initPidfd(record) };
  });
}

/** Runs `command` (or the process file's process) in container `id`; returns its exit status, or 0 with `detach`. */
export async function execInContainer(ctx: RuntimeContext, id: string, command: string[], opts: ExecOptions): Promise<number> {
  const { detach, pidFile } = opts;
  const { proc, planCtx, cgroup, rdt, listen, pidfd } = prepare(ctx, id, command, opts);
  let stop: (() => void) | undefined;
  let session: ShimSession;
  try {
    session = await runShim(
      execParentPlan(proc, planCtx),
      planCtx.preserveFds,
      {
        onPid: (pid) => {
          // from here: the program may run, and runt be signalled, before runShim has returned
          if (!detach) stop = forwardSignals(pid, relaysTerminal(proc, planCtx));
          if (cgroup) cgroups.addProcess(cgroup, pid);
          if (rdt) addRdtTask(rdt, pid);
          if (proc.oomScoreAdj !== undefined) writeProc(pid, 'oom_score_adj', String(proc.oomScoreAdj), 'process.oomScoreAdj');
          return execChildPlan(withListenFds(proc, listen, listen ? nsPid(pid) : 0), planCtx);
        },
      },
      { followExec: true, passFds: [pidfd] },
    );
  } finally {
    closeSync(pidfd);
  }
  if (detach) {
    await session.execed;
    if (pidFile) writeAtomic(pidFile, String(session.pid));
    return 0;
  }
  if (pidFile) writeAtomic(pidFile, String(session.pid));
  const status = await session.exited;
  stop?.();
  await session.execed;
  return status;
}
