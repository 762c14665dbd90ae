// `create`: the container made, its process waiting for `start`; runt exits.
import { createContainer } from '../lifecycle/create';
import type { Handler } from './context';

export const create: Handler<'create'> = async (opts, [id], ctx) => {
  await createContainer(ctx, id!, opts, 'detach');
  return 0;
};
