// `pause` and `resume`: freeze and thaw every process of the container (v1 freezer or cgroup.freeze).
import { setFrozen } from '../cgroups/freezer';
import { withContainer } from '../container/locked';
import type { RuntimeContext } from './context';

export function pauseContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx.root, id, ['created', 'running'], (record) => setFrozen(record.cgroup, true));
}

export function resumeContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx.root, id, ['paused'], (record) => setFrozen(record.cgroup, false), 'container not paused');
}
