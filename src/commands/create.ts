// `create`: the container made, its process waiting for `start`; runt exits. With --dry-run: its plan printed
// (as `runt plan` prints it), nothing made.
import { writeSync } from 'node:fs';
import { createContainer, planCreate } from '../lifecycle/create';
import { renderPlan } from '../plan/render';
import type { Handler } from './context';

export const create: Handler<'create'> = async (opts, [id], ctx) => {
  if (opts.dryRun) {
    writeSync(1, renderPlan(await planCreate(ctx, id!, opts), 'text'));
    return 0;
  }
  await createContainer(ctx, id!, opts, 'detach');
  return 0;
};
