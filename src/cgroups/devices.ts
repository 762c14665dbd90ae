// Device cgroup rules: the defaults runc appends, and their cgroup v1 form.
import type { LinuxDeviceCgroup } from '../spec/generated/types';
import { fail } from './emit';

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
export const DEFAULT_DEVICE_RULES: readonly Readonly<LinuxDeviceCgroup>[] = Object.freeze(
  [
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
  ].map((r) => Object.freeze(r)),
);

export interface DeviceRuleV1 {
  file: 'devices.allow' | 'devices.deny';
  value: string;
}

/** An OCI device rule, checked: -1 is any major/minor, access is a non-empty subset of "rwm" in that order. */
export interface CheckedDeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: string;
  /** Type "a", any device, full access: the rule that resets the policy (the kernel's "a"). */
  all: boolean;
}

function num(field: string, v: number | null | undefined): number {
  if (v === undefined || v === null || v === -1) return -1;
  // major numbers have 12 bits and minors 20: anything past 2^31 is a mistake (and would not fit a BPF imm)
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) fail(field, `invalid device number ${v}`);
  return v;
}

/** Type defaults to "a", access to "rwm"; errors name the field. */
export function checkDeviceRule(d: LinuxDeviceCgroup, field: string): CheckedDeviceRule {
  const type = d.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') fail(`${field}.type`, `invalid device type ${JSON.stringify(type)} (want "a", "b" or "c")`);
  const rawAccess = d.access ?? 'rwm';
  if (rawAccess === '' || !/^[rwm]+$/.test(rawAccess) || new Set(rawAccess).size !== rawAccess.length) {
    fail(`${field}.access`, `invalid access ${JSON.stringify(rawAccess)} (want a combination of r, w and m)`);
  }
  const access = ['r', 'w', 'm'].filter((c) => rawAccess.includes(c)).join('');
  const major = num(`${field}.major`, d.major);
  const minor = num(`${field}.minor`, d.minor);
  return { allow: d.allow, type, major, minor, access, all: type === 'a' && major === -1 && minor === -1 && access === 'rwm' };
}

/**
 * One OCI device rule → its cgroup v1 writes, "<type> <major>:<minor> <access>" ('*' = any). Type "a" with
 * any device and full access is the kernel's "a" (all); type "a" with anything narrower becomes a "c" and a
 * "b" rule, because the v1 kernel reads any "a..." line as all devices with all access.
 */
export function deviceRuleV1(d: LinuxDeviceCgroup, field: string): DeviceRuleV1[] {
  const r = checkDeviceRule(d, field);
  const file = r.allow ? 'devices.allow' : 'devices.deny';
  if (r.all) return [{ file, value: 'a' }];
  const show = (n: number): string => (n === -1 ? '*' : String(n));
  return (r.type === 'a' ? ['c', 'b'] : [r.type]).map((t) => ({ file, value: `${t} ${show(r.major)}:${show(r.minor)} ${r.access}` }));
}

/**
 * The device rules a container's cgroup gets: the config's own (linux.resources.devices), then the defaults
 * every container needs, as runc orders them. A node of linux.devices gets no rule of its own: the config
 * says who may use it (a deny in linux.resources.devices stays a deny).
 */
export function containerDeviceRules(configRules: LinuxDeviceCgroup[] | undefined): LinuxDeviceCgroup[] {
  return [...(configRules ?? []), ...DEFAULT_DEVICE_RULES];
}
