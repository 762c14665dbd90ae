// `update`: change the resource limits of a live container. The changes are merged into the resources
// create recorded, the merged set is applied (limits depend on each other: memory and swap, quota and
// period), and the record keeps the result.
import * as cgroups from '../cgroups';
import { log } from '../cli/log';
import { LIVE, withContainer } from '../container/locked';
import { ContainerError, loadConfig, saveConfig } from '../container/store';
import type { LinuxResources } from '../spec/generated/types';
import type { RuntimeContext } from './context';

/** The sections of LinuxResources whose fields an update changes one by one. */
export type Section = 'memory' | 'cpu' | 'pids' | 'blockIO' | 'network';
const SECTIONS: readonly Section[] = ['memory', 'cpu', 'pids', 'blockIO', 'network'];

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

/** Lays `resources` over the live container's, applies the result to its cgroup, and records it. */
export async function updateContainer(ctx: RuntimeContext, id: string, resources: LinuxResources): Promise<void> {
  // as runc: device rules stay as create set them (rewriting them would briefly deny every device).
  // containerd and nerdctl send the container's whole resources, devices included: only a change is worth a word
  const { devices: askedDevices, ...change } = resources;
  await withContainer(ctx.root, id, LIVE, async (record, _status, dir) => {
    // rootless without a delegated cgroup: create made none, so there is no limit to change
    if (!record.cgroup) throw new ContainerError(`container ${id} has no cgroup: update has no limit to change`);
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
    if (unit) await (await import('../cgroups/systemd')).setScopeProperties(host, unit, apply, record.cgroup.systemdInstance ?? 'system');
    for (const warning of cgroups.applyResources(host, record.cgroup, apply)) log.warn(warning);
    linux.resources = merged;
    saveConfig(dir, config);
  });
}
