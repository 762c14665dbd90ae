// Command name → its adapter. A module loads on use, so `state` never pays for what `create` needs: each
// dynamic import is a split point of the build (scripts/build.mjs), whose chunks a call loads only when it
// imports them. The table's type checks each adapter against its command's options.
import type { CommandName } from '../cli/table';
import type { Handler } from './context';

export const HANDLERS: { readonly [N in CommandName]: () => Promise<Handler<N>> } = {
  create: async () => (await import('./create')).create,
  plan: async () => (await import('./plan')).plan,
  start: async () => (await import('./start')).start,
  state: async () => (await import('./state')).state,
  kill: async () => (await import('./kill')).kill,
  delete: async () => (await import('./delete')).del,
  run: async () => (await import('./run')).run,
  list: async () => (await import('./list')).list,
  spec: async () => (await import('./spec')).spec,
  features: async () => (await import('./features')).features,
  exec: async () => (await import('./exec')).exec,
  update: async () => (await import('./update')).update,
  pause: async () => (await import('./pause')).pause,
  resume: async () => (await import('./pause')).resume,
  ps: async () => (await import('./ps')).ps,
  events: async () => (await import('./events')).events,
  checkpoint: async () => (await import('./checkpoint')).checkpoint,
  restore: async () => (await import('./restore')).restore,
};
