// config-linux.md "IntelRdt": the container's processes in a resctrl group (a CLOS directory of the mounted
// resctrl filesystem), its schemata written, an optional monitoring group. File writes done by the runtime, as
// for cgroups; the directory operations go through ResctrlOps so that tests can run them on a fake tree.
import { mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from '../sys/path';
import { errnoOf, writeCgroupFile } from '../cgroups/fs';
import { errnoText, HostError, hostFailure } from '../errors';
import { ConfigError } from '../plan/types';
import type { LinuxIntelRdt } from '../spec/generated/types';

/** What create made, recorded in the container's state: exec joins it, delete removes what is runt's. */
export interface RdtGroup {
  /** The resctrl mount it is in. */
  root: string;
  /** The CLOS directory (CTRL_MON group). */
  dir: string;
  /** runt made `dir` for the container (no closID given): delete removes it. A CLOS named by closID is never runt's. */
  owned: boolean;
  /** The container's MON group (`enableMonitoring`), removed on delete. */
  monDir?: string;
}

/** The directory operations resctrl gives a meaning to (the kernel fills a new group with its files). */
export interface ResctrlOps {
  mkdir(dir: string): void;
  rmdir(dir: string): void;
}

const realOps: ResctrlOps = { mkdir: (dir) => mkdirSync(dir, 0o755), rmdir: (dir) => rmdirSync(dir) };

const F = 'linux.intelRdt';

/** The mount point of the first resctrl filesystem in a mountinfo text (proc(5)), or undefined. */
export function resctrlMount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] !== 'resctrl') continue;
    return before!.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

/** The resctrl root of the runtime's mount namespace; config-linux.md: none mounted is an error. */
export function resctrlRoot(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string {
  const root = resctrlMount(mountinfo);
  if (!root) throw new HostError(`${F}: no resctrl filesystem is mounted (Intel RDT is not available on this host)`);
  return root;
}

/** The group's CLOS dir, with runc's closID check: a name, or `/` for the default CLOS (the resctrl root). */
export function closDir(root: string, rdt: LinuxIntelRdt, id: string): string {
  const clos = rdt.closID;
  if (clos === undefined || clos === '') return join(root, id);
  if (clos === '/') return root;
  if (clos === '.' || clos === '..' || clos.includes('/')) throw new ConfigError(`${F}.closID: "${clos}" is not a CLOS name (nor "/")`);
  return join(root, clos);
}

/** The schemata lines in the order config-linux.md asks: l3CacheSchema, memBwSchema, then schemata. */
function schemataLines(rdt: LinuxIntelRdt): { field: string; line: string }[] {
  const lines = [
    { field: `${F}.l3CacheSchema`, line: rdt.l3CacheSchema ?? '' },
    { field: `${F}.memBwSchema`, line: rdt.memBwSchema ?? '' },
    ...(rdt.schemata ?? []).map((line, i) => ({ field: `${F}.schemata[${i}]`, line })),
  ].filter((l) => l.line !== '');
  for (const l of lines) if (/[\n\r]/.test(l.line)) throw new ConfigError(`${l.field}: must not contain a newline`);
  if (rdt.memBwSchema && !rdt.memBwSchema.startsWith('MB:')) throw new ConfigError(`${F}.memBwSchema: must start with "MB:"`);
  return lines;
}

/**
 * One schemata line as resctrl reads it back: `RESOURCE:id=value;...` with values as numbers (a cache bit
 * mask is hex, a bandwidth decimal: both compared by their digits without leading zeros) and ids in order.
 */
function normalLine(line: string): string {
  const [resource = '', domains = ''] = line.split(':', 2);
  const parts = domains
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => {
      const [dom = '', value = ''] = d.split('=', 2);
      return `${Number(dom.trim())}=${value
        .trim()
        .toLowerCase()
        .replace(/^0+(?=.)/, '')}`;
    });
  return `${resource.trim().toUpperCase()}:${parts.sort().join(';')}`;
}

/** A line given in the config is in the existing group's schemata with each of its domains' values. */
function matchesExisting(line: string, current: string): boolean {
  const want = normalLine(line);
  const resource = want.split(':', 1)[0];
  const have = current
    .split('\n')
    .map(normalLine)
    .find((l) => l.split(':', 1)[0] === resource);
  if (!have) return false;
  const haveDomains = new Set(have.slice(resource!.length + 1).split(';'));
  return want
    .slice(resource!.length + 1)
    .split(';')
    .every((d) => haveDomains.has(d));
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** resctrl's refusal of `what`, with the kernel's explanation of it (info/last_cmd_status); runt's bug as it is. */
function resctrlError(what: string, e: unknown, root: string): Error {
  const code = errnoOf(e);
  if (!code) return e as Error;
  let status = '';
  try {
    status = readFileSync(join(root, 'info', 'last_cmd_status'), 'utf8').trim();
  } catch {
    // no explanation to add to the refusal being reported
  }
  return new HostError(`${what}: ${status && status !== 'ok' ? `${code} (last_cmd_status: ${status})` : errnoText(code)}`, code);
}

/**
 * The group for a new container, as config-linux.md says: with a closID and no schemata the CLOS must exist
 * already; with schemata a missing one is made and written, an existing one must match the l3CacheSchema and
 * memBwSchema given (its `schemata` lines are written); without a closID the group is the container's id, made
 * and written. Then the pid goes into its `tasks`, and with enableMonitoring into a MON group named after the
 * container. On failure, what this made is removed.
 */
export function joinRdtGroup(rdt: LinuxIntelRdt, id: string, pid: number, root: string, ops: ResctrlOps = realOps): RdtGroup {
  const dir = closDir(root, rdt, id);
  const lines = schemataLines(rdt);
  const named = rdt.closID !== undefined && rdt.closID !== '';
  const exists = isDir(dir);
  if (named && lines.length === 0 && !exists) {
    throw new ConfigError(`${F}.closID: the CLOS "${rdt.closID}" does not exist (with no schemata it must be made beforehand)`);
  }
  const group: RdtGroup = { root, dir, owned: false };
  let made = false;
  try {
    if (!exists) {
      try {
        ops.mkdir(dir);
      } catch (e) {
        throw resctrlError(`${F}: making ${dir}`, e, root);
      }
      made = true;
      group.owned = !named;
    }
    let write = lines;
    if (exists && named) {
      let current: string;
      try {
        current = readFileSync(join(dir, 'schemata'), 'utf8');
      } catch (e) {
        throw hostFailure(`${F}.closID: reading ${join(dir, 'schemata')}`, e);
      }
      for (const l of lines.filter((x) => !x.field.startsWith(`${F}.schemata`))) {
        if (!matchesExisting(l.line, current)) {
          throw new ConfigError(
            `${l.field}: "${l.line}" does not match the schemata of the existing CLOS "${rdt.closID}" (${current.trim().split('\n').join(', ')})`,
          );
        }
      }
      write = lines.filter((x) => x.field.startsWith(`${F}.schemata`));
    }
    if (write.length) {
      try {
        writeCgroupFile(join(dir, 'schemata'), write.map((l) => `${l.line}\n`).join(''));
      } catch (e) {
        throw resctrlError(`${write[0]!.field}: writing ${join(dir, 'schemata')}`, e, root);
      }
    }
    if (rdt.enableMonitoring) {
      const monDir = join(dir, 'mon_groups', id);
      try {
        ops.mkdir(monDir);
      } catch (e) {
        throw resctrlError(`${F}.enableMonitoring: making the MON group ${monDir}`, e, root);
      }
      group.monDir = monDir;
    }
    addRdtTask(group, pid);
    return group;
  } catch (e) {
    leaveRdtGroup({ ...group, owned: made }, ops); // a failed create leaves nothing, a CLOS it made included
    throw e;
  }
}

/** A process of the container (its init, or one exec starts) into the group, and into its MON group. */
export function addRdtTask(group: RdtGroup, pid: number): void {
  for (const dir of group.monDir ? [group.dir, group.monDir] : [group.dir]) {
    try {
      writeCgroupFile(join(dir, 'tasks'), String(pid));
    } catch (e) {
      throw resctrlError(`${F}: adding pid ${pid} to ${join(dir, 'tasks')}`, e, group.root);
    }
  }
}

/** Delete: the MON group, and the CLOS directory if it is runt's. */
export function leaveRdtGroup(group: RdtGroup, ops: ResctrlOps = realOps): void {
  for (const dir of [group.monDir, group.owned ? group.dir : undefined]) {
    if (!dir) continue;
    try {
      ops.rmdir(dir);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw hostFailure(`${F}: removing ${dir}`, e);
    }
  }
}
