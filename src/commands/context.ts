// What every adapter gets: its command's typed options, the positional arguments, and the runtime context made
// from the global options.
import type { CommandName, GlobalOptions, OptionsOf } from '../cli/table';
import { defaultRoot } from '../container/store';
import type { RuntimeContext } from '../lifecycle/context';

/** Command N's adapter: typed options in, the library called, the result printed; returns the exit status. */
export type Handler<N extends CommandName> = (options: OptionsOf<N>, args: string[], ctx: RuntimeContext) => number | Promise<number>;

export function runtimeContext(global: GlobalOptions): RuntimeContext {
  return {
    root: global.root ?? defaultRoot(),
    systemdCgroup: global.systemdCgroup,
    // auto (the default): rootless when not root
    rootless: global.rootless === 'true' || (global.rootless !== 'false' && process.geteuid?.() !== 0),
    criu: global.criu ?? 'criu',
  };
}
