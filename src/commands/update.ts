// `update`: the flags (or --resources' JSON) as the LinuxResources the container gets laid over its own.
import { readFileSync } from 'node:fs';
import { UsageError } from '../cli/parse';
import { flagName, type OptionsOf } from '../cli/table';
import { type Section, updateContainer } from '../lifecycle/update';
import type { LinuxResources } from '../spec/generated/types';
import { checkResources } from '../spec/validate';
import type { Handler } from './context';

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

/** The options that set one field each (all but --resources). */
type SingleOption = Exclude<keyof OptionsOf<'update'>, 'resources'>;

/** Each single option: where its value goes in LinuxResources, and how it is read (in the table's order). */
const TARGETS: { readonly [K in SingleOption]: { section: Section; field: string; parse: (flag: string, text: string) => number | string } } = {
  memory: { section: 'memory', field: 'limit', parse: parseBytes },
  memorySwap: { section: 'memory', field: 'swap', parse: parseBytes },
  memoryReservation: { section: 'memory', field: 'reservation', parse: parseBytes },
  cpuShares: { section: 'cpu', field: 'shares', parse: (f, t) => parseInteger(f, t, 0) },
  cpuShare: { section: 'cpu', field: 'shares', parse: (f, t) => parseInteger(f, t, 0) },
  cpuQuota: { section: 'cpu', field: 'quota', parse: (f, t) => parseInteger(f, t, -1) },
  cpuPeriod: { section: 'cpu', field: 'period', parse: (f, t) => parseInteger(f, t, 0) },
  cpuBurst: { section: 'cpu', field: 'burst', parse: (f, t) => parseInteger(f, t, 0) },
  cpuIdle: { section: 'cpu', field: 'idle', parse: (f, t) => parseInteger(f, t, 0) },
  cpuRtPeriod: { section: 'cpu', field: 'realtimePeriod', parse: (f, t) => parseInteger(f, t, 0) },
  cpuRtRuntime: { section: 'cpu', field: 'realtimeRuntime', parse: (f, t) => parseInteger(f, t, -1) },
  cpusetCpus: { section: 'cpu', field: 'cpus', parse: (_f, t) => t },
  cpusetMems: { section: 'cpu', field: 'mems', parse: (_f, t) => t },
  pidsLimit: { section: 'pids', field: 'limit', parse: (f, t) => parseInteger(f, t, -1) },
  blkioWeight: { section: 'blockIO', field: 'weight', parse: (f, t) => parseInteger(f, t, 0) },
};

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
export function requestedResources(opts: OptionsOf<'update'>): LinuxResources {
  const given = (Object.keys(TARGETS) as SingleOption[]).filter((key) => opts[key] !== undefined);
  let r: LinuxResources;
  if (opts.resources !== undefined) {
    if (given.length > 0) throw new UsageError(`--resources cannot be combined with --${flagName(given[0]!)}`);
    r = readResourcesJson(opts.resources);
  } else {
    const out: Record<string, Record<string, number | string>> = {};
    for (const key of given) {
      const { section, field, parse } = TARGETS[key];
      (out[section] ??= {})[field] = parse(flagName(key), opts[key]!);
    }
    r = out as LinuxResources;
  }
  // as runc: unlimited memory without a word on swap means unlimited memory+swap too
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory = { ...r.memory, swap: -1 };
  return r;
}

export const update: Handler<'update'> = async (opts, [id], ctx) => {
  await updateContainer(ctx, id!, requestedResources(opts));
  return 0;
};
