// `runt plan`'s output: create's plan (src/plan/container.ts) as JSON, each step as the shim or the runtime
// takes it, or as text, one step a line with its arguments made readable (flags and capabilities by name, the
// seccomp rules summed up, the hooks' state left out) and `# field`, the config field it comes from.
import type { PlannedContainer } from './container';
import { CAPABILITIES, CLONE, DEVICE_TYPE_BITS, MS, RLIMITS, S_IFMT } from './linux';
import { MOUNT_ATTR } from './mounts';
import { SECCOMP_ACTIONS, SECCOMP_ARCHS, SECCOMP_FLAGS } from './seccomp';
import type { Arg, Step } from './types';
import { errnoName } from '../errors';

/** JSON has no 64-bit integers: a capability mask or a seccomp value (bigint) goes as its decimal string. */
const bigintAsString = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

/** Steps as one line of JSON: `create --debug` logs what it carries out and what it sends the shim so. */
export function stepsJson(steps: Step[]): string {
  return JSON.stringify(steps, bigintAsString);
}

/** Names of the bits set in `value` ("0" for none); bits without a name stay as hex. */
function flagNames(value: number | bigint, names: [bigint, string][]): string {
  let left = BigInt(value);
  const out: string[] = [];
  for (const [bit, name] of names) {
    if (bit !== 0n && (left & bit) === bit) {
      out.push(name);
      left &= ~bit;
    }
  }
  if (left) out.push(`0x${left.toString(16)}`);
  return out.join('|') || '0';
}

const table = (entries: [string, number][]): [bigint, string][] => entries.map(([name, bit]) => [BigInt(bit), name]);
const CLONE_NAMES = table(Object.entries(CLONE).map(([key, bit]) => [`CLONE_${key.toUpperCase()}`, bit]));
const MS_NAMES = table(Object.entries(MS).map(([key, bit]) => [key === 'iversion' ? 'MS_I_VERSION' : `MS_${key.toUpperCase()}`, bit]));
/** The mount_setattr attributes that are bits (the atime ones are values of a field: see attributes). */
const ATTR_NAMES = table(
  (['rdonly', 'nosuid', 'nodev', 'noexec', 'nodiratime', 'nosymfollow'] as const).map((key) => [`MOUNT_ATTR_${key.toUpperCase()}`, MOUNT_ATTR[key]]),
);
const ATIME_VALUES: Record<number, string> = {
  [MOUNT_ATTR.relatime]: 'MOUNT_ATTR_RELATIME',
  [MOUNT_ATTR.noatime]: 'MOUNT_ATTR_NOATIME',
  [MOUNT_ATTR.strictatime]: 'MOUNT_ATTR_STRICTATIME',
};
const SECCOMP_FLAG_NAMES = table([
  ...Object.entries(SECCOMP_FLAGS).map(([name, f]): [string, number] => [name, f.value]),
  ['SECCOMP_FILTER_FLAG_NEW_LISTENER', 8],
  ['SECCOMP_FILTER_FLAG_TSYNC_ESRCH', 16],
]);
const KEY_PERM_NAMES = table([
  ['KEY_USR_SEARCH', 0x80000],
  ['KEY_OTH_SEARCH', 0x8],
]);

/** (set, clear) of mount_setattr: the atime field is a value in `set`, taken only where `clear` has the field. */
function attributes(set: number, clear: number): string[] {
  const atime = clear & MOUNT_ATTR.atimeMask;
  const setNames = [flagNames(set & ~MOUNT_ATTR.atimeMask, ATTR_NAMES), ...(atime ? [ATIME_VALUES[set & MOUNT_ATTR.atimeMask] ?? '?'] : [])].filter(
    (n) => n !== '0',
  );
  const clearNames = [flagNames(clear & ~MOUNT_ATTR.atimeMask, ATTR_NAMES), ...(atime ? ['MOUNT_ATTR__ATIME'] : [])].filter((n) => n !== '0');
  return [...(setNames.length ? [`set=${setNames.join('|')}`] : []), ...(clearNames.length ? [`clear=${clearNames.join('|')}`] : [])];
}

function seccompAction(value: Arg): string {
  const v = Number(value) >>> 0;
  const high = (v & 0xffff0000) >>> 0;
  const name = Object.entries(SECCOMP_ACTIONS).find(([, base]) => base >>> 0 === high)?.[0] ?? `0x${v.toString(16)}`;
  const data = v & 0xffff;
  if (name === 'SCMP_ACT_ERRNO') return `${name}(${errnoName(data) ?? data})`;
  return name === 'SCMP_ACT_TRACE' ? `${name}(${data})` : name;
}

const capNames = (caps: Arg[]): string => caps.map((c) => CAPABILITIES[Number(c)] ?? String(c)).join(',') || 'none';
const capMask = (mask: Arg): string => capNames(CAPABILITIES.flatMap((_, i) => ((BigInt(mask) >> BigInt(i)) & 1n ? [i] : [])));

/** An argument as the shell would need it: quoted when empty or holding blanks, quotes or control characters. */
function word(arg: Arg): string {
  const s = String(arg);
  return s === '' || /[\s"'\\]|[^\x20-\x7e]/.test(s) ? JSON.stringify(s) : s;
}

const list = (args: Arg[]): string => `[${args.map(word).join(' ')}]`;
const extras = (x: Arg): string[] =>
  x === '' ? [] : [`extras=${String(x).replace(/prop=(\d+)/g, (_m, n: string) => `prop=${flagNames(Number(n), MS_NAMES)}`)}`];
const rlimit = (v: Arg): string => (String(v) === '-1' ? 'unlimited' : String(v));

/** Each op's arguments, readable; an op not here shows its arguments as they are. */
const ARGS: Record<string, (a: Arg[]) => string[]> = {
  CLONE: ([flags]) => [flagNames(Number(flags), CLONE_NAMES)],
  UNSHARE: ([flags]) => [flagNames(Number(flags), CLONE_NAMES)],
  SETNS: ([path, nstype]) => [word(path!), flagNames(Number(nstype), CLONE_NAMES)],
  IDMAP_TREE: ([source, rec, ridmap, uid, gid]) => [
    word(source!),
    ...(Number(rec) ? ['AT_RECURSIVE'] : []),
    ...(Number(ridmap) ? ['idmap=recursive'] : []),
    `uid_map=${word(String(uid).trim().replace(/\n/g, ', '))}`,
    `gid_map=${word(String(gid).trim().replace(/\n/g, ', '))}`,
  ],
  MOUNT: ([source, target, fstype, flags, data, create, x = '']) => [
    word(source!),
    'on',
    word(target!),
    'type',
    word(fstype!),
    flagNames(Number(flags), MS_NAMES),
    ...(data === '' ? [] : [`data=${word(data!)}`]),
    `create=${create}`,
    ...extras(x),
  ],
  MOUNT_PATH: ([source, target, fstype, flags, data]) => [
    ...(source === '' ? [] : [word(source!), 'on']),
    word(target!),
    ...(fstype === '' ? [] : ['type', word(fstype!)]),
    flagNames(Number(flags), MS_NAMES),
    ...(data === '' ? [] : [`data=${word(data!)}`]),
  ],
  BIND: ([source, target, kind, rec, set, clear, recSet, recClear, tree, x = '']) => [
    word(source!),
    'on',
    word(target!),
    `(${kind})`,
    ...(Number(rec) ? ['AT_RECURSIVE'] : []),
    ...attributes(Number(set), Number(clear)),
    ...attributes(Number(recSet), Number(recClear)).map((a) => `recursive-${a}`),
    ...(Number(tree) >= 0 ? [`idmapped-tree=${tree}`] : []),
    ...extras(x),
  ],
  REMOUNT: ([target, flags]) => [word(target!), flagNames(Number(flags), MS_NAMES)],
  PROPAGATE_PARENT: ([path, flags]) => [word(path!), flagNames(Number(flags), MS_NAMES)],
  MKNOD: ([path, mode, major, minor, uid, gid]) => {
    const type = Object.entries(DEVICE_TYPE_BITS).find(([, bits]) => bits === (Number(mode) & S_IFMT))?.[0] ?? '?';
    return [word(path!), type, `0${(Number(mode) & 0o7777).toString(8)}`, `${major}:${minor}`, `uid=${uid}`, `gid=${gid}`];
  },
  JOIN_KEYRING: ([name, bits]) => [word(name!), flagNames(Number(bits), KEY_PERM_NAMES)],
  SETRLIMIT: ([resource, soft, hard]) => [RLIMITS[Number(resource)] ?? String(resource), `soft=${rlimit(soft!)}`, `hard=${rlimit(hard!)}`],
  UMASK: ([mode]) => [`0${Number(mode).toString(8)}`],
  BOUNDING_DROP: (caps) => [capNames(caps)],
  AMBIENT_RAISE: (caps) => [capNames(caps)],
  CAPSET: ([effective, permitted, inheritable]) => [
    `effective=${capMask(effective!)}`,
    `permitted=${capMask(permitted!)}`,
    `inheritable=${capMask(inheritable!)}`,
  ],
  SECCOMP_INIT: ([action, optimize]) => [`default=${seccompAction(action!)}`, Number(optimize) === 2 ? 'optimize=binary-tree' : 'optimize=priority'],
  SECCOMP_ARCH: ([token]) => [Object.entries(SECCOMP_ARCHS).find(([, t]) => t === Number(token))?.[0] ?? String(token)],
  SECCOMP_LOAD: ([flags, state]) => [
    flagNames(Number(flags), SECCOMP_FLAG_NAMES),
    ...(state === undefined ? [] : ['(the notify fd and the state to the listener)']),
  ],
  FIND_EXEC: ([name, path]) => [word(name!), `PATH=${word(path!)}`],
  EXEC: ([nargs, ...rest]) => [list(rest.slice(0, Number(nargs))), `env=${list(rest.slice(Number(nargs)))}`],
  // the last field is the container's state, given on stdin
  HOOK: ([path, timeout, nargs, ...rest]) => [
    word(path!),
    list(rest.slice(0, Number(nargs))),
    `env=${list(rest.slice(Number(nargs), -1))}`,
    ...(Number(timeout) ? [`timeout=${timeout}s`] : []),
  ],
  // the runtime's own ops (src/plan/runtime.ts)
  CGROUP_DEVICE_FILTER: ([dir, insns]) => [word(dir!), `(${insns} BPF instructions)`],
  SYSTEMD_SCOPE: ([unit, slice, manager, pid]) => [word(unit!), `slice=${word(slice!)}`, `manager=${manager}`, `pid=${pid}`],
};

/** One step, readable, without its field. */
function stepText(s: Step): string {
  const args = ARGS[s.op]?.(s.args) ?? s.args.map(word);
  return [s.op, ...args].join(' ');
}

/** A run of SECCOMP_RULE steps as one line: how many rules, for how many syscalls, with which actions. */
function seccompRulesText(rules: Step[]): string {
  const actions = new Map<string, number>();
  for (const r of rules) actions.set(seccompAction(r.args[0]!), (actions.get(seccompAction(r.args[0]!)) ?? 0) + 1);
  const syscalls = new Set(rules.map((r) => r.args[1])).size;
  const tally = [...actions].map(([action, n]) => `${n} ${action}`).join(', ');
  return `SECCOMP_RULE x${rules.length} (${syscalls} syscalls: ${tally})`;
}

const FIELD_COLUMN = 64;

function line(text: string, field: string | undefined): string {
  return `  ${field === undefined ? text : `${text.padEnd(FIELD_COLUMN)}  # ${field}`}\n`;
}

/** The lines of a part of the plan; a run of seccomp rules is one line. */
function sectionText(steps: Step[]): string {
  let out = '';
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.op !== 'SECCOMP_RULE') {
      out += line(stepText(s), s.field);
      continue;
    }
    let end = i;
    while (steps[end + 1]?.op === 'SECCOMP_RULE') end++;
    out += line(seccompRulesText(steps.slice(i, end + 1)), 'linux.seccomp.syscalls');
    i = end;
  }
  return out;
}

/**
 * The plan as text, part after part in the order runt carries them out; the runtime's hooks where the child
 * waits for them, right after its SEND HOOKS.
 */
function planText(plan: PlannedContainer): string {
  const parts: [string, Step[]][] = [];
  const part = (title: string, steps: Step[]): void => {
    if (steps.length) parts.push([title, steps]);
  };
  part('runtime, before it starts the shim:', plan.before);
  part("shim, parent's segment (in runt's namespaces):", plan.parent);
  part('runtime, on the PID (from outside, while the child waits for its segment):', plan.outside);
  const hooksAt = plan.child.findIndex((s) => s.op === 'SEND' && s.args[0] === 'HOOKS') + 1;
  const title = "shim, child's segment (the container's process):";
  if (hooksAt > 0 && plan.hooks.length) {
    part(title, plan.child.slice(0, hooksAt));
    part('runtime, while the child waits (prestart and createRuntime hooks):', plan.hooks);
    part("shim, child's segment, on GO:", plan.child.slice(hooksAt));
  } else {
    part(title, plan.child);
  }
  const note = '# create\'s plan; nothing was made. "<pid>" and "<state>" stand for what create would make.\n';
  return note + parts.map(([t, steps]) => `${t}\n${sectionText(steps)}`).join('');
}

/** The plan as JSON: an object of its parts, each an array of steps {op, args, field}, one step a line. */
function planJson(plan: PlannedContainer): string {
  const parts = Object.entries(plan).map(([name, steps]: [string, Step[]]) => {
    const lines = steps.map((s) => `    ${JSON.stringify(s, bigintAsString)}`).join(',\n');
    return `  ${JSON.stringify(name)}: [${steps.length ? `\n${lines}\n  ` : ''}]`;
  });
  return `{\n${parts.join(',\n')}\n}\n`;
}

export function renderPlan(plan: PlannedContainer, format: 'text' | 'json'): string {
  return format === 'json' ? planJson(plan) : planText(plan);
}
