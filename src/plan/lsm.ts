// config.md's process.apparmorProfile and process.selinuxLabel, config-linux.md's linux.mountLabel: the LSM
// labels, applied as runc applies them. The process's profile or label is written to its own attr file for
// the next execve (AppArmor's `exec PROFILE`, SELinux's label), through the shim's private procfs
// (WRITE_PROC: CVE-2025-52881), before the credentials change (the procfs is made, and the attr written,
// while the process is still root with its capabilities); the mount label is the `context=` option of the
// container's mounts that take one. A label for an LSM the host does not run is refused, naming the field
// (runc's words): a container must not run unconfined without a word.
import type { Process } from '../spec/generated/types';
import { ConfigError, step, type Step } from './types';

/** What the host's LSMs offer (src/lifecycle/host.ts reads it). */
export interface LsmFacts {
  /** AppArmor is enabled: the attr file under /proc/PID that takes the profile for the next exec. */
  apparmorExecAttr?: string;
  /** SELinux is enabled. */
  selinux: boolean;
}

/** Where a label came from, to name it in an error: config.json's fields, or exec's flags. */
export interface LsmFields {
  apparmorProfile: string;
  selinuxLabel: string;
}

export const CONFIG_LSM_FIELDS: LsmFields = { apparmorProfile: 'process.apparmorProfile', selinuxLabel: 'process.selinuxLabel' };

const SELINUX_OFF = 'but selinux is disabled or not supported';

/** The steps that label the process at its execve; an error for a label the host cannot apply. */
export function lsmSteps(proc: Process, lsm: LsmFacts, fields: LsmFields = CONFIG_LSM_FIELDS): Step[] {
  const steps: Step[] = [];
  if (proc.apparmorProfile) {
    if (!lsm.apparmorExecAttr) {
      throw new ConfigError(`${fields.apparmorProfile}: apparmor profile is specified in config, but apparmor is disabled or not supported`);
    }
    steps.push(step('WRITE_PROC', [`self/${lsm.apparmorExecAttr}`, `exec ${proc.apparmorProfile}`], fields.apparmorProfile));
  }
  if (proc.selinuxLabel) {
    if (!lsm.selinux) throw new ConfigError(`${fields.selinuxLabel}: selinux label is specified in config, ${SELINUX_OFF}`);
    steps.push(step('WRITE_PROC', ['self/attr/exec', proc.selinuxLabel], fields.selinuxLabel));
  }
  return steps;
}

/** SELinux: the keyring the process makes (its session keyring) takes the process's label, as in runc. */
export function keyringLabelSteps(proc: Process, lsm: LsmFacts): Step[] {
  return proc.selinuxLabel && lsm.selinux ? [step('WRITE_PROC', ['self/attr/keycreate', proc.selinuxLabel], CONFIG_LSM_FIELDS.selinuxLabel)] : [];
}

/** linux.mountLabel, checked: undefined when there is none. */
export function mountLabel(label: string | undefined, lsm: LsmFacts): string | undefined {
  if (!label) return undefined;
  if (!lsm.selinux) throw new ConfigError(`linux.mountLabel: selinux mount label is specified in config, ${SELINUX_OFF}`);
  return label;
}

/** Filesystems that take no `context=` (runc mounts them without the label): kernel views and mqueue. */
const UNLABELED_TYPES = new Set(['proc', 'sysfs', 'mqueue', 'cgroup', 'cgroup2']);

/** A mount's data with the mount label as its `context=` option (quoted: an MCS label holds commas). */
export function labeledData(fstype: string, data: string, label: string | undefined): string {
  if (!label || UNLABELED_TYPES.has(fstype)) return data;
  const context = `context="${label}"`;
  return data ? `${data},${context}` : context;
}
