import t from 'tap';
import { helpText, parseArgv, UsageError } from '../../src/cli/parse';
import { COMMANDS } from '../../src/cli/table';
import { formatLine } from '../../src/cli/log';

t.test('global flags come before the command, both --flag value and --flag=value', async (t) => {
  const p = parseArgv(['--root', '/tmp/r', '--log=/tmp/l', '--log-format', 'json', 'state', 'c1']);
  t.same(p.global, { root: '/tmp/r', log: '/tmp/l', 'log-format': 'json' });
  t.equal(p.command?.name, 'state');
  t.same(p.args, ['c1']);
});

t.test('command flags: long, short, inline, ints and booleans', async (t) => {
  const p = parseArgv(['create', '-b', '/b', '--pid-file=/p', '--preserve-fds', '2', '--no-pivot', 'c1']);
  t.same(p.flags, { bundle: '/b', 'pid-file': '/p', 'preserve-fds': 2, 'no-pivot': true });
  t.same(p.args, ['c1']);
  const q = parseArgv(['create', 'c1', '--bundle', '/b']);
  t.same(q.flags, { bundle: '/b' }, 'flags after the id are taken too');
  t.same(parseArgv(['delete', '--force=false', 'x']).flags, { force: false });
});

t.test('kill takes an optional signal; runc single-dash long names work', async (t) => {
  t.same(parseArgv(['kill', '--all', 'c1', 'KILL']).args, ['c1', 'KILL']);
  t.same(parseArgv(['kill', 'c1']).args, ['c1']);
  t.same(parseArgv(['create', '-bundle', '/b', 'c1']).flags, { bundle: '/b' });
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
  t.equal(parseArgv(['create', '--help']).flags.help, true, '--help needs no id');
});

t.test('log lines are logrus-shaped; json has level, msg, time (RFC 3339)', async (t) => {
  const when = new Date('2026-01-02T03:04:05.678Z');
  t.equal(formatLine('error', 'container "a" does not exist', true, when),
    '{"level":"error","msg":"container \\"a\\" does not exist","time":"2026-01-02T03:04:05.678Z"}\n');
  t.equal(formatLine('warning', 'w', false, when), 'time="2026-01-02T03:04:05.678Z" level=warning msg="w"\n');
});
