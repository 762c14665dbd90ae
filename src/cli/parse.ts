// argv → global options, a command and its options, driven by the table. runc's rules: global flags come
// before the command; `--flag value` and `--flag=value`; `-x value`; `--` ends the flags. The options come out
// typed (src/cli/table.ts OptionsOf): one key per flag, camelCased, with its value or its absent value.
// Every call runs this once, so it is written with plain loops: JavaScriptCore compiles each builtin written
// in JavaScript (Array.prototype.find, filter, map, Object.fromEntries, a replace with a function...) from
// source at its first use in a process, 0.05-0.5 ms apiece (the first parse cost 1.2 ms, the second 0.05).
import { COMMANDS, GLOBAL_FLAGS, optionKey, type CommandName, type CommandSpec, type FlagSpec, type GlobalOptions, type OptionsOf } from './table';
import { UserError } from '../errors';

type FlagValue = string | number | boolean | string[];
/** Flag name → value, for the flags given. */
type Given = Record<string, FlagValue>;

/** A command to run: its name, its entry in the table and its options, typed together. */
export type Invocation<N extends CommandName = CommandName> = { [K in N]: { name: K; spec: CommandSpec; options: OptionsOf<K> } }[N];

export interface Parsed {
  global: GlobalOptions;
  command?: Invocation;
  /** The command's --help, or `help COMMAND`. */
  help: boolean;
  args: string[];
}

/** A usage mistake: exit status 1 (runc's), message names the argument. */
export class UsageError extends UserError {}

function findFlag(specs: readonly FlagSpec[], arg: string): { spec: FlagSpec; inline?: string } | undefined {
  // --name, --name=value; -x, -x=value, and runc's single-dash long form -bundle
  const long = arg.startsWith('--');
  const eq = arg.indexOf('=');
  const name = arg.slice(long ? 2 : 1, eq < 0 ? undefined : eq);
  const inline = eq < 0 ? undefined : arg.slice(eq + 1);
  for (const spec of specs) if (spec.name === name || (!long && spec.short === name)) return { spec, inline };
  return undefined;
}

/**
 * Whether `text` is one or more decimal digits. A loop rather than /^\d+$/: a call's first regular expression
 * costs it ~0.4 ms (the engine's regexp machinery starts), and kill's signal number is read on its every call.
 */
export function isDigits(text: string): boolean {
  let digits = text.length > 0;
  for (let i = 0; digits && i < text.length; i++) digits = text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39;
  return digits;
}

function flagValue(spec: FlagSpec, inline: string | undefined, next: () => string | undefined): FlagValue {
  if (spec.type === 'bool') {
    if (inline === undefined) return true;
    if (inline === 'true' || inline === 'false') return inline === 'true';
    throw new UsageError(`invalid boolean value "${inline}" for --${spec.name}`);
  }
  const value = inline ?? next();
  if (value === undefined) throw new UsageError(`flag needs an argument: --${spec.name}`);
  if (spec.type === 'int') {
    if (!isDigits(value)) throw new UsageError(`invalid value "${value}" for --${spec.name}: must be a non-negative integer`);
    return Number(value);
  }
  if (spec.choices && !spec.choices.includes(value)) {
    throw new UsageError(`invalid value "${value}" for --${spec.name}: must be one of ${spec.choices.join(', ')}`);
  }
  return value;
}

/**
 * How positional arguments end flag parsing: `global` returns at the first one (the command name),
 * `stop` takes no flags after it (exec's command line), `mixed` takes flags anywhere.
 */
type Positionals = 'global' | 'stop' | 'mixed';

/** Parses flags from argv[start...]; returns the index where parsing stopped. */
function parseFlags(argv: string[], start: number, specs: readonly FlagSpec[], mode: Positionals, into: Given, positional: string[]): number {
  let i = start;
  let flagsDone = false;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!flagsDone && arg === '--') {
      flagsDone = true;
      i++;
      continue;
    }
    if (!flagsDone && arg.startsWith('-') && arg !== '-') {
      const found = findFlag(specs, arg);
      if (!found) throw new UsageError(`flag provided but not defined: ${arg.split('=')[0]}`);
      const value = flagValue(found.spec, found.inline, () => argv[++i]);
      const prev = into[found.spec.name];
      into[found.spec.name] = found.spec.type === 'strings' ? [...(Array.isArray(prev) ? prev : []), value as string] : value;
      i++;
      continue;
    }
    if (mode === 'global') return i;
    positional.push(arg);
    i++;
    if (mode === 'stop') flagsDone = true;
  }
  return i;
}

/** What a flag is when not given: false, 0 (undefined for an optional bool or int), [] or undefined. */
function absentValue(spec: FlagSpec): FlagValue | undefined {
  if (spec.optional) return undefined;
  if (spec.type === 'bool') return false;
  if (spec.type === 'int') return 0;
  return spec.type === 'strings' ? [] : undefined;
}

/** The given flags as the options OptionsFrom<specs> describes: every flag with an effect, under its option key. */
function toOptions(specs: readonly FlagSpec[], given: Given): Record<string, FlagValue | undefined> {
  const options: Record<string, FlagValue | undefined> = {};
  for (const f of specs) if (!f.ignored) options[optionKey(f.name)] = given[f.name] ?? absentValue(f);
  return options;
}

const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', type: 'bool', describe: 'show help' };

function invocation(command: CommandSpec, given: Given): Invocation {
  return { name: command.name, spec: command, options: toOptions(command.flags, given) } as Invocation;
}

function findCommand(name: string): CommandSpec | undefined {
  for (const command of COMMANDS as readonly CommandSpec[]) if (command.name === name) return command;
  return undefined;
}

export function parseArgv(argv: string[]): Parsed {
  const globalGiven: Given = {};
  const given: Given = {};
  const args: string[] = [];
  const i = parseFlags(argv, 0, GLOBAL_FLAGS, 'global', globalGiven, args);
  const global = toOptions(GLOBAL_FLAGS, globalGiven) as GlobalOptions;
  if (i >= argv.length) return { global, help: false, args };
  const name = argv[i]!;
  if (name === 'help') return helpCommand(global, argv[i + 1]);
  const command = findCommand(name);
  if (!command) throw new UsageError(`unknown command "${name}" (see runt --help)`);
  parseFlags(argv, i + 1, [...command.flags, HELP_FLAG], command.stopAtPositional ? 'stop' : 'mixed', given, args);
  const help = given.help === true;
  if (!help) checkArgCount(command, args);
  return { global, command: invocation(command, given), help, args };
}

/** `help [COMMAND]`, as runc's: the general help, that command's help, or runc's error for an unknown one. */
function helpCommand(global: GlobalOptions, topic: string | undefined): Parsed {
  if (topic === undefined || topic === 'help') return { global: { ...global, help: true }, help: false, args: [] };
  const command = findCommand(topic);
  if (!command) throw new UsageError(`No help topic for '${topic}'`);
  return { global, command: invocation(command, {}), help: true, args: [] };
}

function checkArgCount(command: CommandSpec, args: string[]): void {
  let required = 0;
  let rest = false;
  for (const a of command.args) {
    if (a.startsWith('<')) required++;
    if (a.endsWith('...') || a.endsWith('...]') || a.endsWith('...>')) rest = true; // 'x...', '[x...]', '<x...>'
  }
  const max = rest ? Infinity : command.args.length;
  if (args.length >= required && args.length <= max) return;
  const want = required === max ? `exactly ${required}` : args.length < required ? `at least ${required}` : `at most ${max}`;
  throw new UsageError(`"${command.name}" requires ${want} argument(s)`);
}

export function helpText(command?: CommandSpec): string {
  const flagLines = (specs: readonly FlagSpec[]): string =>
    specs
      .map((f) => {
        const names = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '' : ` ${f.choices ? f.choices.join('|') : f.type === 'int' ? 'N' : 'VALUE'}`}`;
        return `  ${names.padEnd(34)} ${f.describe}`;
      })
      .join('\n');
  if (command) {
    return (
      `usage: runt [global options] ${command.name} [options] ${command.args.join(' ')}\n\n${command.describe}\n` +
      (command.flags.length ? `\noptions:\n${flagLines(command.flags)}\n` : '')
    );
  }
  const cmds = [...COMMANDS, { name: 'help', describe: "show the commands, or one command's help" }]
    .map((c) => `  ${c.name.padEnd(10)} ${c.describe}`)
    .join('\n');
  return (
    `runt: an OCI container runtime\n\nusage: runt [global options] COMMAND [options] [arguments]\n\ncommands:\n${cmds}\n\n` +
    `global options:\n${flagLines(GLOBAL_FLAGS)}\n\nA command's options and arguments: runt help COMMAND, or runt COMMAND --help.\n`
  );
}
