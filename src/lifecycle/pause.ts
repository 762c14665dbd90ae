// `pause` and `resume`: freeze and thaw every process of the container (v1 freezer or cgroup.freeze).
import { setFrozen } from '../cgroups/freezer';
import type { Context } from '../commands/context';
import { withContainer } from '../container/locked';

export function pause(ctx: Context): number {
  withContainer(ctx, ctx.args[0]!, ['created', 'running'], (record) => setFrozen(record.cgroup, true));
  return 0;
}

export function resume(ctx: Context): number {
  withContainer(ctx, ctx.args[0]!, ['paused'], (record) => setFrozen(record.cgroup, false), 'container not paused');
  return 0;
}
