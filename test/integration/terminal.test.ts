// process.terminal: the pty is made in the container; its master goes to a --console-socket (create, exec -d),
// or, for `run` and `exec -t` in a terminal with no socket, runt relays its own terminal to it.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { canRun, fixture, RUNT, runningContainer, setup, startListener, type Env } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

/**
 * recvtty on a socket in the test's temp dir, listening: `done` resolves when the pty closes, with what
 * recvtty said (the pty's name) and what the terminal showed.
 */
async function consoleReceiver(t: Test, env: Env, actions: string[] = []): Promise<{ sock: string; done: Promise<{ info: string; output: string }> }> {
  const sock = join(env.tmp, 'console.sock');
  const receiver = await startListener(t, env, 'recvtty', [sock, ...actions]);
  return { sock, done: receiver.exited.then(() => ({ info: receiver.info(), output: receiver.out().replace(/\r/g, '') })) };
}

t.test('the master reaches the console socket; the process has the pty as its controlling terminal', async (t) => {
  const env = setup(t);
  const { sock, done } = await consoleReceiver(t, env);
  const id = env.id('tty');
  const bundle = env.bundle(['sh', '-c', 'tty; stty size; ls -l /dev/console | cut -c1; [ -t 0 ] && echo stdin-is-tty'], (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 40, width: 100 };
  });
  const r = env.runt(['create', '--console-socket', sock, '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  t.equal(env.runt(['start', id]).status, 0);
  const { info, output } = await done;
  t.match(info, /received \/dev\/pts\/0/);
  t.equal(output, '/dev/pts/0\n40 100\nc\nstdin-is-tty\n');
});

t.test('over the console socket the listener types into the terminal and resizes it', async (t) => {
  const env = setup(t);
  // typed ahead: the shell reads each line when it is ready, and the resize comes before `stty size` is typed
  const { sock, done } = await consoleReceiver(t, env, ['--type', 'tty', '--resize', '50x120', '--type', 'stty size', '--type', 'exit 5']);
  const id = env.id('typed');
  const bundle = env.bundle(['sh'], (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 40, width: 100 };
  });
  t.equal(env.runt(['create', '--console-socket', sock, '-b', bundle, id]).status, 0);
  t.equal(env.runt(['start', id]).status, 0);
  const { output } = await done;
  t.match(output, /tty\n\/dev\/pts\/0\n/, 'typed `tty` answers /dev/pts/0');
  t.match(output, /stty size\n50 120\n/, 'the new window size shows in `stty size`');
});

t.test('exec -t with --console-socket: the master reaches the socket, the process has the pty', async (t) => {
  const env = setup(t);
  const { sock, done } = await consoleReceiver(t, env);
  const { id } = runningContainer(env);
  const r = env.runt([
    'exec',
    '-d',
    '-t',
    '--console-socket',
    sock,
    id,
    'sh',
    '-c',
    'tty; [ -t 0 ] && echo stdin-is-tty; [ -e /dev/console ] || echo no-console',
  ]);
  t.equal(r.status, 0, r.stderr);
  const { info, output } = await done;
  t.match(info, /received \/dev\/pts\/0/);
  t.equal(output, '/dev/pts/0\nstdin-is-tty\nno-console\n', "the container's own devpts; /dev/console left alone");
});

t.test('a terminal with no console socket and no terminal to relay is refused by name', async (t) => {
  const env = setup(t);
  const id = env.id('notty');
  const r = env.runt([
    'create',
    '-b',
    env.bundle(['true'], (s) => {
      s.process!.terminal = true;
    }),
    id,
  ]);
  t.equal(r.status, 1);
  t.match(r.stderr, /process.terminal: a terminal needs --console-socket/);
  const { id: running } = runningContainer(env);
  const detached = env.runt(['exec', '-d', '-t', running, 'true']);
  t.equal(detached.status, 1);
  t.match(detached.stderr, /process.terminal: a terminal needs --console-socket/);
  const noTty = env.runt(['exec', '-t', running, 'true']);
  t.equal(noTty.status, 1, 'stdin is not a terminal');
  t.match(noTty.stderr, /process.terminal: a terminal needs --console-socket/);
});

/** runt on a pty of ptydrive's (see test/fixtures/ptydrive.c): what the terminal showed, ptydrive's report. */
function onTerminal(t: Test, env: Env, steps: string[], args: string[]): { screen: string; report: string } {
  const r = spawnSync(fixture(t, env, 'ptydrive'), ['30', '90', ...steps, '--', RUNT, '--root', env.root, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { screen: r.stdout.replace(/\r/g, ''), report: r.stderr };
}

t.test('run in a terminal without a console socket relays it: raw mode, window size, ^C, status, restored', async (t) => {
  const env = setup(t);
  const bundle = env.bundle(['sh'], (s) => {
    s.process!.terminal = true;
  });
  const { screen, report } = onTerminal(
    t,
    env,
    [
      'wait:# ',
      'mode',
      'resize:50x132',
      'sleep:200',
      'send:tty; stty size; sleep 30\\r',
      'sleep:500',
      'send:\\x03',
      'wait:# ',
      'send:echo after-int; exit 3\\r',
    ],
    ['run', '-b', bundle, env.id('relay')],
  );
  t.match(screen, /\/dev\/pts\/0\n50 132\n/, "the container's pty, resized with the terminal");
  t.match(screen, /\nafter-int\n/, '^C reached the container as a byte: the sleep ended, the shell lives on');
  t.equal(report, 'mode raw\nexit 3\ntermios same\n', 'raw while relaying, the status, the terminal as it was');
});

t.test('exec -t in a terminal relays it too; without -t the terminal passes through untouched', async (t) => {
  const env = setup(t);
  const { id } = runningContainer(env, (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.mounts = s.mounts!.filter((m) => m.type !== 'sysfs' && m.type !== 'cgroup');
  });
  const { screen, report } = onTerminal(t, env, ['wait:# ', 'mode', 'send:tty; ls -n $(tty) | tr -s " " | cut -d" " -f3; exit 4\\r'], ['exec', '-t', id, 'sh']);
  t.match(screen, /\/dev\/pts\/0\n0\n/, "the container's pty, its root's in the container's user namespace");
  t.equal(report, 'mode raw\nexit 4\ntermios same\n');
  const plain = onTerminal(t, env, [], ['exec', id, 'sh', '-c', '[ -t 0 ] && echo stdin-is-the-terminal']);
  t.equal(plain.screen, 'stdin-is-the-terminal\n');
  t.equal(plain.report, 'exit 0\ntermios same\n');
});
