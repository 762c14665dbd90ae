// `checkpoint`: the container dumped by CRIU into --image-path.
import { checkpointContainer } from '../lifecycle/checkpoint';
import type { Handler } from './context';

export const checkpoint: Handler<'checkpoint'> = async (opts, [id], ctx) => {
  await checkpointContainer(ctx, id!, opts);
  return 0;
};
