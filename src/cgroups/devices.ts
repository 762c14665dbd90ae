// Device cgroup rules: the defaults runc appends, and their cgroup v1 form.
import type { LinuxDevice, LinuxDeviceCgroup } from '../spec/types';

const rule = (type: 'c' | 'b', major: number | undefined, minor: number | undefined, access: string): LinuxDeviceCgroup => {
  const r: LinuxDeviceCgroup = { allow: true, type };
  if (major !== undefined) r.major = major;
  if (minor !== undefined) r.minor = minor;
  r.access = access;
  return r;
};

/**
 * The rules runc (libcontainer/specconv AllowedDevices) appends after the config's own rules: mknod of any
 * char or block device, /dev/null, random, full, tty, zero, urandom, the /dev/pts/* range and /dev/ptmx.
 * A missing major/minor is the wildcard. The caller appends these after linux.resources.devices.
 */
export const DEFAULT_DEVICE_RULES: readonly Readonly<LinuxDeviceCgroup>[] = Object.freeze([
  rule('c', undefined, undefined, 'm'), // mknod any char device
  rule('b', undefined, undefined, 'm'), // mknod any block device
  rule('c', 1, 3, 'rwm'), // /dev/null
  rule('c', 1, 8, 'rwm'), // /dev/random
  rule('c', 1, 7, 'rwm'), // /dev/full
  rule('c', 5, 0, 'rwm'), // /dev/tty
  rule('c', 1, 5, 'rwm'), // /dev/zero
  rule('c', 1, 9, 'rwm'), // /dev/urandom
  rule('c', 136, undefined, 'rwm'), // /dev/pts/*
  rule('c', 5, 2, 'rwm'), // /dev/ptmx
].map((r) => Object.freeze(r)));

export interface DeviceRuleV1 {
  file: 'devices.allow' | 'devices.deny';
  value: string;
}

function num(field: string, v: number | null | undefined): string {
  if (v === undefined || v === null || v === -1) return '*';
  if (!Number.isInteger(v) || v < 0) throw new Error(`${field}: invalid device number ${v}`);
  return String(v);
}

/**
 * One OCI device rule → its cgroup v1 writes, "<type> <major>:<minor> <access>" ('*' = any). Type "a" with
 * any device and full access is the kernel's "a" (all); type "a" with anything narrower becomes a "c" and a
 * "b" rule, because the v1 kernel reads any "a..." line as all devices with all access.
 * Access defaults to "rwm" when absent.
 */
export function deviceRuleV1(d: LinuxDeviceCgroup, field: string): DeviceRuleV1[] {
  const type = d.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') throw new Error(`${field}.type: invalid device type ${JSON.stringify(type)} (want "a", "b" or "c")`);
  const rawAccess = d.access ?? 'rwm';
  if (rawAccess === '' || !/^[rwm]+$/.test(rawAccess) || new Set(rawAccess).size !== rawAccess.length) {
    throw new Error(`${field}.access: invalid access ${JSON.stringify(rawAccess)} (want a combination of r, w and m)`);
  }
  const access = ['r', 'w', 'm'].filter((c) => rawAccess.includes(c)).join('');
  const major = num(`${field}.major`, d.major);
  const minor = num(`${field}.minor`, d.minor);
  const file = d.allow ? 'devices.allow' : 'devices.deny';
  if (type === 'a') {
    if (major === '*' && minor === '*' && access === 'rwm') return [{ file, value: 'a' }];
    return [
      { file, value: `c ${major}:${minor} ${access}` },
      { file, value: `b ${major}:${minor} ${access}` },
    ];
  }
  return [{ file, value: `${type} ${major}:${minor} ${access}` }];
}

/**
 * The device rules a container's cgroup gets: the config's own (linux.resources.devices) first, then the
 * defaults every container needs, then access to each node of linux.devices, as runc orders them.
 */
export function containerDeviceRules(configRules: LinuxDeviceCgroup[] | undefined, devices: LinuxDevice[] | undefined): LinuxDeviceCgroup[] {
  const nodes = (devices ?? [])
    .filter((d) => d.type !== 'p')
    .map((d): LinuxDeviceCgroup => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' }));
  return [...(configRules ?? []), ...DEFAULT_DEVICE_RULES, ...nodes];
}
