// What every command gets from the global flags.
import type { Flags } from '../cli/parse';
import { defaultRoot } from '../container/store';

export interface Context {
  root: string;
  systemdCgroup: boolean;
  flags: Flags;
  args: string[];
}

export function makeContext(global: Flags, flags: Flags, args: string[]): Context {
  return {
    root: typeof global.root === 'string' ? global.root : defaultRoot(),
    systemdCgroup: global['systemd-cgroup'] === true,
    flags,
    args,
  };
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
