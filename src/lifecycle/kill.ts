// runtime.md "Kill": a signal to the container's process (or, with `all`, to every process in its cgroup).
import { LIVE, withContainer } from '../container/locked';
import type { RuntimeContext } from './context';
import { signalContainer } from './signal';

export function killContainer(ctx: RuntimeContext, id: string, signal: number, opts: { all: boolean }): void {
  withContainer(ctx.root, id, LIVE, (record) => signalContainer(record, signal, opts.all));
}
