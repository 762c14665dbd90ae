// config-linux.md "Devices" and "Default Devices": nodes and links made in the container's /dev.
import { normalize } from '../sys/path';
import type { LinuxDevice, Mount } from '../spec/generated/types';
import { DEVICE_TYPE_BITS } from './linux';
import { bindStep, isBindMount, parseMountOptions } from './mounts';
import { ConfigError, step, type HostFacts, type Step } from './types';

interface DeviceNode {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** The devices every container gets (config-linux.md "Default Devices"). */
const DEFAULT_DEVICES: DeviceNode[] = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
].map(([path, major, minor]) => ({ path: path as string, type: 'c', major: major as number, minor: minor as number, fileMode: 0o666, uid: 0, gid: 0 }));

/** The links every container gets (runtime-linux.md "Dev symbolic links"). */
const DEFAULT_LINKS: [target: string, link: string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

/**
 * The device's path cleaned lexically ("/dev/./a//b" → "/dev/a/b"), which must then be under /dev: a ".."
 * (as in "/dev/../etc/x") would otherwise put a device node anywhere in the rootfs.
 */
function devicePath(raw: string, field: string): string {
  const clean = normalize(raw);
  if (!raw.startsWith('/') || !clean.startsWith('/dev/') || clean.length === '/dev/'.length) {
    throw new ConfigError(`${field}.path: "${raw}" is not under /dev`);
  }
  return clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

function configDevice(device: LinuxDevice, field: string): DeviceNode {
  const path = devicePath(device.path, field);
  const type = device.type === 'u' ? 'c' : device.type;
  if (type !== 'p' && (device.major === undefined || device.minor === undefined)) {
    throw new ConfigError(`${field}: a "${device.type}" device needs major and minor`);
  }
  return {
    path,
    type,
    major: device.major ?? 0,
    minor: device.minor ?? 0,
    fileMode: device.fileMode ?? 0o666,
    uid: device.uid ?? 0,
    gid: device.gid ?? 0,
  };
}

/**
 * Steps that populate /dev. Without the right to mknod (a user namespace), nodes are bind mounts of the
 * host's nodes of the same path, as runc does.
 */
export function deviceSteps(devices: LinuxDevice[] | undefined, mounts: Mount[], canMknod: boolean, host: HostFacts): Step[] {
  const steps: Step[] = [];
  const bindsDev = mounts.some((m) => m.destination === '/dev' && isBindMount(m));
  const nodes: [DeviceNode, string | undefined][] = [];
  if (!bindsDev) for (const d of DEFAULT_DEVICES) nodes.push([d, undefined]);
  (devices ?? []).forEach((d, i) => {
    const field = `linux.devices[${i}]`;
    const node = configDevice(d, field);
    const existing = nodes.findIndex(([n]) => n.path === node.path);
    if (existing >= 0) nodes.splice(existing, 1);
    nodes.push([node, field]);
  });
  for (const [node, field] of nodes) {
    if (canMknod) {
      steps.push(step('MKNOD', [node.path, DEVICE_TYPE_BITS[node.type] | (node.fileMode & 0o7777), node.major, node.minor, node.uid, node.gid], field));
    } else {
      if (host.kindOf(node.path) === 'missing') {
        throw new ConfigError(`${field ?? 'linux.devices'}: ${node.path} must exist on the host to be bound into a container that may not mknod`);
      }
      steps.push(bindStep(node.path, node.path, 'file', parseMountOptions(['bind']), -1, field));
    }
  }
  if (!bindsDev) {
    for (const [target, link] of DEFAULT_LINKS) steps.push(step('SYMLINK', [target, link]));
    if (mounts.some((m) => m.destination === '/dev/pts' && m.type === 'devpts')) steps.push(step('SYMLINK', ['pts/ptmx', '/dev/ptmx']));
  }
  return steps;
}
