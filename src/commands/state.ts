// `state`: the container's state as JSON on stdout.
import { writeSync } from 'node:fs';
import { containerState } from '../lifecycle/state';
import type { Handler } from './context';

export const state: Handler<'state'> = (_opts, [id], ctx) => {
  writeSync(1, `${JSON.stringify(containerState(ctx, id!), null, 2)}\n`);
  return 0;
};
