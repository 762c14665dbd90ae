// process.terminal with --console-socket: the pty is made in the container, its master sent to the socket.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { canRun, REPO, setup } from './harness';

const skip = canRun();
if (skip) t.plan(0, skip);

t.test('the master reaches the console socket; the process has the pty as its controlling terminal', async (t) => {
  const env = setup(t);
  const recvtty = join(env.tmp, 'recvtty');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', recvtty, join(REPO, 'test/fixtures/recvtty.c')], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr);
  const sock = join(env.tmp, 'console.sock');
  const receiver = spawn(recvtty, [sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let info = '';
  receiver.stdout.on('data', (b: Buffer) => (output += b.toString()));
  await new Promise<void>((resolve) => receiver.stderr.on('data', (b: Buffer) => {
    info += b.toString();
    if (info.includes('listening')) resolve();
  }));
  const done = new Promise<void>((resolve) => receiver.on('exit', () => resolve()));
  const id = env.id('tty');
  const bundle = env.bundle(['sh', '-c', 'tty; stty size; ls -l /dev/console | cut -c1; [ -t 0 ] && echo stdin-is-tty'], (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 40, width: 100 };
  });
  const r = env.runt(['create', '--console-socket', sock, '-b', bundle, id]);
  t.equal(r.status, 0, r.stderr);
  t.equal(env.runt(['start', id]).status, 0);
  await done;
  t.match(info, /received \/dev\/pts\/0/);
  t.equal(output.replace(/\r/g, ''), '/dev/pts/0\n40 100\nc\nstdin-is-tty\n');
});

t.test('a terminal without --console-socket is refused by name', async (t) => {
  const env = setup(t);
  const id = env.id('notty');
  const r = env.runt(['create', '-b', env.bundle(['true'], (s) => { s.process!.terminal = true; }), id]);
  t.equal(r.status, 1);
  t.match(r.stderr, /process.terminal: a terminal needs --console-socket/);
});
