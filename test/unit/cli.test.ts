import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { helpText, isDigits, parseArgv, UsageError } from '../../src/cli/parse';
import { COMMANDS, flagName, optionKey } from '../../src/cli/table';
import { formatLine } from '../../src/cli/log';
import { optionsOf } from './options';

const RUNT = join(__dirname, '../../build/runt');

t.test('global flags come before the command, both --flag value and --flag=value', async (t) => {
  const p = parseArgv(['--root', '/tmp/r', '--log=/tmp/l', '--log-format', 'json', 'state', 'c1']);
  t.strictSame(p.global, {
    root: '/tmp/r',
    log: '/tmp/l',
    logFormat: 'json',
    debug: false,
    systemdCgroup: false,
    rootless: undefined,
    criu: undefined,
    version: false,
    help: false,
  });
  t.equal(p.command?.name, 'state');
  t.same(p.args, ['c1']);
});

t.test('command flags: long, short, inline, ints and booleans, as typed options', async (t) => {
  const p = parseArgv(['create', '-b', '/b', '--pid-file=/p', '--preserve-fds', '2', '--no-pivot', 'c1']);
  t.strictSame(p.command?.options, {
    bundle: '/b',
    pidFile: '/p',
    consoleSocket: undefined,
    noPivot: true,
    noNewKeyring: false,
    preserveFds: 2,
    dryRun: false,
  });
  t.same(p.args, ['c1']);
  const q = parseArgv(['create', 'c1', '--bundle', '/b']);
  t.match(q.command?.options, { bundle: '/b' }, 'flags after the id are taken too');
  t.strictSame(parseArgv(['delete', '--force=false', 'x']).command?.options, { force: false });
  t.strictSame(parseArgv(['delete', 'x']).command?.options, { force: false }, 'an absent bool is false');
  t.equal(optionsOf('exec', ['--no-new-privs=false', 'x']).noNewPrivs, false);
  t.equal(optionsOf('exec', ['x']).noNewPrivs, undefined, 'an optional bool is undefined when absent');
  t.strictSame(optionsOf('exec', ['x']).env, [], 'a repeatable flag is [] when absent');
});

t.test('each command has one option per flag of its table entry, under the camelCased name; ignored flags none', async (t) => {
  for (const c of COMMANDS) {
    const keys = Object.keys(parseArgv(['help', c.name]).command?.options ?? {});
    const expected = c.flags.filter((f) => !('ignored' in f)).map((f) => optionKey(f.name));
    t.strictSame(keys, expected, c.name);
  }
  t.equal(optionKey('cpu-rt-period'), 'cpuRtPeriod');
  t.equal(flagName('cpuRtPeriod'), 'cpu-rt-period');
  const restore = parseArgv(['restore', '--no-pivot', '--no-subreaper', 'c1']);
  t.notOk(restore.command && 'noPivot' in restore.command.options, "restore's accepted --no-pivot is parsed and has no option");
});

t.test('kill takes an optional signal; runc single-dash long names work', async (t) => {
  t.same(parseArgv(['kill', '--all', 'c1', 'KILL']).args, ['c1', 'KILL']);
  t.same(parseArgv(['kill', 'c1']).args, ['c1']);
  t.match(parseArgv(['create', '-bundle', '/b', 'c1']).command?.options, { bundle: '/b' });
});

t.test('usage errors name the argument', async (t) => {
  t.throws(() => parseArgv(['state']), new UsageError('"state" requires exactly 1 argument(s)'));
  t.throws(() => parseArgv(['state', 'a', 'b']), new UsageError('"state" requires exactly 1 argument(s)'));
  t.throws(() => parseArgv(['kill', 'a', 'b', 'c']), new UsageError('"kill" requires at most 2 argument(s)'));
  t.throws(() => parseArgv(['create', '--bogus', 'c']), new UsageError('flag provided but not defined: --bogus'));
  t.throws(() => parseArgv(['create', '--bundle']), new UsageError('flag needs an argument: --bundle'));
  t.throws(() => parseArgv(['create', '--preserve-fds', 'x', 'c']), /--preserve-fds: must be a non-negative integer/);
  t.throws(() => parseArgv(['--log-format', 'xml', 'state', 'c']), /must be one of text, json/);
  t.throws(() => parseArgv(['frobnicate']), /unknown command "frobnicate"/);
});

t.test('help is generated from the table', async (t) => {
  const text = helpText();
  for (const c of COMMANDS) t.match(text, c.name);
  t.match(helpText(COMMANDS.find((c) => c.name === 'create')), /--console-socket/);
  t.equal(parseArgv(['create', '--help']).help, true, '--help needs no id');
});

t.test("help COMMAND is that command's help; an unknown topic is an error (runc's text)", async (t) => {
  const p = parseArgv(['--root', '/r', 'help', 'state']);
  t.equal(p.command?.name, 'state');
  t.equal(p.help, true);
  t.match(p.global, { root: '/r', help: false });
  t.equal(parseArgv(['help']).global.help, true, 'help alone: the general help');
  t.equal(parseArgv(['help', 'help']).global.help, true, "help's own help is the general help");
  t.throws(() => parseArgv(['help', 'nosuch']), new UsageError("No help topic for 'nosuch'"));
  t.match(helpText(), /\n {2}help {7}show the commands, or one command's help\n/, 'help is listed as a command');
  t.match(helpText(), /runt help COMMAND, or runt COMMAND --help/, "the general help says how to get a command's");
});

t.test(
  'the CLI: help on stdout with status 0, also with no arguments; an unknown topic fails',
  { skip: existsSync(RUNT) ? false : 'build/runt is missing: npm run build' },
  async (t) => {
    const run = (args: string[]) => spawnSync(RUNT, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const none = run([]);
    t.same([none.status, none.stderr], [0, ''], 'runt alone: status 0, nothing on stderr');
    t.equal(none.stdout, helpText(), 'the general help on stdout');
    const state = run(['help', 'state']);
    t.same([state.status, state.stdout], [0, helpText(COMMANDS.find((c) => c.name === 'state'))], "help state: state's help");
    t.equal(run(['state', '--help']).stdout, state.stdout, 'the same as state --help');
    const nosuch = run(['help', 'nosuch']);
    t.same([nosuch.status, nosuch.stdout, nosuch.stderr], [1, '', "runt: No help topic for 'nosuch'\n"]);
  },
);

t.test('log lines are logrus-shaped; json has level, msg, time (RFC 3339)', async (t) => {
  const when = new Date('2026-01-02T03:04:05.678Z');
  t.equal(
    formatLine('error', 'container "a" does not exist', true, when),
    '{"level":"error","msg":"container \\"a\\" does not exist","time":"2026-01-02T03:04:05.678Z"}\n',
  );
  t.equal(formatLine('warning', 'w', false, when), 'time="2026-01-02T03:04:05.678Z" level=warning msg="w"\n');
});

t.test('isDigits: as /^\\d+$/', async (t) => {
  const samples = ['', '0', '9', '15', '007', '-1', '+1', '1.5', ' 1', '1 ', 'KILL', '1e3', '٣', '\uff11', '12a', 'a12'];
  for (const s of samples) t.equal(isDigits(s), /^\d+$/.test(s), JSON.stringify(s));
});
