// `run`: create, start and (unless --detach) wait; the container's exit status is runt's.
import { runContainer } from '../lifecycle/run';
import type { Handler } from './context';

export const run: Handler<'run'> = (opts, [id], ctx) => runContainer(ctx, id!, opts);
