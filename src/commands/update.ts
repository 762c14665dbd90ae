// `update`: change the resource limits of a live container. The changes are merged into the resources
// create recorded, the merged set is applied (limits depend on each other: memory and swap, quota and
// period), and the record keeps the result.
import { readFileSync } from 'node:fs';
import * as cgroups from '../cgroups';
import { log } from '../cli/log';
import { UsageError } from '../cli/parse';
import { loadConfig, saveConfig } from '../container/store';
import type { LinuxResources } from '../spec/generated/types';
import { checkResources } from '../spec/validate';
import { stringFlag, type Context } from './context';
import { LIVE, withContainer } from './locked';

type Section = 'memory' | 'cpu' | 'pids' | 'blockIO' | 'network';
const SECTIONS: readonly Section[] = ['memory', 'cpu', 'pids', 'blockIO', 'network'];

/** docker's RAMInBytes, as runc takes --memory: a number with an optional binary unit (k, m, g, t, p; "kb", "KiB"...). */
export function parseBytes(flag: string, text: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new UsageError(`invalid value "${text}" for --${flag}: want bytes, optionally with a unit (k, m, g, t, p)`);
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const value = Math.floor(Number(m[1]) * 1024 ** power);
  if (!Number.isSafeInteger(value)) throw new UsageError(`invalid value "${text}" for --${flag}: too large`);
  return value;
}

function parseInteger(flag: string, text: string, min: number): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`invalid value "${text}" for --${flag}: want an integer${min === 0 ? ' >= 0' : ''}`);
  }
  return Number(text);
}

/** The single flags: name → where the value goes in LinuxResources, and how it is read. */
const FLAGS: { flag: string; section: Section; field: string; parse: (flag: string, text: string) => number | string }[] = [
  { flag: 'memory', section: 'memory', field: 'limit', parse: parseBytes },
  { flag: 'memory-swap', section: 'memory', field: 'swap', parse: parseBytes },
  { flag: 'memory-reservation', section: 'memory', field: 'reservation', parse: parseBytes },
  { flag: 'cpu-shares', section: 'cpu', field: 'shares', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-share', section: 'cpu', field: 'shares', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-quota', section: 'cpu', field: 'quota', parse: (f, t) => parseInteger(f, t, -1) },
  { flag: 'cpu-period', section: 'cpu', field: 'period', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-burst', section: 'cpu', field: 'burst', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-idle', section: 'cpu', field: 'idle', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-rt-period', section: 'cpu', field: 'realtimePeriod', parse: (f, t) => parseInteger(f, t, 0) },
  { flag: 'cpu-rt-runtime', section: 'cpu', field: 'realtimeRuntime', parse: (f, t) => parseInteger(f, t, -1) },
  { flag: 'cpuset-cpus', section: 'cpu', field: 'cpus', parse: (_f, t) => t },
  { flag: 'cpuset-mems', section: 'cpu', field: 'mems', parse: (_f, t) => t },
  { flag: 'pids-limit', section: 'pids', field: 'limit', parse: (f, t) => parseInteger(f, t, -1) },
  { flag: 'blkio-weight', section: 'blockIO', field: 'weight', parse: (f, t) => parseInteger(f, t, 0) },
];

function readResourcesJson(source: string): LinuxResources {
  let text: string;
  try {
    text = readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (e) {
    throw new UsageError(`--resources: cannot read ${source === '-' ? 'standard input' : source}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--resources: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('--resources: want a JSON object (LinuxResources)');
  // the same schema as a config's linux.resources: a value of the wrong type never reaches a cgroup file or the record
  const check = checkResources(value);
  if (!check.ok) throw new UsageError(`--resources: ${check.errors.join('; ')}`);
  return check.resources;
}

/** What the command line asks to change: --resources (a file or "-" for stdin) or the single flags. */
export function requestedResources(flags: Context['flags']): LinuxResources {
  const source = stringFlag(flags, 'resources');
  const given = FLAGS.filter((f) => typeof flags[f.flag] === 'string');
  let r: LinuxResources;
  if (source !== undefined) {
    if (given.length > 0) throw new UsageError(`--resources cannot be combined with --${given[0]!.flag}`);
    r = readResourcesJson(source);
  } else {
    const out: Record<string, Record<string, number | string>> = {};
    for (const f of given) (out[f.section] ??= {})[f.field] = f.parse(f.flag, flags[f.flag] as string);
    r = out as LinuxResources;
  }
  // as runc: unlimited memory without a word on swap means unlimited memory+swap too
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory = { ...r.memory, swap: -1 };
  return r;
}

const present = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/**
 * `change` laid over `base`: sections field by field, maps (unified, rdma) key by key, lists replaced; an
 * absent or null value keeps what was there.
 */
export function mergeResources(base: LinuxResources, change: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(present(change))) {
    const isMap = k === 'unified' || k === 'rdma' || (SECTIONS as readonly string[]).includes(k);
    const prev = out[k];
    out[k] = isMap && typeof v === 'object' && !Array.isArray(v) ? { ...(typeof prev === 'object' ? prev : {}), ...present(v as object) } : v;
  }
  return out as LinuxResources;
}

export async function update(ctx: Context): Promise<number> {
  // as runc: device rules stay as create set them (rewriting them would briefly deny every device).
  // containerd and nerdctl send the container's whole resources, devices included: only a change is worth a word
  const { devices: askedDevices, ...change } = requestedResources(ctx.flags);
  await withContainer(ctx, ctx.args[0]!, LIVE, async (record, _status, dir) => {
    if (!record.cgroup) throw new Error('update: the container has no cgroup');
    const config = loadConfig(dir);
    const linux = (config.linux ??= {});
    if (askedDevices && JSON.stringify(askedDevices) !== JSON.stringify(linux.resources?.devices ?? [])) {
      log.warn('linux.resources.devices: not changed (update does not change device rules, as in runc)');
    }
    const merged = mergeResources(linux.resources ?? {}, change);
    const { devices: _unchanged, ...apply } = merged;
    const host = cgroups.detectHost();
    // as runc: what systemd knows goes to the unit too, so a daemon-reload does not undo the update
    const unit = record.cgroup.systemdUnit;
    if (unit) await (await import('../cgroups/systemd')).setScopeProperties(host, unit, apply);
    for (const warning of cgroups.applyResources(host, record.cgroup, apply)) log.warn(warning);
    linux.resources = merged;
    saveConfig(dir, config);
  });
  return 0;
}
