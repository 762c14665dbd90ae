// What every command gets from the global flags.
import type { Flags } from '../cli/parse';
import { defaultRoot } from '../container/store';

export interface Context {
  root: string;
  systemdCgroup: boolean;
  /**
   * --rootless: the runtime has no privileges outside the container's user namespace (id maps through
   * newuidmap/newgidmap, no cgroup unless one is delegated). auto (the default): when not root.
   */
  rootless: boolean;
  /** --criu: the CRIU binary for checkpoint and restore (default: criu from PATH). */
  criu: string;
  flags: Flags;
  args: string[];
}

export function makeContext(global: Flags, flags: Flags, args: string[]): Context {
  return {
    root: typeof global.root === 'string' ? global.root : defaultRoot(),
    systemdCgroup: global['systemd-cgroup'] === true,
    rootless: global.rootless === 'true' || (global.rootless !== 'false' && process.geteuid?.() !== 0),
    criu: typeof global.criu === 'string' ? global.criu : 'criu',
    flags,
    args,
  };
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function intFlag(flags: Flags, name: string): number {
  const v = flags[name];
  return typeof v === 'number' ? v : 0;
}
