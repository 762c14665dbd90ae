// `runt plan [ID]`: create's plan for a bundle, printed and not carried out (src/lifecycle/create.ts
// planCreate): the steps create would take, in order, each with the config field it comes from.
import { writeSync } from 'node:fs';
import { planCreate } from '../lifecycle/create';
import { renderPlan } from '../plan/render';
import type { Handler } from './context';

/** The id when none is given: it names the default cgroup and the session keyring. */
const DEFAULT_ID = 'plan';

export const plan: Handler<'plan'> = async (opts, [id], ctx) => {
  writeSync(1, renderPlan(await planCreate(ctx, id ?? DEFAULT_ID, opts), opts.format ?? 'text'));
  return 0;
};
