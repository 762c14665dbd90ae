// `start`: the created container's program runs.
import { startContainer } from '../lifecycle/start';
import type { Handler } from './context';

export const start: Handler<'start'> = async (_opts, [id], ctx) => {
  await startContainer(ctx, id!);
  return 0;
};
