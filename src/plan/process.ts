// config.md "Process" and config-linux.md's process parts: rlimits, user, capabilities, no_new_privs, the
// program to run. These steps run in the child after pivot_root, in this order.
import type { LinuxCapabilities, POSIXRlimit, Process } from '../spec/generated/types';
import { CAPABILITIES, RLIMITS } from './linux';
import { ConfigError, step, type Step } from './types';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** Capability names → bit masks. Unknown names are errors; names this kernel lacks are left out with a warning. */
export function capabilityMasks(caps: LinuxCapabilities | undefined, lastCap: number, warn: (msg: string) => void): CapabilityMasks {
  const mask = (set: keyof LinuxCapabilities): bigint => {
    let bits = 0n;
    for (const [i, name] of (caps?.[set] ?? []).entries()) {
      const bit = CAPABILITIES.indexOf(name as (typeof CAPABILITIES)[number]);
      if (bit < 0) throw new ConfigError(`process.capabilities.${set}[${i}]: unknown capability "${name}"`);
      if (bit > lastCap) {
        warn(`process.capabilities.${set}: ${name} is not supported by this kernel; ignored`);
        continue;
      }
      bits |= 1n << BigInt(bit);
    }
    return bits;
  };
  return {
    bounding: mask('bounding'),
    effective: mask('effective'),
    permitted: mask('permitted'),
    inheritable: mask('inheritable'),
    ambient: mask('ambient'),
  };
}

function bits(mask: bigint, lastCap: number, wanted: boolean): number[] {
  const out: number[] = [];
  for (let cap = 0; cap <= lastCap; cap++) if ((((mask >> BigInt(cap)) & 1n) === 1n) === wanted) out.push(cap);
  return out;
}

export function rlimitSteps(rlimits: POSIXRlimit[] | undefined): Step[] {
  const seen = new Set<string>();
  return (rlimits ?? []).map((r, i) => {
    const field = `process.rlimits[${i}]`;
    const resource = RLIMITS.indexOf(r.type as (typeof RLIMITS)[number]);
    if (resource < 0) throw new ConfigError(`${field}.type: unknown rlimit "${r.type}"`);
    if (seen.has(r.type)) throw new ConfigError(`${field}.type: rlimit "${r.type}" is given twice`);
    seen.add(r.type);
    if (r.soft > r.hard) throw new ConfigError(`${field}: soft limit ${r.soft} is above the hard limit ${r.hard}`);
    return step('SETRLIMIT', [resource, limit(r.soft), limit(r.hard)], field);
  });
}

/** RLIM_INFINITY is 2^64-1, which JSON carries only approximately: anything at or past 2^63 means unlimited. */
function limit(value: number): string {
  return value >= 2 ** 63 ? '-1' : BigInt(Math.trunc(value)).toString();
}

export function envValue(env: string[] | undefined, name: string): string | undefined {
  const prefix = `${name}=`;
  for (let i = (env ?? []).length - 1; i >= 0; i--) if (env![i]!.startsWith(prefix)) return env![i]!.slice(prefix.length);
  return undefined;
}

/**
 * env with `add` set: a name already there takes the new value in its place, a new one comes last (runc's
 * os.Setenv per entry, so the last of duplicates wins).
 */
export function setEnv(env: string[] | undefined, add: string[]): string[] {
  const out = [...(env ?? [])];
  for (const entry of add) {
    const name = `${entry.split('=', 1)[0]}=`;
    const at = out.findIndex((e) => e.startsWith(name));
    if (at < 0) out.push(entry);
    else out[at] = entry;
  }
  return out;
}

/**
 * systemd socket activation (sd_listen_fds(3)): the process gets runt's LISTEN_FDS fds from 3 on, and learns
 * of them from LISTEN_FDS and LISTEN_PID (its pid as it sees it, in its own pid namespace).
 */
export function withListenFds(proc: Process, fds: number, pid: number | string): Process {
  return fds === 0 ? proc : { ...proc, env: setEnv(proc.env, [`LISTEN_FDS=${fds}`, `LISTEN_PID=${pid}`]) };
}

/** The program itself: found before `start` (a missing one fails create, as in runc), run by EXEC. */
export function findExecStep(proc: Process): Step {
  const args = proc.args ?? [];
  if (args.length === 0) throw new ConfigError('process.args: must not be empty');
  return step('FIND_EXEC', [args[0]!, envValue(proc.env, 'PATH') ?? DEFAULT_PATH], 'process.args');
}

export function execStep(proc: Process): Step {
  const args = proc.args ?? [];
  return step('EXEC', [args.length, ...args, ...(proc.env ?? [])], 'process.args');
}

/**
 * Identity and privileges, in the order that keeps the needed rights until the last moment: the bounding
 * set first (needs CAP_SETPCAP), ids with keep-caps, then the final capability sets. Where setgroups(2) is
 * denied (a rootless gid map of the caller's own gid) the process keeps the groups it has, and cannot be
 * given additional ones.
 */
export function credentialSteps(proc: Process, lastCap: number, warn: (msg: string) => void, setgroupsDenied = false): Step[] {
  const caps = capabilityMasks(proc.capabilities, lastCap, warn);
  const user = { uid: 0, gid: 0, ...proc.user };
  const steps: Step[] = [];
  const drop = bits(caps.bounding, lastCap, false);
  if (drop.length) steps.push(step('BOUNDING_DROP', drop, 'process.capabilities.bounding'));
  steps.push(step('KEEPCAPS', [1]));
  if (!setgroupsDenied) steps.push(step('SETGROUPS', user.additionalGids ?? [], 'process.user.additionalGids'));
  else if (user.additionalGids?.length) {
    throw new ConfigError(
      "process.user.additionalGids: setgroups is denied in the user namespace (its gid map, the caller's own gid only, was written without newgidmap)",
    );
  }
  steps.push(step('SETRESGID', [user.gid], 'process.user.gid'));
  steps.push(step('SETRESUID', [user.uid], 'process.user.uid'));
  steps.push(step('KEEPCAPS', [0]));
  steps.push(step('CAPSET', [caps.effective, caps.permitted, caps.inheritable], 'process.capabilities'));
  // the kernel raises an ambient capability only if it is permitted and inheritable; config.md asks for a
  // warning, not a failure, for one that cannot be granted
  const grantable = caps.ambient & caps.permitted & caps.inheritable;
  const ungrantable = bits(caps.ambient & ~grantable, lastCap, true);
  if (ungrantable.length) {
    warn(`process.capabilities.ambient: ${ungrantable.map((c) => CAPABILITIES[c]).join(', ')} not in both the permitted and inheritable sets; not raised`);
  }
  const ambient = bits(grantable, lastCap, true);
  if (ambient.length) steps.push(step('AMBIENT_RAISE', ambient, 'process.capabilities.ambient'));
  if (proc.noNewPrivileges) steps.push(step('NO_NEW_PRIVS', [], 'process.noNewPrivileges'));
  if (user.umask !== undefined) steps.push(step('UMASK', [user.umask], 'process.user.umask'));
  return steps;
}

/**
 * The shim closes every fd but stdio, the preserved ones and its own for the later steps, the host's /proc and
 * the root among them: after the last step that needs them (mounts, the terminal, sysctls), before the first
 * that looks up a path of the image's (the cwd, the program: CVE-2024-21626) and before the user's seccomp
 * filter (runt's own calls never depend on what it allows).
 */
export function closeFdsStep(preserveFds: number): Step {
  return step('CLOSE_FDS', [3 + preserveFds]);
}

/**
 * HOME from the container's /etc/passwd for the process's uid ("/" without one) when its env has none, as runc
 * and crun set it (Docker leaves it out of the config and relies on that). Read by the shim inside the root,
 * as root, before the user's seccomp filter and identity.
 */
export function homeSteps(proc: Process): Step[] {
  if ((proc.env ?? []).some((e) => e.startsWith('HOME='))) return [];
  // "/" where the container's /etc/passwd has no home for the uid, as runc's user lookup defaults it
  return [step('PASSWD_HOME', [proc.user?.uid ?? 0, '/'], 'process.env')];
}

export function cwdStep(proc: Process): Step {
  if (!proc.cwd.startsWith('/')) throw new ConfigError(`process.cwd: must be an absolute path, got "${proc.cwd}"`);
  return step('CHDIR', [proc.cwd], 'process.cwd');
}
