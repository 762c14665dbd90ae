// argv → global options, a command and its options, driven by the table. runc's rules: global flags come
// before the command; `--flag value` and `--flag=value`; `-x value`; `--` ends the flags.
import { COMMANDS, GLOBAL_FLAGS, type CommandSpec, type FlagSpec } from './table';
import { UserError } from '../errors';

export type FlagValue = string | number | boolean | string[];
export type Flags = Record<string, FlagValue>;

export interface Parsed {
  global: Flags;
  command?: CommandSpec;
  flags: Flags;
  args: string[];
}

/** A usage mistake: exit status 1 (runc's), message names the argument. */
export class UsageError extends UserError {}

function findFlag(specs: FlagSpec[], arg: string): { spec: FlagSpec; inline?: string } | undefined {
  let name: string;
  let inline: string | undefined;
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (eq >= 0) inline = arg.slice(eq + 1);
    const spec = specs.find((f) => f.name === name);
    return spec && { spec, inline };
  }
  // -x, -x=value, and runc's single-dash long form -bundle
  const eq = arg.indexOf('=');
  name = eq < 0 ? arg.slice(1) : arg.slice(1, eq);
  if (eq >= 0) inline = arg.slice(eq + 1);
  const spec = specs.find((f) => f.short === name || f.name === name);
  return spec && { spec, inline };
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
    if (!/^\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for --${spec.name}: must be a non-negative integer`);
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
function parseFlags(argv: string[], start: number, specs: FlagSpec[], mode: Positionals, into: Flags, positional: string[]): number {
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

export function parseArgv(argv: string[]): Parsed {
  const global: Flags = {};
  const flags: Flags = {};
  const args: string[] = [];
  const i = parseFlags(argv, 0, GLOBAL_FLAGS, 'global', global, args);
  if (i >= argv.length) return { global, flags, args };
  const name = argv[i]!;
  if (name === 'help') return helpCommand(global, argv[i + 1]);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}" (see runt --help)`);
  const specs = [...command.flags, { name: 'help', short: 'h', type: 'bool', describe: 'show help' } as FlagSpec];
  parseFlags(argv, i + 1, specs, command.stopAtPositional ? 'stop' : 'mixed', flags, args);
  if (!flags.help) checkArgCount(command, args);
  return { global, command, flags, args };
}

/** `help [COMMAND]`, as runc's: the general help, that command's help, or runc's error for an unknown one. */
function helpCommand(global: Flags, topic: string | undefined): Parsed {
  if (topic === undefined || topic === 'help') return { global: { ...global, help: true }, flags: {}, args: [] };
  const command = COMMANDS.find((c) => c.name === topic);
  if (!command) throw new UsageError(`No help topic for '${topic}'`);
  return { global, command, flags: { help: true }, args: [] };
}

function checkArgCount(command: CommandSpec, args: string[]): void {
  const required = command.args.filter((a) => a.startsWith('<')).length;
  const rest = command.args.some((a) => /\.\.\.[\]>]?$/.test(a)); // 'x...', '[x...]', '<x...>'
  const max = rest ? Infinity : command.args.length;
  if (args.length >= required && args.length <= max) return;
  const want = required === max ? `exactly ${required}` : args.length < required ? `at least ${required}` : `at most ${max}`;
  throw new UsageError(`"${command.name}" requires ${want} argument(s)`);
}

export function helpText(command?: CommandSpec): string {
  const flagLines = (specs: FlagSpec[]): string =>
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
