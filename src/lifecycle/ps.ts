// `ps`: the container's processes, as host pids in its cgroup.
import * as cgroups from '../cgroups';
import { loadRecord } from '../container/store';
import type { RuntimeContext } from './context';

export function containerPids(ctx: RuntimeContext, id: string): number[] {
  const record = loadRecord(ctx.root, id);
  return record.cgroup ? cgroups.pidsOf(record.cgroup) : [];
}
