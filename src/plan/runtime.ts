// What the runtime does itself while it creates a container, around the shim's two segments: the cgroup made
// and its files written, the child's id maps and cgroups set from outside, the prestart and createRuntime
// hooks. Data, like the shim's steps: `create` carries each action out (src/commands/create.ts), `runt plan`
// prints it; actionSteps renders one as steps of the runtime's own ops, each naming its config field.
import { dirFor } from '../cgroups/cgroupfs';
import type { ResourcePlan } from '../cgroups/resources';
import type { SystemdUnit } from '../cgroups/path';
import type { Property, SystemdInstance } from '../cgroups/systemd';
import type { IdMapAction } from '../container/rootless';
import { closDir } from '../rdt';
import type { Hook, LinuxIntelRdt } from '../spec/generated/types';
import { hookSteps } from './index';
import { step, type CgroupFacts, type Step } from './types';

/** The container's pid: a number in `create`, a placeholder in a plan printed before any process exists. */
export type Pid = number | string;

export interface ContainerCgroup extends CgroupFacts {
  /** The cgroup path (resolveCgroupsPath). */
  path: string;
  /**
   * --systemd-cgroup: the scope systemd makes, with the container's pid in it (the system's manager, or rootless
   * the user's), with the properties of the org.systemd.property.* annotations; else the cgroupfs driver's dirs.
   */
  systemd?: { unit: SystemdUnit; instance: SystemdInstance; properties: Property[] };
  /** clone3 with CLONE_INTO_CGROUP (Linux 5.7): the child is born in its cgroup2 dir. */
  cloneIntoCgroup: boolean;
}

export type RuntimeHooks = 'prestart' | 'createRuntime';

export type RuntimeAction<P extends Pid = Pid> =
  /** The container's cgroup dirs made (mkdir -p, with v2's controllers delegated); with systemd, its scope started first. */
  | { kind: 'cgroup'; cgroup: ContainerCgroup; pid?: P }
  /** linux.resources written to the cgroup's files (and, on v2, the device program attached). */
  | { kind: 'resources'; cgroup: ContainerCgroup; plan: ResourcePlan }
  /** One write of the child's id maps, or a newuidmap/newgidmap run. */
  | { kind: 'idmap'; pid: P; map: IdMapAction }
  /** The pid written to cgroup.procs of each dir the child did not join by itself (mount point → dir). */
  | { kind: 'cgroup-add'; pid: P; dirs: Record<string, string> }
  | { kind: 'oom-score'; pid: P; value: number }
  /** The pid into the resctrl group of linux.intelRdt (made and written as needed). */
  | { kind: 'rdt'; pid: P; id: string; rdt: LinuxIntelRdt; root: string }
  /** Run by the runtime while the child waits before pivot_root (config.md: in the runtime namespace). */
  | { kind: 'hooks'; name: RuntimeHooks; hooks: Hook[]; state: string };

const CGROUPS_PATH = 'linux.cgroupsPath';

/** The file a cgroup write goes to: in the hierarchy where `controller`'s files of that version are. */
function cgroupFile(cgroup: CgroupFacts, version: 1 | 2, controller: string, file: string): string {
  return `${dirFor(cgroup.host, cgroup, version, controller) ?? `<no ${controller} cgroup>`}/${file}`;
}

/** An action as the runtime's ops: what `runt plan` prints and `create --debug` logs. */
export function actionSteps(action: RuntimeAction): Step[] {
  switch (action.kind) {
    case 'cgroup': {
      const { cgroup } = action;
      const { systemd } = cgroup;
      const scope = systemd ? [step('SYSTEMD_SCOPE', [systemd.unit.unit, systemd.unit.slice, systemd.instance, action.pid ?? ''], CGROUPS_PATH)] : [];
      return [...scope, ...Object.values(cgroup.dirs).map((dir) => step('CGROUP_MKDIR', [dir], CGROUPS_PATH))];
    }
    case 'resources': {
      const writes = action.plan.writes.map((w) => step('CGROUP_WRITE', [cgroupFile(action.cgroup, w.version, w.controller, w.file), w.value], w.field));
      const program = action.plan.deviceProgram;
      if (!program) return writes;
      // 8 bytes per BPF instruction
      const filter = step(
        'CGROUP_DEVICE_FILTER',
        [dirFor(action.cgroup.host, action.cgroup, 2, 'devices') ?? '', program.length / 8],
        'linux.resources.devices',
      );
      return [...writes, filter];
    }
    case 'idmap': {
      const { map, pid } = action;
      if (map.kind === 'write') return [step('WRITE', [`/proc/${pid}/${map.file}`, map.content], map.field)];
      return [step('RUN', [map.program, ...map.args], map.field)];
    }
    case 'cgroup-add':
      return Object.values(action.dirs).map((dir) => step('CGROUP_ADD', [`${dir}/cgroup.procs`, action.pid], CGROUPS_PATH));
    case 'oom-score':
      return [step('WRITE', [`/proc/${action.pid}/oom_score_adj`, String(action.value)], 'process.oomScoreAdj')];
    case 'rdt':
      return [step('RDT_JOIN', [closDir(action.root, action.rdt, action.id), action.pid], 'linux.intelRdt')];
    case 'hooks':
      return hookSteps(action.hooks, action.name, action.state);
  }
}
