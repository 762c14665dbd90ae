// Command name → its adapter. A module loads on use, so `state` never pays for what `create` needs; the
// `typeof import` is a type only, which checks each adapter against its command's options.
import type { CommandName } from '../cli/table';
import type { Handler } from './context';

export const HANDLERS: { readonly [N in CommandName]: () => Handler<N> } = {
  create: () => (require('./create') as typeof import('./create')).create,
  plan: () => (require('./plan') as typeof import('./plan')).plan,
  start: () => (require('./start') as typeof import('./start')).start,
  state: () => (require('./state') as typeof import('./state')).state,
  kill: () => (require('./kill') as typeof import('./kill')).kill,
  delete: () => (require('./delete') as typeof import('./delete')).del,
  run: () => (require('./run') as typeof import('./run')).run,
  list: () => (require('./list') as typeof import('./list')).list,
  spec: () => (require('./spec') as typeof import('./spec')).spec,
  features: () => (require('./features') as typeof import('./features')).features,
  exec: () => (require('./exec') as typeof import('./exec')).exec,
  update: () => (require('./update') as typeof import('./update')).update,
  pause: () => (require('./pause') as typeof import('./pause')).pause,
  resume: () => (require('./pause') as typeof import('./pause')).resume,
  ps: () => (require('./ps') as typeof import('./ps')).ps,
  events: () => (require('./events') as typeof import('./events')).events,
  checkpoint: () => (require('./checkpoint') as typeof import('./checkpoint')).checkpoint,
  restore: () => (require('./restore') as typeof import('./restore')).restore,
};
