// features.md: what this runt supports, exactly; `runt features` prints it.
import { OCI_VERSION } from '../container/store';
import { CAPABILITIES } from '../plan/linux';
import { MOUNT_OPTIONS } from '../plan/mounts';
import { SECCOMP_ACTIONS, SECCOMP_ARCHS, SECCOMP_FLAGS, SECCOMP_OPERATORS, supportedSeccompFlags } from '../plan/seccomp';
import { kernelRelease, releaseAtLeast } from '../sys/kernel';
import type { Arch, Features, LinuxSeccompAction, LinuxSeccompFlag, LinuxSeccompOperator } from '../spec/generated/types';

export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: MOUNT_OPTIONS,
    // as runc's: checkpoint and restore are there (they need a criu binary, runt's global --criu)
    annotations: { 'org.opencontainers.runc.checkpoint.enabled': 'true' },
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: {
        enabled: true,
        actions: Object.keys(SECCOMP_ACTIONS) as LinuxSeccompAction[],
        operators: Object.keys(SECCOMP_OPERATORS) as LinuxSeccompOperator[],
        archs: Object.keys(SECCOMP_ARCHS) as Arch[],
        knownFlags: Object.keys(SECCOMP_FLAGS) as LinuxSeccompFlag[],
        supportedFlags: supportedSeccompFlags(kernelRelease()),
      },
      // features.md: supported by the runtime, whatever the host runs (create refuses a label the host cannot apply)
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: true },
      // id-mapped mounts need mount_setattr (Linux 5.12)
      mountExtensions: { idmap: { enabled: releaseAtLeast(kernelRelease(), 5, 12) } },
      netDevices: { enabled: true },
    },
  };
}
