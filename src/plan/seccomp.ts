// config-linux.md "Seccomp": linux.seccomp → the steps that build a libseccomp filter in the child and load
// it. Actions, flags, operators and architectures become numbers here (the kernel's SECCOMP_RET_*,
// SECCOMP_FILTER_FLAG_* and AUDIT_ARCH_*, libseccomp's scmp_compare); syscall names go as names, since
// libseccomp resolves them for each architecture of the filter.
import type { Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFlag, LinuxSeccompOperator } from '../spec/generated/types';
import { ARCH_SYSCALL_TABLE, SYSCALL_NAMES, SYSCALL_TABLES } from './generated/syscalls';
import { ConfigError, step, type Step } from './types';
import { releaseAtLeast } from '../sys/kernel';

/** SECCOMP_RET_* (libseccomp's SCMP_ACT_* are these); ERRNO and TRACE carry 16 bits of data. */
export const SECCOMP_ACTIONS: Record<LinuxSeccompAction, number> = {
  SCMP_ACT_KILL: 0x00000000, // the thread, as in libseccomp
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const ACTIONS_WITH_ERRNO = new Set<LinuxSeccompAction>(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);
const EPERM = 1;
const ENOSYS = 38;
/** Default actions that let a syscall run (or leave it to a tracer, which handles new ones itself): no ENOSYS stub. */
const LETS_THROUGH = new Set<LinuxSeccompAction>(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']);

/** libseccomp's enum scmp_compare. */
export const SECCOMP_OPERATORS: Record<LinuxSeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** SECCOMP_FILTER_FLAG_*, with the first kernel that has each (the others predate any kernel runt runs on). */
export const SECCOMP_FLAGS: Record<LinuxSeccompFlag, { value: number; since?: [number, number] }> = {
  SECCOMP_FILTER_FLAG_TSYNC: { value: 1 },
  SECCOMP_FILTER_FLAG_LOG: { value: 2 },
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: { value: 4 },
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: { value: 32, since: [5, 19] },
};
const FLAG_NEW_LISTENER = 8;
/** TSYNC with a listener: the kernel refuses the pair unless a failed sync is ESRCH rather than a thread id. */
const FLAG_TSYNC_ESRCH = 16;

/** The flags the kernel of `release` (uname -r) has. */
export function supportedSeccompFlags(release: string): LinuxSeccompFlag[] {
  return (Object.keys(SECCOMP_FLAGS) as LinuxSeccompFlag[]).filter((flag) => {
    const since = SECCOMP_FLAGS[flag].since;
    return !since || releaseAtLeast(release, since[0], since[1]);
  });
}

/** AUDIT_ARCH_* (libseccomp's SCMP_ARCH_* tokens) of the architectures libseccomp 2.5 knows. */
export const SECCOMP_ARCHS: Partial<Record<Arch, number>> = {
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X32: 0x4000003e,
  SCMP_ARCH_ARM: 0x40000028,
  SCMP_ARCH_AARCH64: 0xc00000b7,
  SCMP_ARCH_MIPS: 0x00000008,
  SCMP_ARCH_MIPS64: 0x80000008,
  SCMP_ARCH_MIPS64N32: 0xa0000008,
  SCMP_ARCH_MIPSEL: 0x40000008,
  SCMP_ARCH_MIPSEL64: 0xc0000008,
  SCMP_ARCH_MIPSEL64N32: 0xe0000008,
  SCMP_ARCH_PPC: 0x00000014,
  SCMP_ARCH_PPC64: 0x80000015,
  SCMP_ARCH_PPC64LE: 0xc0000015,
  SCMP_ARCH_S390: 0x00000016,
  SCMP_ARCH_S390X: 0x80000016,
  SCMP_ARCH_PARISC: 0x0000000f,
  SCMP_ARCH_PARISC64: 0x8000000f,
  SCMP_ARCH_RISCV64: 0xc00000f3,
};

/** The architecture of this runtime, and of its shim: the native one, in every filter (node's process.arch names). */
const NATIVE_ARCHS: Record<string, Arch> = {
  x64: 'SCMP_ARCH_X86_64',
  ia32: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips: 'SCMP_ARCH_MIPS',
  mipsel: 'SCMP_ARCH_MIPSEL',
};
export const NATIVE_SECCOMP_ARCH: Arch | undefined = NATIVE_ARCHS[process.arch];

/** libseccomp's SCMP_FLTATR_CTL_OPTIMIZE: 2 is a binary tree over the syscalls, worth it for long lists. */
const OPTIMIZE_PRIORITY = 1;
const OPTIMIZE_BINARY_TREE = 2;
/** As runc: libseccomp up to 2.5.4 misbehaves with a binary tree over very few rules. */
const BINARY_TREE_FROM = 32;

/** Syscall arguments are six registers. */
const SYSCALL_ARGS = 6;

export interface SeccompSteps {
  /** Child steps before the credentials change: the filter built, and loaded there unless `beforeExec` does it. */
  beforeCredentials: Step[];
  /** Child steps right before EXEC: the load, when no_new_privs lets an unprivileged process load a filter. */
  beforeExec: Step[];
}

const FIELD = 'linux.seccomp';

/** table[key] for the table's own keys only: the config went through the schema, but a key like "constructor" must not pass. */
function lookup<K extends string, V>(table: Partial<Record<K, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key as K] : undefined;
}

function actionValue(action: LinuxSeccompAction, errnoRet: number | undefined, field: string, errnoField: string): number {
  const base = lookup(SECCOMP_ACTIONS, action);
  if (base === undefined) throw new ConfigError(`${field}: unknown action "${action}"`);
  if (!ACTIONS_WITH_ERRNO.has(action)) {
    if (errnoRet !== undefined) throw new ConfigError(`${errnoField}: ${action} takes no errno`);
    return base;
  }
  const data = errnoRet ?? EPERM;
  if (!Number.isInteger(data) || data < 0 || data > 0xffff) throw new ConfigError(`${errnoField}: must be 0 to 65535, got ${data}`);
  return base + data;
}

/** A uint64 from JSON, where values past 2^53 arrive rounded: 2^64-1 arrives as 2^64 and means the maximum. */
function u64(value: number | undefined, field: string): bigint {
  if (value === undefined) return 0n;
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`${field}: must be an unsigned 64-bit integer, got ${value}`);
  const big = BigInt(value);
  return big >= 1n << 64n ? (1n << 64n) - 1n : big;
}

/** One condition: index, operator, value, valueTwo (MASKED_EQ's datum; the mask is value). */
function condition(arg: LinuxSeccompArg, field: string): [number, number, bigint, bigint] {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index >= SYSCALL_ARGS) {
    throw new ConfigError(`${field}.index: must be 0 to ${SYSCALL_ARGS - 1}, got ${arg.index}`);
  }
  const op = lookup(SECCOMP_OPERATORS, arg.op);
  if (op === undefined) throw new ConfigError(`${field}.op: unknown operator "${arg.op}"`);
  return [arg.index, op, u64(arg.value, `${field}.value`), u64(arg.valueTwo, `${field}.valueTwo`)];
}

/** The container process state (config-linux.md) that goes to the listener with the notify fd. */
function processState(seccomp: LinuxSeccomp, stateJson: string): string {
  const state = JSON.parse(stateJson) as { ociVersion: string; pid: number };
  const metadata = seccomp.listenerMetadata === undefined ? {} : { metadata: seccomp.listenerMetadata };
  return JSON.stringify({ ociVersion: state.ociVersion, fds: ['seccompFd'], pid: state.pid, ...metadata, state });
}

function ruleSteps(seccomp: LinuxSeccomp, defaultAction: number): Step[] {
  const steps: Step[] = [];
  (seccomp.syscalls ?? []).forEach((sc, i) => {
    const field = `${FIELD}.syscalls[${i}]`;
    const action = actionValue(sc.action, sc.errnoRet, `${field}.action`, `${field}.errnoRet`);
    const conds = (sc.args ?? []).map((a, j) => condition(a, `${field}.args[${j}]`));
    // two conditions on one argument cannot both hold in one libseccomp rule: each is a rule of its own (runc's way)
    const sameArgTwice = new Set(conds.map((c) => c[0])).size < conds.length;
    const groups = sameArgTwice ? conds.map((c) => [c]) : [conds];
    sc.names.forEach((name, k) => {
      if (!/^[a-z0-9_]+$/.test(name)) throw new ConfigError(`${field}.names[${k}]: "${name}" is not a syscall name`);
      if (sc.action === 'SCMP_ACT_NOTIFY' && name === 'sendmsg') {
        // the filter is in force when the shim sends the notify fd with sendmsg: the listener would wait for itself
        throw new ConfigError(`${field}.names[${k}]: SCMP_ACT_NOTIFY cannot be used for sendmsg (runt sends the seccomp fd with it)`);
      }
      // libseccomp refuses a rule that repeats the default action; such a rule changes nothing (runc skips it too)
      if (action === defaultAction) return;
      for (const group of groups) steps.push(step('SECCOMP_RULE', [action, name, ...group.flat()], field));
    });
  });
  return steps;
}

/** Each syscall's number on `arch` (from the libseccomp tables, src/plan/generated/syscalls.ts), undefined for an unknown arch. */
function syscallNumbers(arch: Arch): Map<string, number> | undefined {
  const table = ARCH_SYSCALL_TABLE[arch];
  if (table === undefined) return undefined;
  const numbers = SYSCALL_TABLES[table]!.split(',');
  const out = new Map<string, number>();
  SYSCALL_NAMES.forEach((name, i) => {
    if (numbers[i]) out.set(name, parseInt(numbers[i]!, 36));
  });
  return out;
}

/**
 * The ENOSYS stub (runc's patchbpf): a syscall newer than the profile, one it cannot have meant to refuse,
 * fails with ENOSYS, as on a kernel without it, so that libc falls back to an older call (glibc's clone3 →
 * clone, faccessat2 → faccessat) instead of failing with the default action's EPERM. Newer means numbered
 * above the highest syscall the profile names, on an architecture of the filter (the native one and
 * `architectures`; one naming none of its syscalls is left out, as in runc); a syscall the profile names
 * itself keeps its rules. Numbers are libseccomp's, so that a name means what the shim's libseccomp makes of
 * it. A libseccomp rule names a syscall on every architecture of the filter, so one that is newer on any of
 * them gets ENOSYS on all (a choice between two refusals: the default action's errno or ENOSYS). Syscalls
 * libseccomp does not know (newer than it) cannot be named in a rule and keep the default action. No stub
 * where the default action lets syscalls through or already is ENOSYS.
 */
export function enosysSyscalls(seccomp: LinuxSeccomp, nativeArch: Arch | undefined = NATIVE_SECCOMP_ARCH): string[] {
  if (LETS_THROUGH.has(seccomp.defaultAction)) return [];
  if (seccomp.defaultAction === 'SCMP_ACT_ERRNO' && seccomp.defaultErrnoRet === ENOSYS) return [];
  const named = new Set((seccomp.syscalls ?? []).flatMap((sc) => sc.names));
  const archs = new Set([...(nativeArch ? [nativeArch] : []), ...(seccomp.architectures ?? [])]);
  const newer = new Set<string>();
  for (const arch of archs) {
    const numbers = syscallNumbers(arch);
    if (!numbers) continue;
    const last = Math.max(-1, ...[...named].map((n) => numbers.get(n) ?? -1));
    if (last < 0) continue;
    for (const [name, nr] of numbers) if (nr > last && !named.has(name)) newer.add(name);
  }
  return [...newer].sort();
}

interface Filter {
  /** SECCOMP_INIT, SECCOMP_ARCH and SECCOMP_RULE steps. */
  build: Step[];
  /** For SECCOMP_LOAD. */
  flags: number;
  /** Some rule notifies a listener. */
  notify: boolean;
}

/** Every check of linux.seccomp, and the steps that build the filter. */
function compileFilter(seccomp: LinuxSeccomp): Filter {
  const notify = seccomp.defaultAction === 'SCMP_ACT_NOTIFY' || (seccomp.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY');
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath) throw new ConfigError(`${FIELD}.listenerMetadata: needs listenerPath`);
  if (notify && !seccomp.listenerPath) throw new ConfigError(`${FIELD}.listenerPath: is required with SCMP_ACT_NOTIFY`);
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY') {
    // the shim's own syscalls after the load, sendmsg among them, would wait for a listener that has no fd yet
    throw new ConfigError(`${FIELD}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action`);
  }
  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, `${FIELD}.defaultAction`, `${FIELD}.defaultErrnoRet`);
  const enosys = SECCOMP_ACTIONS.SCMP_ACT_ERRNO + ENOSYS;
  const stub = enosysSyscalls(seccomp).map((name) => step('SECCOMP_RULE', [enosys, name], FIELD));
  const rules = [...ruleSteps(seccomp, defaultAction), ...stub];
  const optimize = rules.length > BINARY_TREE_FROM ? OPTIMIZE_BINARY_TREE : OPTIMIZE_PRIORITY;
  const build = [step('SECCOMP_INIT', [defaultAction, optimize], `${FIELD}.defaultAction`)];
  (seccomp.architectures ?? []).forEach((arch, i) => {
    const token = lookup(SECCOMP_ARCHS, arch);
    if (token === undefined) throw new ConfigError(`${FIELD}.architectures[${i}]: ${arch} is not supported by runt (libseccomp 2.5)`);
    build.push(step('SECCOMP_ARCH', [token], `${FIELD}.architectures[${i}]`));
  });
  build.push(...rules);

  let flags = 0;
  (seccomp.flags ?? []).forEach((flag, i) => {
    const def = lookup(SECCOMP_FLAGS, flag);
    if (def === undefined) throw new ConfigError(`${FIELD}.flags[${i}]: unknown flag "${flag}"`);
    if (flag === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' && !notify) {
      throw new ConfigError(`${FIELD}.flags[${i}]: ${flag} needs a rule with SCMP_ACT_NOTIFY`);
    }
    flags |= def.value;
  });
  if (notify) flags |= FLAG_NEW_LISTENER | (flags & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC.value ? FLAG_TSYNC_ESRCH : 0);
  return { build, flags, notify };
}

/**
 * The parent's step: the connection to the listener, made before any namespace is joined (the path is the
 * runtime's, like the console socket's). It checks all of linux.seccomp, so mistakes show before the shim starts.
 */
export function seccompListenerSteps(seccomp: LinuxSeccomp | undefined): Step[] {
  if (!seccomp || !compileFilter(seccomp).notify) return [];
  return [step('SECCOMP_LISTENER', [seccomp.listenerPath!], `${FIELD}.listenerPath`)];
}

/**
 * The child's steps. With noNewPrivileges the load comes last, right before execve, when the process has its
 * final identity; without it loading needs CAP_SYS_ADMIN, so it comes before the credentials change (as runc).
 * `stateJson` is the container's state, for the listener.
 */
export function seccompSteps(seccomp: LinuxSeccomp | undefined, noNewPrivileges: boolean, stateJson: string): SeccompSteps {
  if (!seccomp) return { beforeCredentials: [], beforeExec: [] };
  const { build, flags, notify } = compileFilter(seccomp);
  const load = step('SECCOMP_LOAD', notify ? [flags, processState(seccomp, stateJson)] : [flags], FIELD);
  return noNewPrivileges ? { beforeCredentials: build, beforeExec: [load] } : { beforeCredentials: [...build, load], beforeExec: [] };
}
