// The systemd cgroup driver (--systemd-cgroup), as runc's: the container's cgroup is a transient scope that
// systemd makes over D-Bus (StartTransientUnit with Delegate=yes and the resource properties systemd knows);
// the cgroupfs driver then makes what systemd does not manage (v1 hierarchies such as cpuset or freezer)
// and writes every resource file, as runc's fs manager does after systemd. update: SetUnitProperties, then
// the files. delete: StopUnit. pause: the freezer files (runc does not ask systemd either).
import { existsSync } from 'node:fs';
import type { LinuxResources, Spec } from '../spec/generated/types';
import { type CgroupSet, createCgroup } from './cgroupfs';
import { log } from '../cli/log';
import { HostError, hostFailure, UserError } from '../errors';
import { parseVariantText } from './dbus-text';
import { Bus, DBusError, type DBusValue, type Message, MessageType, SYSTEM_BUS, Variant } from './dbus';
import { fail } from './emit';
import type { CgroupHost } from './host';
import { scopePath, type SystemdUnit } from './path';
import { swapToV2, sharesToWeight } from './v2';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** As runc: how long a job (start, stop) may take. */
const JOB_TIMEOUT_MS = 30_000;
/** systemd's CPUQuota is in whole percent: CPUQuotaPerSecUSec is rounded up to 10 ms. */
const QUOTA_STEP_USEC = 10_000n;
const DEFAULT_CPU_PERIOD_USEC = 100_000n;
/** USEC_INFINITY / "infinity" for systemd's uint64 properties. */
const INFINITY = 2n ** 64n - 1n;

export type Property = [string, Variant];

const prop = (name: string, signature: string, value: DBusValue): Property => [name, new Variant(signature, value)];
const u64 = (n: number): bigint => (n < 0 ? INFINITY : BigInt(n));

/** "0-2,4" → the little-endian bit mask systemd takes for AllowedCPUs/AllowedMemoryNodes. */
export function rangeToBits(field: string, list: string): Uint8Array {
  const bits: number[] = [];
  for (const part of list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || to < from || to > 8191) fail(field, `invalid list ${JSON.stringify(list)}`);
    for (let i = from; i <= to; i++) bits.push(i);
  }
  const out = new Uint8Array(bits.length ? Math.floor(Math.max(...bits) / 8) + 1 : 0);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

/** CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec) from the CFS quota and period, as runc converts them. */
function cpuQuotaProperties(quota: number | undefined, period: number | undefined): Property[] {
  const out: Property[] = [];
  const p = period ? BigInt(period) : 0n;
  if (p) out.push(prop('CPUQuotaPeriodUSec', 't', p));
  if (quota || p) {
    let perSec = INFINITY;
    if (quota && quota > 0) {
      perSec = (BigInt(quota) * 1_000_000n) / (p || DEFAULT_CPU_PERIOD_USEC);
      if (perSec % QUOTA_STEP_USEC !== 0n) perSec = (perSec / QUOTA_STEP_USEC + 1n) * QUOTA_STEP_USEC;
    }
    out.push(prop('CPUQuotaPerSecUSec', 't', perSec));
  }
  return out;
}

/**
 * The unit properties systemd knows for `r`, for a host whose container cgroup is v1 (memory, cpu...
 * controllers in v1 hierarchies: hybrid too) or v2. Every other setting is written to the files only.
 */
export function resourceProperties(r: LinuxResources | undefined, version: 1 | 2): Property[] {
  if (!r) return [];
  const F = 'linux.resources';
  const out: Property[] = [];
  const mem = r.memory;
  const cpu = r.cpu;
  if (version === 1) {
    if (mem?.limit) out.push(prop('MemoryLimit', 't', u64(mem.limit)));
    if (cpu?.shares) out.push(prop('CPUShares', 't', BigInt(cpu.shares)));
  } else {
    if (mem?.limit) out.push(prop('MemoryMax', 't', u64(mem.limit)));
    if (mem?.reservation) out.push(prop('MemoryLow', 't', u64(mem.reservation)));
    // as runc: unlimited memory with swap unset is unlimited swap too
    const swap = mem && (mem.swap || mem.limit === -1) ? swapToV2(mem.swap || undefined, mem.limit ?? undefined) : 0;
    if (swap) out.push(prop('MemorySwapMax', 't', u64(swap)));
    if (cpu?.shares) out.push(prop('CPUWeight', 't', BigInt(sharesToWeight(cpu.shares))));
  }
  out.push(...cpuQuotaProperties(cpu?.quota ?? undefined, cpu?.period ?? undefined));
  if (version === 1 && r.blockIO?.weight) out.push(prop('BlockIOWeight', 't', BigInt(r.blockIO.weight)));
  const pids = r.pids?.limit;
  if (pids !== undefined && pids !== null && (pids > 0 || pids === -1)) out.push(prop('TasksMax', 't', u64(pids)));
  if (cpu?.cpus) out.push(prop('AllowedCPUs', 'ay', rangeToBits(`${F}.cpu.cpus`, cpu.cpus)));
  if (cpu?.mems) out.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(`${F}.cpu.mems`, cpu.mems)));
  return out;
}

/** Whether the container's memory, cpu... controllers are cgroup v2's (a pure v2 host) or v1's. */
export function controllerVersion(host: CgroupHost): 1 | 2 {
  return host.mode === 'v2' ? 2 : 1;
}

const ANNOTATION_PREFIX = 'org.systemd.property.';
const MICROS = 1_000_000n;

/** A "...Sec" property's value in seconds, as the microseconds of its "...USec" name (a uint64). */
function secondsToMicros(key: string, v: Variant): Variant {
  const n = v.value;
  let us: bigint | undefined;
  if (v.signature === 'd' && typeof n === 'number') us = BigInt(Math.trunc(n * 1e6));
  else if ('ynqiuxt'.includes(v.signature) && (typeof n === 'number' || typeof n === 'bigint')) us = BigInt(n) * MICROS;
  if (us === undefined) throw new UserError(`annotations["${key}"]: a ...Sec property takes a number of seconds`);
  if (us < 0n || us >= INFINITY) throw new UserError(`annotations["${key}"]: ${String(n)} seconds is out of range`);
  return new Variant('t', us);
}

/**
 * runc's `org.systemd.property.<Name>` annotations: extra properties of the scope, each value in the GVariant
 * text format with the type it has or infers (`uint64 30`, `"text"`, `true`, `[...]`; an integer alone is an
 * int32). A name must be letters only, 3 at the least; one ending in a lower-case letter and "Sec" takes
 * seconds and becomes "...USec" in microseconds (TimeoutStopSec → TimeoutStopUSec), as runc converts it.
 */
export function annotationProperties(annotations: Spec['annotations']): Property[] {
  const out: Property[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX) || text === undefined) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    if (!/^[A-Za-z]{3,}$/.test(name)) throw new UserError(`annotations["${key}"]: a systemd property name is 3 or more latin letters`);
    let value: Variant;
    try {
      value = parseVariantText(text);
    } catch (e) {
      throw new UserError(`annotations["${key}"]: ${(e as Error).message}`);
    }
    if (/[a-z]Sec$/.test(name)) out.push([`${name.slice(0, -3)}USec`, secondsToMicros(key, value)]);
    else out.push([name, value]);
  }
  return out;
}

/** The properties of the container's scope, in runc's order. */
export function scopeProperties(host: CgroupHost, unit: SystemdUnit, pid: number, r: LinuxResources | undefined, extra: Property[] = []): Property[] {
  const version = controllerVersion(host);
  return [
    prop('Description', 's', `runt container ${unit.name}`),
    prop('Slice', 's', unit.slice),
    prop('Delegate', 'b', true),
    prop('PIDs', 'au', [pid]),
    prop('MemoryAccounting', 'b', true),
    prop('CPUAccounting', 'b', true),
    prop(version === 1 ? 'BlockIOAccounting' : 'IOAccounting', 'b', true),
    prop('TasksAccounting', 'b', true),
    prop('DefaultDependencies', 'b', false),
    // after runt's own, as runc adds them: one of the same name replaces runt's; the resources come last
    ...extra,
    ...resourceProperties(r, version),
  ];
}

/** Which systemd makes the scope: the system manager, or the user's own manager (rootless, runc's systemdUser). */
export type SystemdInstance = 'system' | 'user';

/**
 * The user manager's bus, as runc finds it: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus where that
 * exists. runt authenticates as its own uid (SASL EXTERNAL), which the bus and the manager check.
 */
export function userBusAddress(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): string {
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS;
  const bus = env.XDG_RUNTIME_DIR && `${env.XDG_RUNTIME_DIR}/bus`;
  if (bus && exists(bus)) return `unix:path=${bus}`;
  throw new UserError(
    "--systemd-cgroup: rootless: cannot find the systemd user manager's bus: neither DBUS_SESSION_BUS_ADDRESS nor $XDG_RUNTIME_DIR/bus (is dbus-user-session installed, and the user logged in?)",
  );
}

/**
 * What the user manager needs of the host, checked before anything is made: cgroup v2, the only hierarchy a
 * user manager delegates (runc refuses the same on v1 and hybrid hosts), and its bus.
 */
export function requireUserManager(host: CgroupHost): void {
  if (host.mode !== 'v2') {
    throw new UserError(
      `--systemd-cgroup: rootless containers are made by the systemd user manager, which needs cgroup v2 alone; this host is ${host.mode === 'hybrid' ? 'hybrid (v1 controllers)' : 'cgroup v1'}`,
    );
  }
  userBusAddress(process.env, existsSync);
}

/** The manager's bus: the system bus (DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket), or the user's. */
async function connect(instance: SystemdInstance): Promise<Bus> {
  return Bus.connect(instance === 'user' ? userBusAddress(process.env, existsSync) : process.env.DBUS_SYSTEM_BUS_ADDRESS || SYSTEM_BUS);
}

/** The manager's own cgroup (its ControlGroup property): the user manager's scopes are made below it. */
async function managerCgroup(bus: Bus): Promise<string> {
  const [v] = await bus.call(SYSTEMD, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER, 'ControlGroup']);
  if (!(v instanceof Variant) || typeof v.value !== 'string' || !v.value.startsWith('/')) {
    throw new Error("systemd: the user manager's ControlGroup is not a cgroup path");
  }
  return v.value;
}

/** Asks the manager; errors say which unit and call failed. */
async function manager(bus: Bus, unit: string, member: string, signature: string, body: DBusValue[]): Promise<DBusValue[]> {
  try {
    return await bus.call(SYSTEMD, MANAGER_PATH, MANAGER, member, signature, body);
  } catch (e) {
    const what = `systemd: ${member} ${unit}`;
    if (e instanceof DBusError) throw new DBusError(e.name, `${what}: ${e.message}`);
    throw e instanceof HostError ? new HostError(`${what}: ${e.message}`, e.code) : hostFailure(what, e);
  }
}

/**
 * Runs a job-making call (StartTransientUnit, StopUnit) and waits for its JobRemoved signal; resolves with
 * the job's result ("done", "failed", "timeout"...). The signal may come before the reply: all are kept.
 */
async function runJob(bus: Bus, unit: string, member: string, signature: string, body: DBusValue[]): Promise<string> {
  const results = new Map<string, string>();
  let wake = (): void => {};
  const onSignal = (m: Message): void => {
    if (m.type !== MessageType.Signal || m.interface !== MANAGER || m.member !== 'JobRemoved') return;
    results.set(m.body[1] as string, m.body[3] as string);
    wake();
  };
  bus.on(onSignal);
  try {
    await bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
      `type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved',path='${MANAGER_PATH}'`,
    ]);
    const [job] = await manager(bus, unit, member, signature, body);
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    while (!results.has(job as string)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new HostError(`systemd: timed out waiting for ${member} ${unit} (job ${String(job)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return results.get(job as string)!;
  } finally {
    bus.off(onSignal);
  }
}

const isDBusError = (e: unknown, name: string): boolean => e instanceof DBusError && e.name === name;

async function resetFailed(bus: Bus, unit: string): Promise<void> {
  await manager(bus, unit, 'ResetFailedUnit', 's', [unit]).catch(() => undefined);
}

/**
 * Starts the container's scope with `pid` in it, then makes its dirs in the hierarchies systemd does not
 * manage (and any it left out), as the cgroupfs driver would. `extra`: the annotations' properties. A leftover
 * failed unit of the same name is reset and the start tried once more, as runc does.
 */
export async function startScope(
  host: CgroupHost,
  unit: SystemdUnit,
  pid: number,
  r: LinuxResources | undefined,
  extra: Property[],
  instance: SystemdInstance,
): Promise<CgroupSet> {
  const bus = await connect(instance);
  try {
    const cgPath = scopePath(unit, instance === 'user' ? await managerCgroup(bus) : '');
    const props = scopeProperties(host, unit, pid, r, extra);
    const start = (): Promise<string> => runJob(bus, unit.unit, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit.unit, 'replace', props, []]);
    let result: string;
    try {
      result = await start();
    } catch (e) {
      if (!isDBusError(e, 'org.freedesktop.systemd1.UnitExists')) throw e;
      await resetFailed(bus, unit.unit);
      result = await start();
    }
    if (result !== 'done') {
      await resetFailed(bus, unit.unit);
      throw new HostError(`systemd: error creating unit ${unit.unit}: got ${result}`);
    }
    try {
      return { ...createCgroup(host, cgPath, pid), systemdUnit: unit.unit, ...(instance === 'user' ? { systemdInstance: instance } : {}) };
    } catch (e) {
      await runJob(bus, unit.unit, 'StopUnit', 'ss', [unit.unit, 'replace']).catch(() => undefined); // the error that matters is e
      throw e;
    }
  } finally {
    bus.close();
  }
}

/** update: the properties systemd knows go to the unit (runtime only), then the caller writes the files. */
export async function setScopeProperties(host: CgroupHost, unit: string, r: LinuxResources, instance: SystemdInstance): Promise<void> {
  const props = resourceProperties(r, controllerVersion(host));
  if (props.length === 0) return;
  const bus = await connect(instance);
  try {
    await manager(bus, unit, 'SetUnitProperties', 'sba(sv)', [unit, true, props]);
  } finally {
    bus.close();
  }
}

/** delete: stops the scope (systemd removes the cgroup dirs it made). A unit that is gone already is fine. */
export async function stopScope(unit: string, instance: SystemdInstance): Promise<void> {
  const bus = await connect(instance);
  try {
    let result: string;
    try {
      result = await runJob(bus, unit, 'StopUnit', 'ss', [unit, 'replace']);
    } catch (e) {
      if (isDBusError(e, 'org.freedesktop.systemd1.NoSuchUnit')) return;
      throw e;
    }
    if (result !== 'done') log.warn(`stopping ${unit}: systemd says ${result}`);
    await resetFailed(bus, unit);
  } finally {
    bus.close();
  }
}
